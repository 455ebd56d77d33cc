/* output.c - what the listing commands (ls, info, attr, locks, verify,
 * check) print: aligned tables, an array's catalog facts as JSON, times,
 * states and attribute values; and the option parsing of the commands that
 * have no options of their own. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"

const char *cli_state_name(mms_state s)
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

/* ISO 8601 local time with its UTC offset: 2024-05-01T12:30:00+02:00 */
void cli_format_time(int64_t ns, char *buf, size_t size)
{
    time_t t = (time_t)(ns / 1000000000);
    struct tm tm;
    localtime_r(&t, &tm);
    size_t n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
    long off = tm.tm_gmtoff / 60;
    snprintf(buf + n, size - n, "%c%02ld:%02ld", off < 0 ? '-' : '+',
             labs(off) / 60, labs(off) % 60);
}

/* Everything mms_info holds, as a JSON object. */
json_t *cli_info_json(const char *name, const mms_info *in)
{
    char sum[32], created[64], modified[64];
    cli_format_checksum(in->checksum, sum, sizeof sum);
    cli_format_time(in->created_ns, created, sizeof created);
    cli_format_time(in->modified_ns, modified, sizeof modified);
    return json_pack(
        "{s:s, s:s, s:s, s:i, s:o, s:I, s:I, s:s, s:I, s:I, s:I, s:I, s:s,"
        " s:s, s:s}",
        "name", name, "dtype", mms_dtype_name(in->dtype), "descr",
        mms_dtype_descr(in->dtype), "ndim", in->ndim, "shape",
        cli_shape_json(in->ndim, in->shape), "nbytes", (json_int_t)in->nbytes,
        "itemsize", (json_int_t)in->itemsize, "state",
        cli_state_name(in->state),
        "generation", (json_int_t)in->generation, "id", (json_int_t)in->id,
        "capacity_rows", (json_int_t)in->capacity_rows, "block_size",
        (json_int_t)in->block_size, "checksum", sum, "created", created,
        "modified", modified);
}

/* An attribute value as JSON: a string when it is UTF-8, otherwise
 * {"hex": "..."}. */
json_t *cli_attr_value_json(const void *value, size_t len)
{
    json_t *s = json_stringn(value, len);
    if (s)
        return s;
    char *hex = cli_hex(value, len);
    if (!hex)
        return NULL;
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

/* ---- aligned tables ---------------------------------------------------------- */

int cli_table_add(cli_table *t, const char *const *row)
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

void cli_table_print(const cli_table *t)
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

void cli_table_free(cli_table *t)
{
    for (size_t i = 0; i < t->nrows * (size_t)t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
}

/* ---- attributes -------------------------------------------------------------- */

static int collect_attr_json(const char *key, const void *value, size_t len,
                             void *ctx)
{
    json_t *v = cli_attr_value_json(value, len);
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
    const char *const row[] = {key, escaped};
    int status = cli_table_add(ctx, row);
    free(escaped);
    return status == CLI_OK ? 0 : MMS_ERR_NOMEM;
}

/* The attributes of name: into a JSON object or an aligned two-column
 * table (KEY VALUE). */
int cli_attrs_json(mms_store *store, const char *name, json_t **out)
{
    *out = json_object();
    if (!*out)
        return cli_error("out of memory");
    int rc = mms_attr_list(store, name, collect_attr_json, *out);
    return rc == MMS_OK ? CLI_OK : cli_fail(rc);
}

int cli_attrs_table(mms_store *store, const char *name, cli_table *t)
{
    int rc = mms_attr_list(store, name, collect_attr_row, t);
    return rc == MMS_OK ? CLI_OK : cli_fail(rc);
}

/* ---- commands without options -------------------------------------------------- */

/* For commands with no options of their own: parses the common ones,
 * checks for min..max operands (max -1: no limit) and opens the store.
 * Returns true to go on; false with *status the exit status (after --help,
 * a usage error, or a store that would not open). */
bool cli_plain_command(cli_globals *g, int argc, char **argv, int min,
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
