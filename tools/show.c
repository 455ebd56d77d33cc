/* show.c - `mmstore show NAME [SLICE]`: print an array's values as
 * NumPy's print() does (printer.c), after applying a NumPy index such as
 * "0:10,::2,-1". */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "printer.h"

/* ---- indexing: NumPy's basic index syntax ------------------------------------ */

/* Parses a signed integer of the whole of [s, e); -1 on error. */
static int parse_i64(const char *s, const char *e, int64_t *out)
{
    char buf[32], *end;
    while (s < e && *s == ' ')
        s++;
    while (e > s && e[-1] == ' ')
        e--;
    if (e == s || (size_t)(e - s) >= sizeof buf)
        return -1;
    memcpy(buf, s, (size_t)(e - s));
    buf[e - s] = '\0';
    errno = 0;
    long long v = strtoll(buf, &end, 10);
    if (errno || *end || !(buf[0] == '-' || (buf[0] >= '0' && buf[0] <= '9')))
        return -1;
    *out = v;
    return 0;
}

/* Python's slice.indices(len) and the resulting length. Each of have_*
 * says whether the part was given. */
static void slice_indices(int64_t len, bool have_start, int64_t start,
                          bool have_stop, int64_t stop, int64_t step,
                          int64_t *first, uint64_t *count)
{
    int64_t lower = step > 0 ? 0 : -1, upper = step > 0 ? len : len - 1;
    if (!have_start)
        start = step > 0 ? lower : upper;
    else if (start < 0)
        start = start + len < lower ? lower : start + len;
    else if (start > upper)
        start = upper;
    if (!have_stop)
        stop = step > 0 ? upper : lower;
    else if (stop < 0)
        stop = stop + len < lower ? lower : stop + len;
    else if (stop > upper)
        stop = upper;
    *first = start;
    /* in unsigned arithmetic: -step overflows for INT64_MIN */
    if (step > 0)
        *count = start < stop ? (uint64_t)(stop - start - 1) /
                                    (uint64_t)step + 1 : 0;
    else
        *count = stop < start ? (uint64_t)(start - stop - 1) /
                                    (0 - (uint64_t)step) + 1 : 0;
}

/* Applies one item ("5", "-1", "1:10:2", "::-1") to input axis ax of the
 * array; adds an output axis for a slice. Returns CLI_OK, CLI_USAGE for bad
 * syntax, CLI_FAIL for an index out of range. */
static int apply_item(const char *s, const char *e, const mms_info *in,
                      const int64_t *in_stride, int ax, cli_view *v)
{
    const char *c1 = memchr(s, ':', (size_t)(e - s));
    int64_t len = (int64_t)in->shape[ax];
    if (!c1) {
        int64_t i;
        if (parse_i64(s, e, &i) != 0)
            return cli_usage("bad index '%.*s'", (int)(e - s), s);
        if (i < -len || i >= len)
            return cli_error("show: index %" PRId64 " is out of bounds for "
                             "axis %d with size %" PRId64, i, ax, len);
        v->base += (i < 0 ? i + len : i) * in_stride[ax];
        return CLI_OK;
    }
    const char *c2 = memchr(c1 + 1, ':', (size_t)(e - c1 - 1));
    const char *stop_end = c2 ? c2 : e;
    int64_t start = 0, stop = 0, step = 1;
    bool blank_start = true, blank_stop = true, blank_step = true;
    for (const char *p = s; p < c1; p++)
        blank_start &= *p == ' ';
    for (const char *p = c1 + 1; p < stop_end; p++)
        blank_stop &= *p == ' ';
    for (const char *p = c2 ? c2 + 1 : e; p < e; p++)
        blank_step &= *p == ' ';
    if ((!blank_start && parse_i64(s, c1, &start) != 0) ||
        (!blank_stop && parse_i64(c1 + 1, stop_end, &stop) != 0) ||
        (c2 && !blank_step && parse_i64(c2 + 1, e, &step) != 0) ||
        (c2 && memchr(c2 + 1, ':', (size_t)(e - c2 - 1))))
        return cli_usage("bad slice '%.*s'", (int)(e - s), s);
    if (step == 0)
        return cli_usage("slice step cannot be zero");
    int64_t first;
    uint64_t count;
    slice_indices(len, !blank_start, start, !blank_stop, stop, step, &first,
                  &count);
    v->base += first * in_stride[ax];
    v->shape[v->ndim] = count;
    /* With two elements or more, |step| < len, so the product fits; with
     * fewer (any step up to 2^63, as NumPy takes) the stride is never
     * used and the product could overflow: the element's own is taken. */
    v->stride[v->ndim++] = count > 1 ? step * in_stride[ax] : in_stride[ax];
    return CLI_OK;
}

static bool is_ellipsis(const char *s, const char *e)
{
    while (s < e && *s == ' ')
        s++;
    while (e > s && e[-1] == ' ')
        e--;
    return e - s == 3 && memcmp(s, "...", 3) == 0;
}

/* Builds the view of data selected by index text (NULL = everything). */
static int make_view(const void *data, const mms_info *in, const char *text,
                     cli_view *v)
{
    int64_t in_stride[MMS_MAX_NDIM];
    for (int i = in->ndim - 1; i >= 0; i--)
        in_stride[i] = i == in->ndim - 1
                           ? (int64_t)in->itemsize
                           : in_stride[i + 1] * (int64_t)in->shape[i + 1];
    *v = (cli_view){.base = data, .dtype = in->dtype};

    /* split at commas; a trailing comma is allowed, as in Python */
    const char *items[MMS_MAX_NDIM + 2][2];
    int n = 0, nellipsis = 0;
    for (const char *s = text ? text : ""; *s;) {
        const char *e = strchr(s, ',');
        if (!e)
            e = s + strlen(s);
        if (n == MMS_MAX_NDIM + 1)
            return cli_usage("too many indices in '%s'", text);
        items[n][0] = s;
        items[n++][1] = e;
        nellipsis += is_ellipsis(s, e);
        s = *e ? e + 1 : e;
        if (!*s && *e) /* "0," */
            break;
    }
    if (nellipsis > 1)
        return cli_usage("an index can only have a single ellipsis ('...')");
    if (n - nellipsis > in->ndim)
        return cli_error("show: too many indices for array: array is "
                         "%d-dimensional, but %d were indexed",
                         in->ndim, n - nellipsis);

    int ax = 0;
    for (int k = 0; k < n; k++) {
        if (is_ellipsis(items[k][0], items[k][1])) {
            for (int fill = in->ndim - (n - 1); fill > 0; fill--, ax++) {
                v->shape[v->ndim] = in->shape[ax];
                v->stride[v->ndim++] = in_stride[ax];
            }
            continue;
        }
        int status = apply_item(items[k][0], items[k][1], in, in_stride, ax++,
                                v);
        if (status != CLI_OK)
            return status;
    }
    for (; ax < in->ndim; ax++) {
        v->shape[v->ndim] = in->shape[ax];
        v->stride[v->ndim++] = in_stride[ax];
    }
    return CLI_OK;
}

/* ---- the command ------------------------------------------------------------------- */

/* Whether getopt would take operand s, an index such as "-1" or "-3:",
 * for an option. */
static bool looks_negative(const char *s)
{
    return s[0] == '-' && s[1] && strchr("0123456789:.", s[1]);
}

/* A copy of argv with such operands moved after a "--" (unless there is
 * one already); *nargs is its length. The result is malloc'd. */
static char **protect_negative_operands(int argc, char **argv, int *nargs)
{
    static char dashdash_arg[] = "--"; /* argv's strings are not const */
    char **out = malloc(((size_t)argc + 2) * sizeof *out);
    if (!out)
        return NULL;
    bool dashdash = false;
    int n = 0, moved = 0;
    for (int i = 1; i < argc; i++)
        dashdash |= strcmp(argv[i], "--") == 0;
    for (int i = 0; i < argc; i++)
        if (dashdash || i == 0 || !looks_negative(argv[i]))
            out[n++] = argv[i];
        else
            moved++;
    if (moved) {
        out[n++] = dashdash_arg;
        for (int i = 1; i < argc; i++)
            if (looks_negative(argv[i]))
                out[n++] = argv[i];
    }
    out[n] = NULL;
    *nargs = n;
    return out;
}

static int show_array(const cli_globals *g, mms_array *a, const char *index)
{
    mms_info in;
    cli_view v;
    int status = mms_array_info(a, &in);
    if (status != MMS_OK)
        return cli_mms_error(status, "show");
    if (cli_check_data_file(a, &in, "show") != CLI_OK)
        return CLI_FAIL;
    if ((status = make_view(mms_array_data(a), &in, index, &v)) != CLI_OK)
        return status;
    if (g->json) {
        json_t *doc = cli_view_json(&v);
        if (!doc)
            return cli_error("out of memory");
        int rc = json_dumpf(doc, stdout, JSON_INDENT(0) | JSON_COMPACT);
        json_decref(doc);
        putchar('\n');
        return rc == 0 ? CLI_OK : cli_error("write error: %s", strerror(errno));
    }
    char *text;
    status = cli_format_view(&v, &text);
    if (status == CLI_OK)
        printf("%s\n", text);
    free(text);
    return status;
}

int cli_cmd_show(cli_globals *g, int argc, char **argv)
{
    static const struct option opts[] = {CLI_COMMON_OPTIONS};
    char **args = protect_negative_operands(argc, argv, &argc);
    if (!args)
        return cli_error("out of memory");
    int c, status;
    while ((c = cli_getopt(g, argc, args, "", opts, &status)) >= 0)
        ;
    if (c != CLI_OPT_EXIT)
        status = cli_operands(argc, args, 1, 2);
    if (c == CLI_OPT_EXIT || status != CLI_OK) {
        free(args);
        return status;
    }
    const char *name = args[optind];
    const char *index = optind + 1 < argc ? args[optind + 1] : NULL;

    mms_store *store;
    mms_array *a;
    if (cli_open_store(g, MMS_RDONLY, &store) != CLI_OK) {
        free(args);
        return CLI_FAIL;
    }
    int rc = mms_array_open(store, name, MMS_RDONLY, &a);
    status = rc == MMS_OK ? show_array(g, a, index)
                          : cli_mms_error(rc, "show");
    mms_array_close(a);
    mms_store_close(store);
    free(args);
    return status;
}

