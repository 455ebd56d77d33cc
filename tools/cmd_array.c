/* cmd_array.c - the commands that make, change or remove one array:
 * create, rm, mv, cp, resize and attr. Each cli_cmd_* parses its options,
 * opens the store, does its work through the public API and returns the
 * exit status. */
#include <stdlib.h>
#include <string.h>

#include "commands.h"

/* Bytes copied per mms_array_write by cp: large enough to stream at disk
 * speed, small enough for a smooth progress bar. */
#define COPY_CHUNK (16u << 20)

/* ---- create ----------------------------------------------------------------- */

int cli_cmd_create(cli_globals *g, int argc, char **argv)
{
    static const struct option opts[] = {
        {"dtype", required_argument, NULL, 't'},
        {"shape", required_argument, NULL, 's'},
        CLI_COMMON_OPTIONS};
    mms_dtype dtype = 0;
    uint64_t shape[MMS_MAX_NDIM];
    int ndim = -1, c, status;
    while ((c = cli_getopt(g, argc, argv, "t:s:", opts, &status)) >= 0) {
        if (c == 't' && cli_parse_dtype(optarg, &dtype) != CLI_OK)
            return CLI_USAGE;
        if (c == 's' && cli_parse_shape(optarg, shape, &ndim) != 0)
            return cli_usage("bad shape '%s' (lengths separated by commas, "
                             "e.g. 1000,3; \"\" for a 0-d array)", optarg);
    }
    if (c == CLI_OPT_EXIT)
        return status;
    if ((status = cli_operands(argc, argv, 1, 1)) != CLI_OK)
        return status;
    if (!dtype)
        return cli_usage("--dtype is required");
    if (ndim < 0)
        return cli_usage("--shape is required");

    mms_store *store;
    if (cli_open_store(g, 0, &store) != CLI_OK)
        return CLI_FAIL;
    mms_array *a;
    int rc = mms_array_create(store, argv[optind], dtype, ndim, shape, 0, &a);
    status = rc == MMS_OK ? cli_close_array(a, CLI_OK) : cli_fail(rc);
    return cli_close_store(store, status);
}

/* ---- rm, mv, resize --------------------------------------------------------- */

int cli_cmd_rm(cli_globals *g, int argc, char **argv)
{
    mms_store *store;
    int status;
    if (!cli_plain_command(g, argc, argv, 1, -1, 0, &store, &status))
        return status;
    for (int i = optind; i < argc; i++) { /* go on past a failure, as rm */
        int rc = mms_remove(store, argv[i]);
        if (rc != MMS_OK)
            status = cli_fail(rc);
    }
    return cli_close_store(store, status);
}

int cli_cmd_mv(cli_globals *g, int argc, char **argv)
{
    mms_store *store;
    int status;
    if (!cli_plain_command(g, argc, argv, 2, 2, 0, &store, &status))
        return status;
    int rc = mms_rename(store, argv[optind], argv[optind + 1]);
    return cli_close_store(store, rc == MMS_OK ? CLI_OK : cli_fail(rc));
}

int cli_cmd_resize(cli_globals *g, int argc, char **argv)
{
    static const struct option opts[] = {CLI_COMMON_OPTIONS};
    uint64_t rows;
    int c, status;
    while ((c = cli_getopt(g, argc, argv, "", opts, &status)) >= 0)
        ;
    if (c == CLI_OPT_EXIT)
        return status;
    if ((status = cli_operands(argc, argv, 2, 2)) != CLI_OK)
        return status;
    if (cli_parse_u64(argv[optind + 1], &rows) != 0)
        return cli_usage("bad row count '%s'", argv[optind + 1]);

    mms_store *store;
    mms_array *a;
    if (cli_open_store(g, 0, &store) != CLI_OK)
        return CLI_FAIL;
    status = cli_open_array(store, argv[optind], MMS_RDWR, &a);
    if (status == CLI_OK) {
        int rc = mms_array_resize(a, rows);
        status = cli_close_array(a, rc == MMS_OK ? CLI_OK : cli_fail(rc));
    }
    return cli_close_store(store, status);
}

/* ---- cp ----------------------------------------------------------------------- */

static int copy_attr(const char *key, const void *value, size_t len, void *ctx)
{
    void **args = ctx; /* {store, name} */
    return mms_attr_set(args[0], args[1], key, value, len);
}

static int remove_attr(const char *key, const void *value, size_t len,
                       void *ctx)
{
    (void)value, (void)len;
    void **args = ctx;
    return mms_attr_remove(args[0], args[1], key);
}

/* Gives to the published copy exactly the source's attributes (publish
 * keeps those of the version it replaced). */
static int copy_attrs(mms_store *store, const char *from, const char *to)
{
    void *args[] = {store, (void *)to};
    int rc = mms_attr_list(store, to, remove_attr, args);
    if (rc == MMS_OK)
        rc = mms_attr_list(store, from, copy_attr, args);
    return rc == MMS_OK ? CLI_OK : cli_fail(rc);
}

/* Writes src's bytes into the staged dst in large chunks. */
static int copy_data(const cli_globals *g, mms_array *src, mms_array *dst,
                     uint64_t nbytes)
{
    const char *data = mms_array_data(src);
    cli_progress *bar = cli_progress_start(g, "cp", nbytes);
    int rc = MMS_OK;
    for (uint64_t off = 0; rc == MMS_OK && off < nbytes; off += COPY_CHUNK) {
        size_t len = nbytes - off < COPY_CHUNK ? nbytes - off : COPY_CHUNK;
        rc = mms_array_write(dst, off, data + off, len);
        cli_progress_update(bar, off + len);
    }
    cli_progress_finish(bar);
    return rc == MMS_OK ? CLI_OK : cli_fail(rc);
}

static int copy_array(const cli_globals *g, mms_store *store, const char *from,
                      const char *to, bool replace)
{
    mms_info in, old;
    mms_array *src, *dst;
    if (!replace && mms_stat(store, to, &old) == MMS_OK)
        return cli_error("cp: '%s' already exists (use --replace)", to);
    if (cli_open_array(store, from, MMS_RDONLY, &src) != CLI_OK)
        return CLI_FAIL;
    mms_array_info(src, &in);
    int rc = mms_array_create(store, to, in.dtype, in.ndim, in.shape,
                              MMS_STAGED | (replace ? 0 : MMS_NOREPLACE),
                              &dst);
    if (rc != MMS_OK) {
        mms_array_close(src);
        return cli_fail(rc);
    }
    int status = copy_data(g, src, dst, in.nbytes);
    if (status == CLI_OK && (rc = mms_array_publish(dst)) != MMS_OK)
        status = cli_fail(rc);
    if (status == CLI_OK && strcmp(from, to) != 0) /* same: kept by publish */
        status = copy_attrs(store, from, to);
    status = cli_close_array(dst, status);
    mms_array_close(src);
    return status;
}

int cli_cmd_cp(cli_globals *g, int argc, char **argv)
{
    static const struct option opts[] = {
        {"replace", no_argument, NULL, 'r'}, CLI_COMMON_OPTIONS};
    bool replace = false;
    int c, status;
    while ((c = cli_getopt(g, argc, argv, "", opts, &status)) >= 0)
        replace = true;
    if (c == CLI_OPT_EXIT)
        return status;
    if ((status = cli_operands(argc, argv, 2, 2)) != CLI_OK)
        return status;

    mms_store *store;
    if (cli_open_store(g, 0, &store) != CLI_OK)
        return CLI_FAIL;
    status = copy_array(g, store, argv[optind], argv[optind + 1], replace);
    return cli_close_store(store, status);
}

/* ---- attr ----------------------------------------------------------------------- */

static int attr_list(const cli_globals *g, mms_store *store, const char *name)
{
    if (g->json) {
        json_t *doc;
        int status = cli_attrs_json(store, name, &doc);
        return status == CLI_OK ? cli_print_json(doc) : status;
    }
    cli_table t = {.ncols = 2};
    int status = cli_attrs_table(store, name, &t);
    for (size_t i = 0; status == CLI_OK && i < t.nrows; i++)
        printf("%s: %s\n", t.cells[2 * i], t.cells[2 * i + 1]);
    cli_table_free(&t);
    return status;
}

/* Prints one value: raw bytes and a newline, or a JSON string. */
static int attr_get(const cli_globals *g, mms_store *store, const char *name,
                    const char *key)
{
    size_t len;
    int rc = mms_attr_get(store, name, key, NULL, 0, &len);
    if (rc != MMS_OK)
        return cli_fail(rc);
    char *buf = malloc(len ? len : 1);
    if (!buf)
        return cli_error("out of memory");
    rc = mms_attr_get(store, name, key, buf, len, &len);
    int status = rc == MMS_OK ? CLI_OK : cli_fail(rc);
    if (status == CLI_OK && g->json) {
        status = cli_print_json(cli_attr_value_json(buf, len));
    } else if (status == CLI_OK) {
        fwrite(buf, 1, len, stdout);
        putchar('\n');
    }
    free(buf);
    return status;
}

int cli_cmd_attr(cli_globals *g, int argc, char **argv)
{
    static const struct option opts[] = {{"rm", no_argument, NULL, 'r'},
                                         CLI_COMMON_OPTIONS};
    bool rm = false;
    int c, status;
    while ((c = cli_getopt(g, argc, argv, "", opts, &status)) >= 0)
        rm = true;
    if (c == CLI_OPT_EXIT)
        return status;
    if ((status = cli_operands(argc, argv, rm ? 2 : 1, rm ? 2 : 3)) != CLI_OK)
        return status;
    int n = argc - optind;
    const char *name = argv[optind], *key = n > 1 ? argv[optind + 1] : NULL;

    mms_store *store;
    if (cli_open_store(g, rm || n == 3 ? 0 : MMS_RDONLY, &store) != CLI_OK)
        return CLI_FAIL;
    int rc = MMS_OK;
    if (rm)
        rc = mms_attr_remove(store, name, key);
    else if (n == 3)
        rc = mms_attr_set(store, name, key, argv[optind + 2],
                          strlen(argv[optind + 2]));
    else if (n == 2)
        status = attr_get(g, store, name, key);
    else
        status = attr_list(g, store, name);
    if (rc != MMS_OK)
        status = cli_fail(rc);
    return cli_close_store(store, status);
}
