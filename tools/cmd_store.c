/* cmd_store.c - the commands about the store as a whole and what it
 * holds: init, ls, info, verify, check and locks. Each cli_cmd_* parses its
 * options, opens the store, does its work through the public API and
 * returns the exit status. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"

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
    return cli_close_store(store, status);
}

/* ---- listing arrays ---------------------------------------------------------- */

/* The arrays whose names start with prefix, in name order. */
static int list_entries(mms_store *store, const char *prefix,
                        cli_entries *es)
{
    int rc = mms_list(store, prefix, cli_collect_entry, es);
    if (rc == MMS_ERR_NOMEM)
        return cli_error("out of memory");
    return rc == MMS_OK ? CLI_OK : cli_fail(rc);
}

static int ls_json(const cli_entries *es)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < es->n; i++)
        json_array_append_new(a, cli_info_json(es->v[i].name, &es->v[i].info));
    return cli_print_json(a);
}

static int ls_table(const cli_entries *es, bool longfmt)
{
    static const bool right[] = {false, false, false, true, false,
                                 false, true,  false};
    cli_table t = {.ncols = longfmt ? 8 : 5, .right = right};
    const char *const header[] = {"NAME",  "DTYPE",    "SHAPE", "SIZE",
                                  "STATE", "CHECKSUM", "GEN",   "MODIFIED"};
    int status = es->n ? cli_table_add(&t, header) : CLI_OK;
    for (size_t i = 0; status == CLI_OK && i < es->n; i++) {
        const mms_info *in = &es->v[i].info;
        char shape[1024], size[32], sum[32], gen[32], mod[64];
        cli_format_shape(in->ndim, in->shape, shape, sizeof shape);
        cli_format_size(in->nbytes, size, sizeof size);
        cli_format_checksum(in->checksum, sum, sizeof sum);
        snprintf(gen, sizeof gen, "%" PRIu64, in->generation);
        cli_format_time(in->modified_ns, mod, sizeof mod);
        const char *const row[] = {es->v[i].name, mms_dtype_name(in->dtype),
                                   shape, size, cli_state_name(in->state),
                                   sum, gen, mod};
        status = cli_table_add(&t, row);
    }
    if (status == CLI_OK)
        cli_table_print(&t);
    cli_table_free(&t);
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
    cli_entries es = {0};
    status = list_entries(store, optind < argc ? argv[optind] : NULL, &es);
    /* A damaged record (reported already) hides no other array. */
    int shown = CLI_OK;
    if (status == CLI_OK || es.n > 0)
        shown = g->json ? ls_json(&es) : ls_table(&es, longfmt);
    if (status == CLI_OK)
        status = shown;
    cli_entries_free(&es);
    return cli_close_store(store, status);
}

/* ---- info ----------------------------------------------------------------- */

static int info_text(mms_store *store, const char *name, const mms_info *in,
                     const char *path)
{
    char shape[1024], size[32], block[32], sum[32], created[64],
        modified[64];
    cli_format_shape(in->ndim, in->shape, shape, sizeof shape);
    cli_format_size(in->nbytes, size, sizeof size);
    cli_format_size(in->block_size, block, sizeof block);
    cli_format_checksum(in->checksum, sum, sizeof sum);
    cli_format_time(in->created_ns, created, sizeof created);
    cli_format_time(in->modified_ns, modified, sizeof modified);

    cli_table attrs = {.ncols = 2};
    int status = cli_attrs_table(store, name, &attrs);
    if (status == CLI_OK) {
        printf("name:        %s\n", name);
        printf("dtype:       %s (%s)\n", mms_dtype_name(in->dtype),
               mms_dtype_descr(in->dtype));
        printf("shape:       %s\n", shape);
        printf("size:        %s (%" PRIu64 " bytes, %" PRIu64
               " per element)\n", size, in->nbytes, in->itemsize);
        printf("state:       %s\n", cli_state_name(in->state));
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
    cli_table_free(&attrs);
    return status;
}

static int info_json_print(mms_store *store, const char *name,
                           const mms_info *in, const char *path)
{
    json_t *doc = cli_info_json(name, in), *attrs;
    if (!doc)
        return cli_error("out of memory");
    int status = cli_attrs_json(store, name, &attrs);
    if (status != CLI_OK) {
        json_decref(doc);
        return status;
    }
    json_object_set_new(doc, "path", path ? json_string(path) : json_null());
    json_object_set_new(doc, "attributes", attrs);
    return cli_print_json(doc);
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
        return cli_close_store(store, cli_fail(rc));
    /* The path comes from an open handle. An array whose file is broken
     * still gets its catalog facts printed, and the failure exit status. */
    int open_status = cli_open_array(store, name, MMS_RDONLY, &a);
    const char *path = a ? mms_array_path(a) : NULL;
    status = g->json ? info_json_print(store, name, &in, path)
                     : info_text(store, name, &in, path);
    mms_array_close(a);
    return cli_close_store(store, status != CLI_OK ? status : open_status);
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
        cli_fail(rc); /* could not be verified */
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
                          cli_entries *es)
{
    if (optind == argc)
        return list_entries(store, NULL, es);
    int status = CLI_OK;
    for (int i = optind; i < argc; i++) {
        mms_info in;
        int rc = mms_stat(store, argv[i], &in);
        if (rc != MMS_OK)
            status = cli_fail(rc);
        else if (cli_collect_entry(argv[i], &in, es) != 0)
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
    cli_entries es = {0};
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
    if (results && cli_print_json(results) != CLI_OK)
        status = CLI_FAIL;
    cli_entries_free(&es);
    return cli_close_store(store, status);
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
        [MMS_PROBLEM_STALE_READERS] = "stale_readers",
        [MMS_PROBLEM_SHARED_FILE] = "shared_file",
        [MMS_PROBLEM_STALE_NEXT_ID] = "stale_next_id"};
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
            cli_print_json(json_pack("{s:s, s:b, s:O}", "store", g->store_path,
                                 "ok", rc == MMS_OK, "problems",
                                 ctx.problems)) != CLI_OK)
            status = CLI_FAIL;
    } else {
        status = cli_fail(rc);
    }
    json_decref(ctx.problems);
    return cli_close_store(store, status);
}

/* ---- locks ---------------------------------------------------------------------- */

static const char *mode_name(int mode)
{
    return mode == MMS_LOCK_EXCLUSIVE ? "exclusive" : "shared";
}

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
    cli_table t = {.ncols = 2};
    const char *const header[] = {"ROWS", "MODE"};
    int status = json_array_size(locks) ? cli_table_add(&t, header) : CLI_OK;
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
        const char *const row[] = {
            rows, json_string_value(json_object_get(l, "mode"))};
        if (status == CLI_OK)
            status = cli_table_add(&t, row);
    }
    if (status == CLI_OK)
        cli_table_print(&t);
    cli_table_free(&t);
    return status;
}

int cli_cmd_locks(cli_globals *g, int argc, char **argv)
{
    mms_store *store;
    mms_array *a;
    int status;
    if (!cli_plain_command(g, argc, argv, 1, 1, MMS_RDONLY, &store,
                       &status))
        return status;
    status = cli_open_array(store, argv[optind], MMS_RDONLY, &a);
    if (status != CLI_OK)
        return cli_close_store(store, status);
    json_t *locks = json_array();
    int rc = mms_lock_list(a, collect_lock, locks);
    mms_array_close(a);
    if (rc == MMS_ERR_NOMEM || !locks)
        status = cli_error("out of memory");
    else if (rc != MMS_OK)
        status = cli_fail(rc);
    else if (g->json)
        status = cli_print_json(json_incref(locks));
    else
        status = locks_table(locks);
    json_decref(locks);
    return cli_close_store(store, status);
}
