/* commands.c - the mmstore commands other than show (show.c) and the
 * import/export/dump/restore machinery (io.c, dump.c), whose options are
 * parsed here. Each cli_cmd_* parses its options, opens the store, does
 * its work through the public API and returns the exit status. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <zstd.h>

#include "cli.h"

/* Bytes copied per mms_array_write by cp: large enough to stream at disk
 * speed, small enough for a smooth progress bar. */
#define COPY_CHUNK (16u << 20)

/* ---- shared helpers ------------------------------------------------------ */

/* "mmstore: COMMAND: <the library's message>" */
static int fail(int rc)
{
    return cli_mms_error(rc, "%s", cli_current->name);
}

static int close_store(mms_store *store, int status)
{
    int rc = mms_store_close(store);
    if (rc != MMS_OK && status == CLI_OK)
        return fail(rc);
    return status;
}

static int open_array(mms_store *store, const char *name, unsigned flags,
                      mms_array **out)
{
    int rc = mms_array_open(store, name, flags, out);
    return rc == MMS_OK ? CLI_OK : fail(rc);
}

/* Closes a (writable) array; its final sync can fail. */
static int close_array(mms_array *a, int status)
{
    int rc = mms_array_close(a);
    if (rc != MMS_OK && status == CLI_OK)
        return fail(rc);
    return status;
}

/* Prints one JSON document on stdout and frees it. */
static int print_json(json_t *doc)
{
    if (!doc)
        return cli_error("out of memory");
    int rc = json_dumpf(doc, stdout, JSON_INDENT(2));
    json_decref(doc);
    putchar('\n');
    return rc == 0 ? CLI_OK : cli_error("write error: %s", strerror(errno));
}

static const char *state_name(mms_state s)
{
    switch (s) {
    case MMS_STATE_CLEAN:
        return "clean";
    case MMS_STATE_WRITING:
        return "writing";
    case MMS_STATE_INTERRUPTED:
        return "interrupted";
    case MMS_STATE_STAGED:
        return "staged";
    }
    return "unknown";
}

static const char *mode_name(int mode)
{
    return mode == MMS_LOCK_EXCLUSIVE ? "exclusive" : "shared";
}

/* ISO 8601 local time with its UTC offset: 2024-05-01T12:30:00+02:00 */
static void format_time(int64_t ns, char *buf, size_t size)
{
    time_t t = (time_t)(ns / 1000000000);
    struct tm tm;
    localtime_r(&t, &tm);
    size_t n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
    long off = tm.tm_gmtoff / 60;
    snprintf(buf + n, size - n, "%c%02ld:%02ld", off < 0 ? '-' : '+',
             labs(off) / 60, labs(off) % 60);
}

static void format_checksum(uint64_t sum, char *buf, size_t size)
{
    snprintf(buf, size, "%016" PRIx64, sum);
}

static json_t *shape_json(int ndim, const uint64_t *shape)
{
    json_t *a = json_array();
    for (int i = 0; a && i < ndim; i++)
        json_array_append_new(a, json_integer((json_int_t)shape[i]));
    return a;
}

/* Everything mms_info holds, as a JSON object. */
static json_t *info_json(const char *name, const mms_info *in)
{
    char sum[32], created[64], modified[64];
    format_checksum(in->checksum, sum, sizeof sum);
    format_time(in->created_ns, created, sizeof created);
    format_time(in->modified_ns, modified, sizeof modified);
    return json_pack(
        "{s:s, s:s, s:s, s:i, s:o, s:I, s:I, s:s, s:I, s:I, s:I, s:I, s:s,"
        " s:s, s:s}",
        "name", name, "dtype", mms_dtype_name(in->dtype), "descr",
        mms_dtype_descr(in->dtype), "ndim", in->ndim, "shape",
        shape_json(in->ndim, in->shape), "nbytes", (json_int_t)in->nbytes,
        "itemsize", (json_int_t)in->itemsize, "state", state_name(in->state),
        "generation", (json_int_t)in->generation, "id", (json_int_t)in->id,
        "capacity_rows", (json_int_t)in->capacity_rows, "block_size",
        (json_int_t)in->block_size, "checksum", sum, "created", created,
        "modified", modified);
}

/* An attribute value as JSON: a string when it is UTF-8, otherwise
 * {"hex": "..."}. */
static json_t *attr_value_json(const void *value, size_t len)
{
    json_t *s = json_stringn(value, len);
    if (s)
        return s;
    char *hex = malloc(2 * len + 1);
    if (!hex)
        return NULL;
    for (size_t i = 0; i < len; i++)
        sprintf(hex + 2 * i, "%02x", ((const unsigned char *)value)[i]);
    json_t *o = json_pack("{s:s}", "hex", hex);
    free(hex);
    return o;
}

/* Length of the valid UTF-8 sequence of 2..4 bytes at p (n bytes left), or
 * 0 if there is none. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
    size_t len = p[0] >= 0xf0 && p[0] <= 0xf4   ? 4
                 : p[0] >= 0xe0                 ? 3
                 : p[0] >= 0xc2 && p[0] <= 0xdf ? 2
                                                : 0;
    if (len == 0 || len > n || p[0] > 0xf4)
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    return len;
}

/* A value for one line of text: UTF-8 kept, control characters, invalid
 * bytes and backslashes escaped as in C. The result is malloc'd. */
static char *escape_value(const void *value, size_t len)
{
    const unsigned char *p = value;
    char *out = malloc(4 * len + 1), *o = out;
    if (!out)
        return NULL;
    for (size_t i = 0; i < len;) {
        size_t seq = p[i] >= 0x80 ? utf8_seq(p + i, len - i) : 0;
        if (seq) {
            memcpy(o, p + i, seq);
            o += seq;
            i += seq;
            continue;
        }
        unsigned char c = p[i++];
        if (c == '\\')
            o += sprintf(o, "\\\\");
        else if (c == '\n')
            o += sprintf(o, "\\n");
        else if (c == '\t')
            o += sprintf(o, "\\t");
        else if (c < 0x20 || c >= 0x7f)
            o += sprintf(o, "\\x%02x", c);
        else
            *o++ = (char)c;
    }
    *o = '\0';
    return out;
}

/* Display width of a UTF-8 string (one column per character). */
static size_t text_width(const char *s)
{
    size_t w = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xc0) != 0x80)
            w++;
    return w;
}

/* ---- aligned tables ---------------------------------------------------------
 * Cells are copied; columns are separated by two spaces; columns flagged in
 * `right` are right-aligned; the last column is not padded. */
typedef struct table {
    int ncols;
    const bool *right;
    size_t nrows, cap;
    char **cells;
} table;

static int table_add(table *t, char *const *row)
{
    if (t->nrows == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 16;
        char **c = realloc(t->cells, cap * (size_t)t->ncols * sizeof *c);
        if (!c)
            return cli_error("out of memory");
        t->cells = c;
        t->cap = cap;
    }
    for (int i = 0; i < t->ncols; i++) {
        char *cell = strdup(row[i]);
        if (!cell)
            return cli_error("out of memory");
        t->cells[t->nrows * (size_t)t->ncols + (size_t)i] = cell;
    }
    t->nrows++;
    return CLI_OK;
}

static void table_print(const table *t)
{
    size_t width[16] = {0};
    for (size_t r = 0; r < t->nrows; r++)
        for (int c = 0; c < t->ncols; c++) {
            size_t w = text_width(t->cells[r * (size_t)t->ncols + (size_t)c]);
            if (w > width[c])
                width[c] = w;
        }
    for (size_t r = 0; r < t->nrows; r++) {
        for (int c = 0; c < t->ncols; c++) {
            const char *cell = t->cells[r * (size_t)t->ncols + (size_t)c];
            int pad = (int)(width[c] - text_width(cell));
            bool last = c == t->ncols - 1;
            if (c)
                fputs("  ", stdout);
            if (t->right && t->right[c])
                printf("%*s%s", pad, "", cell);
            else
                printf("%s%*s", cell, last ? 0 : pad, "");
        }
        putchar('\n');
    }
}

static void table_free(table *t)
{
    for (size_t i = 0; i < t->nrows * (size_t)t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
}

/* ---- listing arrays ---------------------------------------------------------- */

typedef struct entry {
    char *name;
    mms_info info;
} entry;

typedef struct entries {
    entry *v;
    size_t n, cap;
} entries;

static int collect_entry(const char *name, const mms_info *info, void *ctx)
{
    entries *es = ctx;
    if (es->n == es->cap) {
        size_t cap = es->cap ? 2 * es->cap : 64;
        entry *v = realloc(es->v, cap * sizeof *v);
        if (!v)
            return MMS_ERR_NOMEM;
        es->v = v;
        es->cap = cap;
    }
    es->v[es->n].name = strdup(name);
    if (!es->v[es->n].name)
        return MMS_ERR_NOMEM;
    es->v[es->n++].info = *info;
    return 0;
}

static void entries_free(entries *es)
{
    for (size_t i = 0; i < es->n; i++)
        free(es->v[i].name);
    free(es->v);
}

/* The arrays whose names start with prefix, in name order. */
static int list_entries(mms_store *store, const char *prefix, entries *es)
{
    int rc = mms_list(store, prefix, collect_entry, es);
    if (rc == MMS_ERR_NOMEM)
        return cli_error("out of memory");
    return rc == MMS_OK ? CLI_OK : fail(rc);
}

static int ls_json(const entries *es)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < es->n; i++)
        json_array_append_new(a, info_json(es->v[i].name, &es->v[i].info));
    return print_json(a);
}

static int ls_table(const entries *es, bool longfmt)
{
    static const bool right[] = {false, false, false, true, false,
                                 false, true,  false};
    table t = {.ncols = longfmt ? 8 : 5, .right = right};
    char *const header[] = {"NAME",     "DTYPE",      "SHAPE",   "SIZE",
                            "STATE",    "CHECKSUM",   "GEN",     "MODIFIED"};
    int status = es->n ? table_add(&t, header) : CLI_OK;
    for (size_t i = 0; status == CLI_OK && i < es->n; i++) {
        const mms_info *in = &es->v[i].info;
        char shape[1024], size[32], sum[32], gen[32], mod[64];
        cli_format_shape(in->ndim, in->shape, shape, sizeof shape);
        cli_format_size(in->nbytes, size, sizeof size);
        format_checksum(in->checksum, sum, sizeof sum);
        snprintf(gen, sizeof gen, "%" PRIu64, in->generation);
        format_time(in->modified_ns, mod, sizeof mod);
        char *const row[] = {es->v[i].name, (char *)mms_dtype_name(in->dtype),
                             shape, size, (char *)state_name(in->state),
                             sum, gen, mod};
        status = table_add(&t, row);
    }
    if (status == CLI_OK)
        table_print(&t);
    table_free(&t);
    return status;
}

int cli_cmd_ls(cli_globals *g, int argc, char **argv)
{
    static const struct option opts[] = {{"long", no_argument, NULL, 'l'},
                                         CLI_COMMON_OPTIONS};
    bool longfmt = false;
    int c, status;
    while ((c = cli_getopt(g, argc, argv, "l", opts, &status)) >= 0)
        longfmt = true; /* -l is the only option of its own */
    if (c == CLI_OPT_EXIT)
        return status;
    if ((status = cli_operands(argc, argv, 0, 1)) != CLI_OK)
        return status;

    mms_store *store;
    if (cli_open_store(g, MMS_RDONLY, &store) != CLI_OK)
        return CLI_FAIL;
    entries es = {0};
    status = list_entries(store, optind < argc ? argv[optind] : NULL, &es);
    if (status == CLI_OK)
        status = g->json ? ls_json(&es) : ls_table(&es, longfmt);
    entries_free(&es);
    return close_store(store, status);
}

/* ---- init and create --------------------------------------------------------- */

/* "64K", "1M", "1048576" */
static int parse_size(const char *text, uint64_t *out)
{
    char *end;
    if (text[0] < '0' || text[0] > '9')
        return -1;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    int shift = 0;
    if (*end == 'K' || *end == 'k')
        shift = 10;
    else if (*end == 'M' || *end == 'm')
        shift = 20;
    else if (*end == 'G' || *end == 'g')
        shift = 30;
    if (shift)
        end++;
    if (*end == 'i' && shift)
        end++;
    if (*end == 'B' && shift)
        end++;
    if (errno || *end || v > (UINT64_MAX >> shift))
        return -1;
    *out = (uint64_t)v << shift;
    return 0;
}

int cli_cmd_init(cli_globals *g, int argc, char **argv)
{
    static const struct option opts[] = {
        {"block-size", required_argument, NULL, 'b'},
        {"shared-group", no_argument, NULL, 'g'},
        CLI_COMMON_OPTIONS};
    uint64_t block = 0;
    unsigned flags = MMS_CREATE;
    int c, status;
    while ((c = cli_getopt(g, argc, argv, "", opts, &status)) >= 0) {
        if (c == 'g') {
            flags |= MMS_SHARED_GROUP;
        } else if (parse_size(optarg, &block) != 0 ||
                   mms_store_set_default_block_size(block) != MMS_OK) {
            return cli_usage("block size '%s' is not a power of two from "
                             "4K to 1G", optarg);
        }
    }
    if (c == CLI_OPT_EXIT)
        return status;
    if ((status = cli_operands(argc, argv, 0, 0)) != CLI_OK)
        return status;

    mms_store *store;
    int rc = mms_store_open(g->store_path, flags, &store);
    if (rc != MMS_OK)
        return cli_mms_error(rc, "init %s", g->store_path);
    if (block && mms_store_block_size(store) != block)
        status = cli_error("init %s: the store exists with block size %" PRIu64,
                           g->store_path, mms_store_block_size(store));
    return close_store(store, status);
}

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
    status = rc == MMS_OK ? close_array(a, CLI_OK) : fail(rc);
    return close_store(store, status);
}

/* ---- info ----------------------------------------------------------------- */

static int collect_attr_json(const char *key, const void *value, size_t len,
                             void *ctx)
{
    json_t *v = attr_value_json(value, len);
    if (!v || json_object_set_new(ctx, key, v) != 0)
        return MMS_ERR_NOMEM;
    return 0;
}

static int collect_attr_row(const char *key, const void *value, size_t len,
                            void *ctx)
{
    char *escaped = escape_value(value, len);
    if (!escaped)
        return MMS_ERR_NOMEM;
    char *const row[] = {(char *)key, escaped};
    int status = table_add(ctx, row);
    free(escaped);
    return status == CLI_OK ? 0 : MMS_ERR_NOMEM;
}

/* The attributes of name: into a JSON object or an aligned two-column
 * table (KEY VALUE). */
static int attrs_json(mms_store *store, const char *name, json_t **out)
{
    *out = json_object();
    if (!*out)
        return cli_error("out of memory");
    int rc = mms_attr_list(store, name, collect_attr_json, *out);
    return rc == MMS_OK ? CLI_OK : fail(rc);
}

static int attrs_table(mms_store *store, const char *name, table *t)
{
    int rc = mms_attr_list(store, name, collect_attr_row, t);
    return rc == MMS_OK ? CLI_OK : fail(rc);
}

static int info_text(mms_store *store, const char *name, const mms_info *in,
                     const char *path)
{
    char shape[1024], size[32], block[32], sum[32], created[64],
        modified[64];
    cli_format_shape(in->ndim, in->shape, shape, sizeof shape);
    cli_format_size(in->nbytes, size, sizeof size);
    cli_format_size(in->block_size, block, sizeof block);
    format_checksum(in->checksum, sum, sizeof sum);
    format_time(in->created_ns, created, sizeof created);
    format_time(in->modified_ns, modified, sizeof modified);

    table attrs = {.ncols = 2};
    int status = attrs_table(store, name, &attrs);
    if (status == CLI_OK) {
        printf("name:        %s\n", name);
        printf("dtype:       %s (%s)\n", mms_dtype_name(in->dtype),
               mms_dtype_descr(in->dtype));
        printf("shape:       %s\n", shape);
        printf("size:        %s (%" PRIu64 " bytes, %" PRIu64
               " per element)\n", size, in->nbytes, in->itemsize);
        printf("state:       %s\n", state_name(in->state));
        printf("generation:  %" PRIu64 "\n", in->generation);
        printf("id:          %" PRIu64 "\n", in->id);
        printf("capacity:    %" PRIu64 " rows\n", in->capacity_rows);
        printf("block size:  %s\n", block);
        printf("checksum:    %s\n", sum);
        printf("created:     %s\n", created);
        printf("modified:    %s\n", modified);
        printf("path:        %s\n", path ? path : "(unavailable)");
        printf("attributes:%s\n", attrs.nrows ? "" : " (none)");
        for (size_t i = 0; i < attrs.nrows; i++)
            printf("  %s: %s\n", attrs.cells[2 * i], attrs.cells[2 * i + 1]);
    }
    table_free(&attrs);
    return status;
}

static int info_json_print(mms_store *store, const char *name,
                           const mms_info *in, const char *path)
{
    json_t *doc = info_json(name, in), *attrs;
    if (!doc)
        return cli_error("out of memory");
    int status = attrs_json(store, name, &attrs);
    if (status != CLI_OK) {
        json_decref(doc);
        return status;
    }
    json_object_set_new(doc, "path", path ? json_string(path) : json_null());
    json_object_set_new(doc, "attributes", attrs);
    return print_json(doc);
}

int cli_cmd_info(cli_globals *g, int argc, char **argv)
{
    static const struct option opts[] = {CLI_COMMON_OPTIONS};
    int c, status;
    while ((c = cli_getopt(g, argc, argv, "", opts, &status)) >= 0)
        ;
    if (c == CLI_OPT_EXIT)
        return status;
    if ((status = cli_operands(argc, argv, 1, 1)) != CLI_OK)
        return status;
    const char *name = argv[optind];

    mms_store *store;
    if (cli_open_store(g, MMS_RDONLY, &store) != CLI_OK)
        return CLI_FAIL;
    mms_info in;
    mms_array *a = NULL;
    int rc = mms_stat(store, name, &in);
    if (rc != MMS_OK)
        return close_store(store, fail(rc));
    /* The path comes from an open handle. An array whose file is broken
     * still gets its catalog facts printed, and the failure exit status. */
    int open_status = open_array(store, name, MMS_RDONLY, &a);
    const char *path = a ? mms_array_path(a) : NULL;
    status = g->json ? info_json_print(store, name, &in, path)
                     : info_text(store, name, &in, path);
    mms_array_close(a);
    return close_store(store, status != CLI_OK ? status : open_status);
}

/* ---- rm, mv, resize --------------------------------------------------------- */

/* For commands with no options of their own: parses the common ones,
 * checks for min..max operands (max -1: no limit) and opens the store.
 * Returns true to go on; false with *status the exit status (after --help,
 * a usage error, or a store that would not open). */
static bool plain_command(cli_globals *g, int argc, char **argv, int min,
                          int max, unsigned store_flags, mms_store **store,
                          int *status)
{
    static const struct option opts[] = {CLI_COMMON_OPTIONS};
    int c;
    while ((c = cli_getopt(g, argc, argv, "", opts, status)) >= 0)
        ;
    if (c == CLI_OPT_EXIT)
        return false;
    if ((*status = cli_operands(argc, argv, min, max)) != CLI_OK)
        return false;
    if (cli_open_store(g, store_flags, store) != CLI_OK) {
        *status = CLI_FAIL;
        return false;
    }
    *status = CLI_OK;
    return true;
}

int cli_cmd_rm(cli_globals *g, int argc, char **argv)
{
    mms_store *store;
    int status;
    if (!plain_command(g, argc, argv, 1, -1, 0, &store, &status))
        return status;
    for (int i = optind; i < argc; i++) { /* go on past a failure, as rm */
        int rc = mms_remove(store, argv[i]);
        if (rc != MMS_OK)
            status = fail(rc);
    }
    return close_store(store, status);
}

int cli_cmd_mv(cli_globals *g, int argc, char **argv)
{
    mms_store *store;
    int status;
    if (!plain_command(g, argc, argv, 2, 2, 0, &store, &status))
        return status;
    int rc = mms_rename(store, argv[optind], argv[optind + 1]);
    return close_store(store, rc == MMS_OK ? CLI_OK : fail(rc));
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
    status = open_array(store, argv[optind], MMS_RDWR, &a);
    if (status == CLI_OK) {
        int rc = mms_array_resize(a, rows);
        status = close_array(a, rc == MMS_OK ? CLI_OK : fail(rc));
    }
    return close_store(store, status);
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
    return rc == MMS_OK ? CLI_OK : fail(rc);
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
    return rc == MMS_OK ? CLI_OK : fail(rc);
}

static int copy_array(const cli_globals *g, mms_store *store, const char *from,
                      const char *to, bool replace)
{
    mms_info in, old;
    mms_array *src, *dst;
    if (!replace && mms_stat(store, to, &old) == MMS_OK)
        return cli_error("cp: '%s' already exists (use --replace)", to);
    if (open_array(store, from, MMS_RDONLY, &src) != CLI_OK)
        return CLI_FAIL;
    mms_array_info(src, &in);
    int rc = mms_array_create(store, to, in.dtype, in.ndim, in.shape,
                              MMS_STAGED | (replace ? 0 : MMS_NOREPLACE),
                              &dst);
    if (rc != MMS_OK) {
        mms_array_close(src);
        return fail(rc);
    }
    int status = copy_data(g, src, dst, in.nbytes);
    if (status == CLI_OK && (rc = mms_array_publish(dst)) != MMS_OK)
        status = fail(rc);
    if (status == CLI_OK && strcmp(from, to) != 0) /* same: kept by publish */
        status = copy_attrs(store, from, to);
    status = close_array(dst, status);
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
    return close_store(store, status);
}

/* ---- attr ----------------------------------------------------------------------- */

static int attr_list(const cli_globals *g, mms_store *store, const char *name)
{
    if (g->json) {
        json_t *doc;
        int status = attrs_json(store, name, &doc);
        return status == CLI_OK ? print_json(doc) : status;
    }
    table t = {.ncols = 2};
    int status = attrs_table(store, name, &t);
    for (size_t i = 0; status == CLI_OK && i < t.nrows; i++)
        printf("%s: %s\n", t.cells[2 * i], t.cells[2 * i + 1]);
    table_free(&t);
    return status;
}

/* Prints one value: raw bytes and a newline, or a JSON string. */
static int attr_get(const cli_globals *g, mms_store *store, const char *name,
                    const char *key)
{
    size_t len;
    int rc = mms_attr_get(store, name, key, NULL, 0, &len);
    if (rc != MMS_OK)
        return fail(rc);
    char *buf = malloc(len ? len : 1);
    if (!buf)
        return cli_error("out of memory");
    rc = mms_attr_get(store, name, key, buf, len, &len);
    int status = rc == MMS_OK ? CLI_OK : fail(rc);
    if (status == CLI_OK && g->json) {
        status = print_json(attr_value_json(buf, len));
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
        status = fail(rc);
    return close_store(store, status);
}

/* ---- verify ------------------------------------------------------------------- */

typedef struct verify_ctx {
    const cli_globals *g;
    cli_progress *bar;
    json_t *mismatches; /* --json: of the array being verified */
} verify_ctx;

static int report_mismatch(const char *name, uint64_t block,
                           uint64_t first_row, uint64_t nrows, void *ctx)
{
    verify_ctx *v = ctx;
    if (v->g->json) {
        json_array_append_new(v->mismatches,
                              json_pack("{s:I, s:I, s:I}", "block",
                                        (json_int_t)block, "first_row",
                                        (json_int_t)first_row, "nrows",
                                        (json_int_t)nrows));
        return 0;
    }
    cli_progress_clear(v->bar);
    printf("%s: rows %" PRIu64 "-%" PRIu64 " (block %" PRIu64
           ") do not match\n",
           name, first_row, first_row + (nrows ? nrows - 1 : 0), block);
    fflush(stdout);
    return 0;
}

/* Verifies one array; adds {"name", "ok", "mismatches"} to results in
 * --json mode. Returns CLI_OK when every block matches. */
static int verify_one(verify_ctx *v, mms_store *store, const char *name,
                      json_t *results)
{
    v->mismatches = json_array();
    int rc = mms_verify(store, name, report_mismatch, v);
    if (rc != MMS_OK && rc != MMS_ERR_CHECKSUM)
        fail(rc); /* could not be verified */
    else if (results)
        json_array_append_new(results,
                              json_pack("{s:s, s:b, s:O}", "name", name, "ok",
                                        rc == MMS_OK, "mismatches",
                                        v->mismatches));
    json_decref(v->mismatches);
    return rc == MMS_OK ? CLI_OK : CLI_FAIL;
}

/* The arrays named on the command line, or every array. */
static int verify_targets(mms_store *store, int argc, char **argv,
                          entries *es)
{
    if (optind == argc)
        return list_entries(store, NULL, es);
    int status = CLI_OK;
    for (int i = optind; i < argc; i++) {
        mms_info in;
        int rc = mms_stat(store, argv[i], &in);
        if (rc != MMS_OK)
            status = fail(rc);
        else if (collect_entry(argv[i], &in, es) != 0)
            return cli_error("out of memory");
    }
    return status;
}

int cli_cmd_verify(cli_globals *g, int argc, char **argv)
{
    static const struct option opts[] = {CLI_COMMON_OPTIONS};
    int c, status;
    while ((c = cli_getopt(g, argc, argv, "", opts, &status)) >= 0)
        ;
    if (c == CLI_OPT_EXIT)
        return status;

    mms_store *store;
    if (cli_open_store(g, 0, &store) != CLI_OK)
        return CLI_FAIL;
    entries es = {0};
    status = verify_targets(store, argc, argv, &es);
    uint64_t total = 0, done = 0;
    for (size_t i = 0; i < es.n; i++)
        total += es.v[i].info.nbytes;

    verify_ctx v = {.g = g, .bar = cli_progress_start(g, "verify", total)};
    json_t *results = g->json ? json_array() : NULL;
    for (size_t i = 0; i < es.n; i++) {
        if (verify_one(&v, store, es.v[i].name, results) != CLI_OK)
            status = CLI_FAIL;
        done += es.v[i].info.nbytes;
        cli_progress_update(v.bar, done);
    }
    cli_progress_finish(v.bar);
    if (results && print_json(results) != CLI_OK)
        status = CLI_FAIL;
    entries_free(&es);
    return close_store(store, status);
}

/* ---- check ----------------------------------------------------------------------- */

static const char *problem_kind(mms_problem_kind k)
{
    static const char *const names[] = {
        [MMS_PROBLEM_INTERRUPTED] = "interrupted",
        [MMS_PROBLEM_CHECKSUM] = "checksum",
        [MMS_PROBLEM_MISSING_FILE] = "missing_file",
        [MMS_PROBLEM_BAD_FILE] = "bad_file",
        [MMS_PROBLEM_BAD_RECORD] = "bad_record",
        [MMS_PROBLEM_ORPHAN_FILE] = "orphan_file",
        [MMS_PROBLEM_DEAD_STAGED] = "dead_staged",
        [MMS_PROBLEM_ORPHAN_ENTRIES] = "orphan_entries",
        [MMS_PROBLEM_STALE_READERS] = "stale_readers"};
    if ((unsigned)k < sizeof names / sizeof names[0] && names[k])
        return names[k];
    return "unknown";
}

typedef struct check_ctx {
    const cli_globals *g;
    json_t *problems;
} check_ctx;

static json_t *problem_json(const mms_problem *p)
{
    json_t *o = json_pack("{s:s, s:s?, s:s?, s:s, s:b}", "kind",
                          problem_kind(p->kind), "name", p->name, "path",
                          p->path, "detail", p->detail ? p->detail : "",
                          "repaired", p->repaired != 0);
    if (o && p->id)
        json_object_set_new(o, "id", json_integer((json_int_t)p->id));
    if (o && p->kind == MMS_PROBLEM_CHECKSUM) {
        json_object_set_new(o, "block", json_integer((json_int_t)p->block));
        json_object_set_new(o, "first_row",
                            json_integer((json_int_t)p->first_row));
        json_object_set_new(o, "nrows", json_integer((json_int_t)p->nrows));
    }
    return o;
}

static int report_problem(const mms_problem *p, void *ctx)
{
    check_ctx *c = ctx;
    if (c->g->json) {
        json_array_append_new(c->problems, problem_json(p));
        return 0;
    }
    const char *what = p->name ? p->name : p->path ? p->path
                                                   : c->g->store_path;
    printf("%s: %s%s\n", what, p->detail ? p->detail : problem_kind(p->kind),
           p->repaired ? " (repaired)" : "");
    return 0;
}

int cli_cmd_check(cli_globals *g, int argc, char **argv)
{
    static const struct option opts[] = {
        {"repair", no_argument, NULL, 'r'}, CLI_COMMON_OPTIONS};
    unsigned flags = 0;
    int c, status;
    while ((c = cli_getopt(g, argc, argv, "", opts, &status)) >= 0)
        flags |= MMS_CHECK_REPAIR;
    if (c == CLI_OPT_EXIT)
        return status;
    if ((status = cli_operands(argc, argv, 0, 0)) != CLI_OK)
        return status;

    mms_store *store;
    if (cli_open_store(g, 0, &store) != CLI_OK)
        return CLI_FAIL;
    check_ctx ctx = {.g = g, .problems = json_array()};
    int rc = mms_check(store, flags, report_problem, &ctx);
    if (rc == MMS_OK || rc == MMS_ERR_CORRUPT) {
        status = rc == MMS_OK ? CLI_OK : CLI_FAIL; /* problems remain */
        if (g->json &&
            print_json(json_pack("{s:s, s:b, s:O}", "store", g->store_path,
                                 "ok", rc == MMS_OK, "problems",
                                 ctx.problems)) != CLI_OK)
            status = CLI_FAIL;
    } else {
        status = fail(rc);
    }
    json_decref(ctx.problems);
    return close_store(store, status);
}

/* ---- locks ----------------------------------------------------------------------- */

static int collect_lock(const mms_lock_info *l, void *ctx)
{
    json_t *locks = ctx;
    return json_array_append_new(
               locks, json_pack("{s:I, s:I, s:s}", "first_row",
                                (json_int_t)l->first_row, "nrows",
                                (json_int_t)l->nrows, "mode",
                                mode_name(l->mode))) == 0
               ? 0
               : MMS_ERR_NOMEM;
}

/* ROWS MODE, with "A-B" for a range and "A-end" for one to the end (and
 * beyond). */
static int locks_table(json_t *locks)
{
    table t = {.ncols = 2};
    char *const header[] = {"ROWS", "MODE"};
    int status = json_array_size(locks) ? table_add(&t, header) : CLI_OK;
    size_t i;
    json_t *l;
    json_array_foreach(locks, i, l) {
        char rows[64];
        uint64_t first = (uint64_t)json_integer_value(json_object_get(l, "first_row"));
        uint64_t n = (uint64_t)json_integer_value(json_object_get(l, "nrows"));
        if (n)
            snprintf(rows, sizeof rows, "%" PRIu64 "-%" PRIu64, first,
                     first + n - 1);
        else
            snprintf(rows, sizeof rows, "%" PRIu64 "-end", first);
        char *const row[] = {rows, (char *)json_string_value(
                                       json_object_get(l, "mode"))};
        if (status == CLI_OK)
            status = table_add(&t, row);
    }
    if (status == CLI_OK)
        table_print(&t);
    table_free(&t);
    return status;
}

int cli_cmd_locks(cli_globals *g, int argc, char **argv)
{
    mms_store *store;
    mms_array *a;
    int status;
    if (!plain_command(g, argc, argv, 1, 1, MMS_RDONLY, &store,
                       &status))
        return status;
    if ((status = open_array(store, argv[optind], MMS_RDONLY, &a)) != CLI_OK)
        return close_store(store, status);
    json_t *locks = json_array();
    int rc = mms_lock_list(a, collect_lock, locks);
    mms_array_close(a);
    if (rc == MMS_ERR_NOMEM || !locks)
        status = cli_error("out of memory");
    else if (rc != MMS_OK)
        status = fail(rc);
    else if (g->json)
        status = print_json(json_incref(locks));
    else
        status = locks_table(locks);
    json_decref(locks);
    return close_store(store, status);
}

/* ---- import, export, dump, restore: options here, work in io.c, dump.c ---- */

/* "npy", "csv", "raw", "png", "jpeg", each optionally with ".zst"; "zst"
 * alone keeps the format automatic. */
static int parse_format(const char *text, cli_io_opts *o)
{
    static const struct {
        const char *name;
        cli_format format;
    } formats[] = {{"npy", CLI_FMT_NPY}, {"csv", CLI_FMT_CSV},
                   {"raw", CLI_FMT_RAW}, {"bin", CLI_FMT_RAW},
                   {"png", CLI_FMT_PNG}, {"jpeg", CLI_FMT_JPEG},
                   {"jpg", CLI_FMT_JPEG}};
    size_t len = strlen(text);
    if (len >= 4 && strcmp(text + len - 4, ".zst") == 0) {
        o->zstd = 1;
        len -= 4;
    } else if (strcmp(text, "zst") == 0 || strcmp(text, "zstd") == 0) {
        o->zstd = 1;
        return CLI_OK;
    }
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
        if (strlen(formats[i].name) == len &&
            strncmp(text, formats[i].name, len) == 0) {
            o->format = formats[i].format;
            return CLI_OK;
        }
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
        CLI_COMMON_OPTIONS};
    *o = (cli_io_opts){.format = CLI_FMT_AUTO, .zstd = -1, .level = 3,
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

int cli_cmd_import(cli_globals *g, int argc, char **argv)
{
    cli_io_opts o;
    int status = parse_io(g, argc, argv, true, &o);
    if (status != CLI_OK)
        return status < 0 ? CLI_OK : status;
    if ((status = cli_operands(argc, argv, 1, 2)) != CLI_OK)
        return status;

    mms_store *store;
    if (cli_open_store(g, 0, &store) != CLI_OK)
        return CLI_FAIL;
    status = cli_import(g, store, argv[optind],
                        optind + 1 < argc ? argv[optind + 1] : NULL, &o);
    return close_store(store, status);
}

int cli_cmd_export(cli_globals *g, int argc, char **argv)
{
    cli_io_opts o;
    int status = parse_io(g, argc, argv, false, &o);
    if (status != CLI_OK)
        return status < 0 ? CLI_OK : status;
    if ((status = cli_operands(argc, argv, 1, 2)) != CLI_OK)
        return status;

    mms_store *store;
    if (cli_open_store(g, MMS_RDONLY, &store) != CLI_OK)
        return CLI_FAIL;
    status = cli_export(g, store, argv[optind],
                        optind + 1 < argc ? argv[optind + 1] : NULL, &o);
    return close_store(store, status);
}

/* dump OUT [--level N] and restore IN [--replace]. */
static int run_archive(cli_globals *g, int argc, char **argv, bool dump)
{
    static const struct option dump_opts[] = {
        {"level", required_argument, NULL, 'l'}, CLI_COMMON_OPTIONS};
    static const struct option restore_opts[] = {
        {"replace", no_argument, NULL, 'r'}, CLI_COMMON_OPTIONS};
    cli_io_opts o = {.format = CLI_FMT_NPY, .zstd = 1, .level = 3,
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
    return close_store(store, status);
}

int cli_cmd_dump(cli_globals *g, int argc, char **argv)
{
    return run_archive(g, argc, argv, true);
}

int cli_cmd_restore(cli_globals *g, int argc, char **argv)
{
    return run_archive(g, argc, argv, false);
}
