/*
 * mms-bench-coord - runs the coordination figures of the benchmark
 * (tools/bench_coord.c) on their own, until they join tools/mms-bench.
 */
#define _GNU_SOURCE
#include "bench_coord.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

static void usage(FILE *f)
{
    fputs("usage: mms-bench-coord [--dir DIR] [--quick] [--json]\n"
          "\n"
          "Measures range and named locks, atomics, wait/wake, publish and\n"
          "process-count scaling against raw baselines in the same run.\n"
          "\n"
          "  --dir DIR  where to make the temporary store (default $TMPDIR\n"
          "             or /tmp); removed at the end\n"
          "  --quick    fewer repetitions (about 10 s instead of 25 s)\n"
          "  --json     one JSON object per figure\n"
          "  --help     show this help and exit\n", f);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"dir", required_argument, NULL, 'd'},
        {"quick", no_argument, NULL, 'q'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *dir = getenv("TMPDIR");
    if (!dir || !*dir)
        dir = "/tmp";
    int quick = 0, json = 0, ch;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case 'd':
            dir = optarg;
            break;
        case 'q':
            quick = 1;
            break;
        case 'j':
            json = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }
    return mms_bench_coord(dir, quick, json);
}
