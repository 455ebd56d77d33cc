/* cmd_io.c - the options of import, export, dump and restore; the work
 * is in transfer.c, dump.c and restore.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "commands.h"

/* "npy", "csv", "raw", "png", "jpeg", each optionally with ".zst"; "zst"
 * alone keeps the format automatic. */
static int parse_format(const char *text, cli_io_opts *o)
{
    size_t len = strlen(text);
    if (len >= 4 && strcmp(text + len - 4, ".zst") == 0) {
        o->zstd = 1;
        len -= 4;
    } else if (strcmp(text, "zst") == 0 || strcmp(text, "zstd") == 0) {
        o->zstd = 1;
        return CLI_OK;
    }
    if ((o->format = cli_format_by_name(text, len)))
        return CLI_OK;
    return cli_usage("unknown format '%s' (npy, csv, raw, png or jpeg, "
                     "optionally with .zst: npy.zst)", text);
}

static int parse_delimiter(const char *text, char *out)
{
    if (strcmp(text, "\\t") == 0 || strcmp(text, "tab") == 0)
        *out = '\t';
    else if (strlen(text) == 1 && text[0] != '\n' && text[0] != '"' &&
             text[0] != '.' && text[0] != '-' &&
             (text[0] < '0' || text[0] > '9'))
        *out = text[0];
    else
        return cli_usage("bad delimiter '%s' (one character such as , ; | "
                         "or \\t for tab)", text);
    return CLI_OK;
}

static int parse_level(const char *text, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || !text[0] || *end || v < ZSTD_minCLevel() ||
        v > ZSTD_maxCLevel() || v == 0)
        return cli_usage("bad compression level '%s' (1 to %d, or negative "
                         "for faster)", text, ZSTD_maxCLevel());
    *out = (int)v;
    return CLI_OK;
}

static int parse_quality(const char *text, int *out)
{
    uint64_t v;
    if (cli_parse_u64(text, &v) != 0 || v < 1 || v > 100)
        return cli_usage("bad JPEG quality '%s' (1 to 100)", text);
    *out = (int)v;
    return CLI_OK;
}

/* The io options of import and export, one at a time. */
static int parse_io_option(int c, const char *arg, cli_io_opts *o)
{
    switch (c) {
    case 'f':
        return parse_format(arg, o);
    case 't':
        o->have_dtype = true;
        return cli_parse_dtype(arg, &o->dtype);
    case 's':
        if (cli_parse_shape(arg, o->shape, &o->ndim) != 0)
            return cli_usage("bad shape '%s' (lengths separated by commas, "
                             "e.g. 1000,3)", arg);
        return CLI_OK;
    case 'd':
        return parse_delimiter(arg, &o->delimiter);
    case 'l':
        return parse_level(arg, &o->level);
    case 'Q':
        return parse_quality(arg, &o->quality);
    case 'H':
        o->header = true;
        return CLI_OK;
    case 'r':
        o->replace = true;
        return CLI_OK;
    case 'F':
        o->force = true;
        return CLI_OK;
    }
    return CLI_USAGE;
}

/* Parses the options of import (with_import) or export into *o. */
static int parse_io(cli_globals *g, int argc, char **argv, bool import,
                    cli_io_opts *o)
{
    static const struct option import_opts[] = {
        {"format", required_argument, NULL, 'f'},
        {"dtype", required_argument, NULL, 't'},
        {"shape", required_argument, NULL, 's'},
        {"delimiter", required_argument, NULL, 'd'},
        {"header", no_argument, NULL, 'H'},
        {"replace", no_argument, NULL, 'r'},
        CLI_COMMON_OPTIONS};
    static const struct option export_opts[] = {
        {"format", required_argument, NULL, 'f'},
        {"level", required_argument, NULL, 'l'},
        {"delimiter", required_argument, NULL, 'd'},
        {"header", no_argument, NULL, 'H'},
        {"quality", required_argument, NULL, 'Q'},
        {"force", no_argument, NULL, 'F'},
        CLI_COMMON_OPTIONS};
    *o = (cli_io_opts){.format = NULL, .zstd = -1, .level = 3,
                       .delimiter = ',', .ndim = -1};
    int c, status;
    while ((c = cli_getopt(g, argc, argv, import ? "f:t:s:d:" : "f:l:d:",
                           import ? import_opts : export_opts, &status)) >= 0)
        if ((status = parse_io_option(c, optarg, o)) != CLI_OK)
            return status;
    if (c == CLI_OPT_EXIT)
        return status == CLI_OK ? -1 : status; /* -1: --help was shown */
    return CLI_OK;
}

/* import FILE [NAME] and export NAME [FILE]. */
static int run_transfer(cli_globals *g, int argc, char **argv, bool import)
{
    cli_io_opts o;
    int status = parse_io(g, argc, argv, import, &o);
    if (status != CLI_OK)
        return status < 0 ? CLI_OK : status;
    if ((status = cli_operands(argc, argv, 1, 2)) != CLI_OK)
        return status;

    mms_store *store;
    if (cli_open_store(g, import ? 0 : MMS_RDONLY, &store) != CLI_OK)
        return CLI_FAIL;
    const char *second = optind + 1 < argc ? argv[optind + 1] : NULL;
    status = import ? cli_import(g, store, argv[optind], second, &o)
                    : cli_export(g, store, argv[optind], second, &o);
    return cli_close_store(store, status);
}

int cli_cmd_import(cli_globals *g, int argc, char **argv)
{
    return run_transfer(g, argc, argv, true);
}

int cli_cmd_export(cli_globals *g, int argc, char **argv)
{
    return run_transfer(g, argc, argv, false);
}

/* dump OUT [--level N] and restore IN [--replace]. */
static int run_archive(cli_globals *g, int argc, char **argv, bool dump)
{
    static const struct option dump_opts[] = {
        {"level", required_argument, NULL, 'l'},
        {"force", no_argument, NULL, 'F'}, CLI_COMMON_OPTIONS};
    static const struct option restore_opts[] = {
        {"replace", no_argument, NULL, 'r'}, CLI_COMMON_OPTIONS};
    cli_io_opts o = {.format = &cli_format_npy, .zstd = 1, .level = 3,
                     .delimiter = ',', .ndim = -1};
    int c, status;
    while ((c = cli_getopt(g, argc, argv, dump ? "l:" : "",
                           dump ? dump_opts : restore_opts, &status)) >= 0)
        if ((status = parse_io_option(c, optarg, &o)) != CLI_OK)
            return status;
    if (c == CLI_OPT_EXIT)
        return status;
    if ((status = cli_operands(argc, argv, 1, 1)) != CLI_OK)
        return status;

    mms_store *store;
    if (cli_open_store(g, dump ? MMS_RDONLY : 0, &store) != CLI_OK)
        return CLI_FAIL;
    status = dump ? cli_dump(g, store, argv[optind], &o)
                  : cli_restore(g, store, argv[optind], &o);
    return cli_close_store(store, status);
}

int cli_cmd_dump(cli_globals *g, int argc, char **argv)
{
    return run_archive(g, argc, argv, true);
}

int cli_cmd_restore(cli_globals *g, int argc, char **argv)
{
    return run_archive(g, argc, argv, false);
}
