/* csv.c - CSV import and export of 1-D and 2-D numeric arrays.
 *
 * Import: one row per line, cells split at the delimiter (runs of blanks
 * when the delimiter is a space or a tab, as np.loadtxt does); blank lines
 * and lines starting with '#' are skipped; --header skips the first row.
 * One column gives a 1-D array, more a 2-D one. The dtype is float64
 * unless --dtype says otherwise. A ragged row or a cell that is not a
 * number of the dtype is an error naming its line and column, and so is
 * a NUL byte (text has none; stopping there would lose the rest). A UTF-8
 * byte order mark at the start (as Excel writes) is skipped.
 *
 * Export: values printed so that parsing them gives the same bits back
 * (the shortest of %.15g..%.17g for float64, %.6g..%.9g for float32),
 * integers exactly, booleans as 1 and 0 (what np.loadtxt(dtype=bool) reads
 * back), complex numbers as 1.5-2j (what np.loadtxt(dtype=complex) reads).
 */
#define _GNU_SOURCE
#include "format.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

size_t cli_csv_line_max = (size_t)1 << 30;

/* ---- reading lines ------------------------------------------------------ */

typedef struct line_reader {
    cli_src *src;
    char *buf;
    size_t cap, start, end;
    size_t scan;     /* buf[start, scan) holds no '\n': a line that comes
                        in pieces (from a pipe) is searched once, not once
                        per piece */
    bool eof;
    uint64_t lineno;
} line_reader;

/* The next line without its "\n" or "\r\n", NUL-terminated in place;
 * *line = NULL at the end. A line longer than cli_csv_line_max is an
 * error. */
static int next_line(line_reader *r, char **line, size_t *len)
{
    for (;;) {
        char *nl = memchr(r->buf + r->scan, '\n', r->end - r->scan);
        r->scan = r->end;
        if (nl || (r->eof && r->start < r->end)) {
            char *s = r->buf + r->start;
            size_t n = nl ? (size_t)(nl - s) : r->end - r->start;
            if (n > cli_csv_line_max)
                break;
            r->start += n + (nl != NULL);
            r->scan = r->start;
            if (n > 0 && s[n - 1] == '\r')
                n--;
            s[n] = '\0'; /* over the '\n' or '\r', or the spare byte */
            r->lineno++;
            if (r->lineno == 1 && n >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0) {
                s += 3; /* a UTF-8 byte order mark starts the text */
                n -= 3;
            }
            *line = s;
            *len = n;
            return CLI_OK;
        }
        if (r->eof) {
            *line = NULL;
            return CLI_OK;
        }
        if (r->end - r->start > cli_csv_line_max)
            break;
        if (r->start > 0) {
            memmove(r->buf, r->buf + r->start, r->end - r->start);
            r->end -= r->start;
            r->scan -= r->start;
            r->start = 0;
        }
        if (r->end + 1 >= r->cap) {
            char *b = realloc(r->buf, r->cap * 2);
            if (!b)
                return cli_error("%s: out of memory", r->src->label);
            r->buf = b;
            r->cap *= 2;
        }
        size_t got;
        /* one byte stays free for the NUL of a last line without '\n' */
        if (r->src->read(r->src, r->buf + r->end, r->cap - r->end - 1,
                         &got) != CLI_OK)
            return CLI_FAIL;
        r->end += got;
        r->eof = got == 0;
    }
    return cli_error("%s: line %llu is longer than %zu bytes, the longest "
                     "CSV line taken", r->src->label,
                     (unsigned long long)r->lineno + 1, cli_csv_line_max);
}

/* ---- parsing cells ------------------------------------------------------ */

typedef struct csv_import {
    const cli_globals *g;
    mms_store *store;
    cli_src *src;
    const char *name;
    bool replace;      /* --replace: the publish may replace a name */
    mms_dtype dtype;
    size_t isz;
    char delim;
    line_reader lines;
    uint64_t ncols;      /* 0 until the first row */
    uint64_t header_cols; /* cells in the --header row (for an empty
                             table's shape) */
    uint64_t nrows;
    unsigned char *row;  /* the row being parsed */
    size_t row_cap;      /* in elements */
    unsigned char *buf;  /* rows not yet written out (CLI_CHUNK or a row) */
    size_t buf_cap, buf_len;
    mms_array *scratch;  /* rows written out, when they outgrow buf */
    uint64_t scratch_elems, scratch_len; /* capacity and use, in elements */
} csv_import;

__attribute__((format(printf, 4, 5)))
static int cell_error(csv_import *c, uint64_t col, const char *cell,
                      const char *fmt, ...)
{
    char why[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    if (cell)
        return cli_error("%s: line %llu, column %llu: '%.40s'%s %s",
                         c->src->label, (unsigned long long)c->lines.lineno,
                         (unsigned long long)col, cell,
                         strlen(cell) > 40 ? "..." : "", why);
    return cli_error("%s: line %llu, column %llu: %s", c->src->label,
                     (unsigned long long)c->lines.lineno,
                     (unsigned long long)col, why);
}

static bool parse_double(const char *s, double *v)
{
    char *end;
    errno = 0;
    *v = strtod(s, &end);
    return end != s && *end == '\0';
}

/* "1.5", "2j", "1.5-2j", "(1.5-2j)", "nan+infj". */
static bool parse_complex(const char *s, double *re, double *im)
{
    size_t n = strlen(s);
    char tmp[128];
    if (n >= 2 && s[0] == '(' && s[n - 1] == ')') {
        if (n - 2 >= sizeof tmp)
            return false;
        memcpy(tmp, s + 1, n - 2);
        tmp[n - 2] = '\0';
        s = tmp;
    }
    char *end;
    double a = strtod(s, &end);
    if (end == s)
        return false;
    if (*end == '\0') {
        *re = a;
        *im = 0;
        return true;
    }
    if (*end == 'j' && end[1] == '\0') {
        *re = 0;
        *im = a;
        return true;
    }
    if (*end != '+' && *end != '-')
        return false;
    const char *p = end;
    double b = strtod(p, &end);
    if (end == p || *end != 'j' || end[1] != '\0')
        return false;
    *re = a;
    *im = b;
    return true;
}

__attribute__((format(printf, 3, 4)))
static int why_fail(char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
    return CLI_FAIL;
}

static int parse_int(mms_dtype dtype, const char *s, void *out, char *why,
                     size_t whylen)
{
    static const struct {
        mms_dtype dtype;
        long long lo, hi;
        unsigned long long uhi;
    } limits[] = {
        {MMS_INT8, INT8_MIN, INT8_MAX, 0},
        {MMS_INT16, INT16_MIN, INT16_MAX, 0},
        {MMS_INT32, INT32_MIN, INT32_MAX, 0},
        {MMS_INT64, INT64_MIN, INT64_MAX, 0},
        {MMS_UINT8, 0, 0, UINT8_MAX},
        {MMS_UINT16, 0, 0, UINT16_MAX},
        {MMS_UINT32, 0, 0, UINT32_MAX},
        {MMS_UINT64, 0, 0, UINT64_MAX},
    };
    size_t i = 0;
    while (limits[i].dtype != dtype)
        i++;
    bool is_unsigned = limits[i].uhi != 0;
    char *end;
    errno = 0;
    unsigned long long u = 0;
    long long v = 0;
    if (is_unsigned && s[0] != '-')
        u = strtoull(s, &end, 10);
    else if (!is_unsigned)
        v = strtoll(s, &end, 10);
    else
        end = (char *)s;
    if (end == s || *end != '\0')
        return why_fail(why, whylen, "is not an integer");
    if (errno == ERANGE || (is_unsigned && u > limits[i].uhi) ||
        (!is_unsigned && (v < limits[i].lo || v > limits[i].hi)))
        return why_fail(why, whylen, "is out of range for %s",
                        mms_dtype_name(dtype));
    switch (mms_dtype_size(dtype)) {
    case 1: { uint8_t x = is_unsigned ? (uint8_t)u : (uint8_t)v;
              memcpy(out, &x, 1); break; }
    case 2: { uint16_t x = is_unsigned ? (uint16_t)u : (uint16_t)v;
              memcpy(out, &x, 2); break; }
    case 4: { uint32_t x = is_unsigned ? (uint32_t)u : (uint32_t)v;
              memcpy(out, &x, 4); break; }
    default: { uint64_t x = is_unsigned ? (uint64_t)u : (uint64_t)v;
               memcpy(out, &x, 8); break; }
    }
    return CLI_OK;
}

int cli_csv_parse_cell(mms_dtype dtype, const char *s, void *out, char *why,
                       size_t whylen)
{
    double d, im;
    if (*s == '\0')
        return why_fail(why, whylen, "empty cell");
    switch (dtype) {
    case MMS_BOOL: {
        uint8_t b;
        if (strcasecmp(s, "true") == 0)
            b = 1;
        else if (strcasecmp(s, "false") == 0)
            b = 0;
        else if (parse_double(s, &d))
            b = d != 0;
        else
            return why_fail(why, whylen, "is not a boolean (0, 1, True "
                            "or False)");
        memcpy(out, &b, 1);
        return CLI_OK;
    }
    case MMS_FLOAT16: case MMS_FLOAT32: case MMS_FLOAT64:
        if (!parse_double(s, &d))
            return why_fail(why, whylen, "is not a number");
        if (dtype == MMS_FLOAT64) {
            memcpy(out, &d, 8);
        } else if (dtype == MMS_FLOAT32) {
            float f = strtof(s, NULL); /* rounded once, from the text */
            memcpy(out, &f, 4);
        } else {
            uint16_t h = cli_double_to_half(d);
            memcpy(out, &h, 2);
        }
        return CLI_OK;
    case MMS_COMPLEX64: case MMS_COMPLEX128:
        if (!parse_complex(s, &d, &im))
            return why_fail(why, whylen, "is not a complex number");
        if (dtype == MMS_COMPLEX128) {
            double z[2] = {d, im};
            memcpy(out, z, 16);
        } else {
            float z[2] = {(float)d, (float)im};
            memcpy(out, z, 8);
        }
        return CLI_OK;
    default:
        return parse_int(dtype, s, out, why, whylen);
    }
}

/* ---- splitting rows ----------------------------------------------------- */

static bool is_blank(char ch) { return ch == ' ' || ch == '\t'; }

/* The next cell of line at *p, trimmed and NUL-terminated in place (and
 * unquoted if it is in double quotes); NULL after the last one. */
static char *next_cell(char **p, char delim, bool *more)
{
    char *s = *p;
    if (!*more)
        return NULL;
    bool ws = is_blank(delim);
    while (is_blank(*s))
        s++;
    char *e = ws ? s + strcspn(s, " \t") : strchr(s, delim);
    if (!e)
        e = s + strlen(s);
    char *next = e;
    if (ws) {
        while (is_blank(*next))
            next++;
        *more = *next != '\0';
    } else {
        *more = *e == delim;
        next = *e ? e + 1 : e;
    }
    while (e > s && is_blank(e[-1]))
        e--;
    if (e - s >= 2 && *s == '"' && e[-1] == '"') {
        s++;
        e--;
    }
    *e = '\0';
    *p = next;
    return s;
}

static bool skip_line(const char *line)
{
    while (is_blank(*line))
        line++;
    return *line == '\0' || *line == '#';
}

static uint64_t count_cells(char *line, char delim)
{
    bool more = true;
    uint64_t n = 0;
    while (next_cell(&line, delim, &more))
        n++;
    return n;
}

/* Parses one row into c->row; sets c->ncols from the first. */
static int parse_row(csv_import *c, char *line)
{
    bool more = true;
    uint64_t col = 0;
    char *cell;
    while ((cell = next_cell(&line, c->delim, &more))) {
        col++;
        if (c->ncols && col > c->ncols)
            return cell_error(c, col, NULL, "extra cell: earlier rows have "
                              "%llu columns", (unsigned long long)c->ncols);
        if (col > c->row_cap) {
            size_t cap = c->row_cap ? c->row_cap * 2 : 64;
            unsigned char *r = realloc(c->row, cap * c->isz);
            if (!r)
                return cli_error("%s: out of memory", c->src->label);
            c->row = r;
            c->row_cap = cap;
        }
        char why[160];
        if (cli_csv_parse_cell(c->dtype, cell, c->row + (col - 1) * c->isz,
                               why, sizeof why) != CLI_OK)
            return cell_error(c, col, *cell ? cell : NULL, "%s", why);
    }
    if (c->ncols && col < c->ncols)
        return cell_error(c, col + 1, NULL, "missing cell: the row has %llu "
                          "columns, earlier rows %llu",
                          (unsigned long long)col,
                          (unsigned long long)c->ncols);
    c->ncols = col;
    return CLI_OK;
}

/* ---- collecting rows ---------------------------------------------------- */

/* Moves the buffered rows to the end of the scratch array, growing it. */
static int spill(csv_import *c)
{
    uint64_t elems = c->buf_len / c->isz;
    if (!c->scratch) {
        c->scratch_elems = c->buf_cap / c->isz;
        if (cli_stage(c->store, c->name, c->dtype, 1, &c->scratch_elems, true,
                      &c->scratch) != CLI_OK)
            return CLI_FAIL;
    }
    if (c->scratch_len + elems > c->scratch_elems) {
        uint64_t want = c->scratch_elems * 2;
        int rc = mms_array_resize(c->scratch, want);
        if (rc != MMS_OK)
            return cli_mms_error(rc, "%s", c->src->label);
        c->scratch_elems = want;
    }
    int rc = mms_array_write(c->scratch, c->scratch_len * c->isz, c->buf,
                             c->buf_len);
    if (rc != MMS_OK)
        return cli_mms_error(rc, "%s", c->src->label);
    c->scratch_len += elems;
    c->buf_len = 0;
    return CLI_OK;
}

static int add_row(csv_import *c)
{
    size_t len = (size_t)c->ncols * c->isz;
    if (!c->buf) {
        c->buf_cap = len > CLI_CHUNK ? len : CLI_CHUNK / len * len;
        if (!(c->buf = malloc(c->buf_cap)))
            return cli_error("%s: out of memory", c->src->label);
    }
    if (c->buf_len + len > c->buf_cap && spill(c) != CLI_OK)
        return CLI_FAIL;
    memcpy(c->buf + c->buf_len, c->row, len);
    c->buf_len += len;
    c->nrows++;
    return CLI_OK;
}

/* Creates the real staged array with the final shape and fills it from
 * the scratch array (if rows were spilled) and the buffer. */
static int finish_import(csv_import *c, mms_array **out)
{
    uint64_t shape[2] = {c->nrows, c->ncols};
    int ndim = c->ncols > 1 ? 2 : 1;
    if (cli_stage(c->store, c->name, c->dtype, ndim, shape, c->replace,
                  out) != CLI_OK)
        return CLI_FAIL;
    uint64_t spilled = c->scratch_len * c->isz;
    const unsigned char *from = c->scratch ? mms_array_data(c->scratch)
                                           : NULL;
    int rc = MMS_OK;
    for (uint64_t done = 0; done < spilled && rc == MMS_OK;) {
        size_t n = spilled - done < CLI_CHUNK ? (size_t)(spilled - done)
                                              : CLI_CHUNK;
        rc = mms_array_write(*out, done, from + done, n);
        done += n;
    }
    if (rc == MMS_OK && c->buf_len)
        rc = mms_array_write(*out, spilled, c->buf, c->buf_len);
    if (rc != MMS_OK) {
        mms_array_close(*out);
        *out = NULL;
        return cli_mms_error(rc, "%s", c->src->label);
    }
    return CLI_OK;
}

/* A NUL byte in a line: CSV is text, and everything after it would be
 * lost. The column is that of the cell it is in. */
static int nul_error(csv_import *c, char *line)
{
    size_t at = strlen(line);
    return cell_error(c, count_cells(line, c->delim), NULL,
                      "a NUL byte (byte %zu of the line): CSV is text",
                      at + 1);
}

static int read_rows(csv_import *c, bool header)
{
    char *line = NULL;
    size_t len;
    while (next_line(&c->lines, &line, &len) == CLI_OK) {
        if (!line)
            return CLI_OK;
        if (memchr(line, '\0', len))
            return nul_error(c, line);
        if (skip_line(line))
            continue;
        if (header) {
            header = false;
            c->header_cols = count_cells(line, c->delim);
            continue;
        }
        if (parse_row(c, line) != CLI_OK || add_row(c) != CLI_OK)
            return CLI_FAIL;
    }
    return CLI_FAIL;
}

static int csv_import_run(const cli_import_job *job, mms_array **out)
{
    const cli_io_opts *opts = job->opts;
    cli_src *src = job->src;
    *out = NULL;
    csv_import c = {.g = job->g, .store = job->store, .src = src,
                    .name = job->name,
                    .replace = opts->replace,
                    .dtype = opts->have_dtype ? opts->dtype : MMS_FLOAT64,
                    .delim = opts->delimiter ? opts->delimiter : ','};
    c.isz = mms_dtype_size(c.dtype);
    c.lines = (line_reader){.src = src, .cap = 65536};
    if (!(c.lines.buf = malloc(c.lines.cap)))
        return cli_error("%s: out of memory", src->label);
    int rc = read_rows(&c, opts->header);
    if (rc == CLI_OK && c.nrows == 0)
        c.ncols = c.header_cols > 1 ? c.header_cols : 1;
    if (rc == CLI_OK)
        rc = finish_import(&c, out);
    mms_array_close(c.scratch); /* unpublished: discarded */
    free(c.lines.buf);
    free(c.row);
    free(c.buf);
    return rc;
}

/* ---- export ------------------------------------------------------------- */

/* The shortest of %.{lo}g .. %.{hi}g that reads back as the same value:
 * hi digits always do (max_digits10 of the type). */
static int fmt_float(char *out, size_t size, double v, mms_dtype dtype)
{
    if (v != v)
        return snprintf(out, size, "nan");
    int lo = dtype == MMS_FLOAT64 ? 15 : dtype == MMS_FLOAT32 ? 6 : 3;
    int hi = dtype == MMS_FLOAT64 ? 17 : dtype == MMS_FLOAT32 ? 9 : 5;
    int n = 0;
    for (int digits = lo; digits <= hi; digits++) {
        n = snprintf(out, size, "%.*g", digits, v);
        bool same;
        if (dtype == MMS_FLOAT64)
            same = strtod(out, NULL) == v;
        else if (dtype == MMS_FLOAT32)
            same = strtof(out, NULL) == (float)v;
        else
            same = cli_double_to_half(strtod(out, NULL)) ==
                   cli_double_to_half(v);
        if (same)
            break;
    }
    return n;
}

static int fmt_complex(char *out, size_t size, double re, double im,
                       mms_dtype part)
{
    char a[40], b[40];
    fmt_float(a, sizeof a, re, part);
    fmt_float(b, sizeof b, im, part);
    return snprintf(out, size, "%s%s%sj", a, b[0] == '-' ? "" : "+", b);
}

int cli_csv_format_value(char *out, size_t size, const void *p,
                         mms_dtype dtype)
{
    cli_value v = cli_read_value(p, dtype);
    switch (cli_kind_of(dtype)) {
    case CLI_K_BOOL:
        return snprintf(out, size, "%d", v.b);
    case CLI_K_INT:
        return snprintf(out, size, "%" PRId64, v.i);
    case CLI_K_UINT:
        return snprintf(out, size, "%" PRIu64, v.u);
    case CLI_K_FLOAT:
        return fmt_float(out, size, v.re, dtype);
    case CLI_K_COMPLEX:
        return fmt_complex(out, size, v.re, v.im, dtype == MMS_COMPLEX64
                                                      ? MMS_FLOAT32
                                                      : MMS_FLOAT64);
    }
    return 0;
}

typedef struct text_out {
    cli_sink *sink;
    char *buf;
    size_t len;
} text_out;

#define TEXT_BUF ((size_t)1 << 20)

static int text_put(text_out *t, const char *s, size_t n)
{
    if (t->len + n > TEXT_BUF) {
        if (t->sink->write(t->sink, t->buf, t->len) != CLI_OK)
            return CLI_FAIL;
        t->len = 0;
    }
    memcpy(t->buf + t->len, s, n);
    t->len += n;
    return CLI_OK;
}

static int write_rows(text_out *t, const unsigned char *data,
                      const mms_info *info, uint64_t cols, char delim,
                      cli_progress *p)
{
    char cell[96];
    for (uint64_t r = 0; r < info->shape[0]; r++) {
        for (uint64_t j = 0; j < cols; j++) {
            int n = cli_csv_format_value(cell, sizeof cell - 1, data,
                                         info->dtype);
            cell[n] = j + 1 < cols ? delim : '\n';
            if (text_put(t, cell, (size_t)n + 1) != CLI_OK)
                return CLI_FAIL;
            data += info->itemsize;
        }
        if (r % 4096 == 0)
            cli_progress_update(p, (r + 1) * cols * info->itemsize);
    }
    return CLI_OK;
}

static int csv_export(const cli_export_job *job)
{
    const char *name = job->name;
    const cli_io_opts *opts = job->opts;
    cli_sink *sink = job->sink;
    mms_array *array = job->array;
    mms_info info;
    int rc = mms_array_info(array, &info);
    if (rc != MMS_OK)
        return cli_mms_error(rc, "export '%s'", name);
    if (info.ndim != 1 && info.ndim != 2)
        return cli_error("export '%s': CSV holds 1-D and 2-D arrays; this "
                         "one is %d-D: use .npy", name, info.ndim);
    char delim = opts->delimiter ? opts->delimiter : ',';
    uint64_t cols = info.ndim == 2 ? info.shape[1] : 1;
    text_out t = {.sink = sink, .buf = malloc(TEXT_BUF)};
    if (!t.buf)
        return cli_error("export '%s': out of memory", name);
    rc = CLI_OK;
    for (uint64_t j = 0; opts->header && j < cols && rc == CLI_OK; j++) {
        char cell[32];
        int n = snprintf(cell, sizeof cell, "%llu%c", (unsigned long long)j,
                         j + 1 < cols ? delim : '\n');
        rc = text_put(&t, cell, (size_t)n);
    }
    cli_progress *p = cli_progress_start(job->g, "export", info.nbytes);
    if (rc == CLI_OK && cols > 0)
        rc = write_rows(&t, mms_array_data(array), &info, cols, delim, p);
    cli_progress_finish(p);
    if (rc == CLI_OK && t.len)
        rc = sink->write(sink, t.buf, t.len);
    free(t.buf);
    return rc;
}

static const char *const csv_extensions[] = {".csv", NULL};

const cli_format cli_format_csv = {
    .name = "csv",
    .extensions = csv_extensions,
    .flags = CLI_FORMAT_TEXT,
    .import = csv_import_run,
    .export = csv_export,
};
