/*
 * bench_coord.h - the coordination figures of the benchmark (issue 3,
 * "Performance"): range and named locks, atomics from several processes,
 * wait/wake ping-pong, publish of a small version, process-count scaling.
 * Each figure is measured beside its raw system-call or CPU baseline in the
 * same run. Built as tools/mms-bench-coord (tools/bench_coord_main.c) and
 * meant to be linked into tools/mms-bench as well.
 */
#ifndef MMS_BENCH_COORD_H
#define MMS_BENCH_COORD_H

/* Runs figures 6-10 in a fresh directory under dir (removed at the end, on
 * error and on SIGINT/SIGTERM/SIGHUP), printing a table (or, with json,
 * one JSON object per figure) on stdout and progress on stderr. quick:
 * fewer repetitions (about 10 s instead of about 25 s). Forks worker
 * processes; stdout and stderr are flushed before every fork. Returns 0,
 * or 1 after printing why on stderr (some errors exit(1) directly, after
 * removing the directory, as the rest of mms-bench does). */
int mms_bench_coord(const char *dir, int quick, int json);

#endif /* MMS_BENCH_COORD_H */
