/* npy.c - the .npy format for `mmstore import` and `export`: a strict
 * reader of the headers NumPy writes (versions 1.0, 2.0 and 3.0, any byte
 * order, C or Fortran order) and a writer of exactly what np.save writes.
 *
 * A .npy file is the magic "\x93NUMPY", a version (major, minor bytes), a
 * little-endian header length (2 bytes in version 1.0, 4 in 2.0 and 3.0),
 * and that many bytes of a Python dict literal such as
 *   {'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }
 * padded with spaces and a newline; then the data. NumPy reads the dict
 * with ast.literal_eval; we accept what NumPy writes and what a hand-made
 * file may reasonably vary (key order, quotes, spacing, trailing comma, the
 * 'L' suffix Python 2 put on shapes in 1.0 and 2.0 files) and refuse
 * everything else with the reason. */
#define _GNU_SOURCE
#include "format.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define NPY_MAGIC "\x93NUMPY"
#define NPY_MAGIC_LEN 6
/* NumPy refuses headers over 10000 bytes unless told otherwise; ours are
 * under 1 KiB. A larger limit still lets us name an unsupported descr. */
#define NPY_HEADER_MAX ((uint32_t)1 << 20)
/* np.save leaves room for this many digits of the growth axis (NumPy's
 * GROWTH_AXIS_MAX_DIGITS) and aligns the data to ARRAY_ALIGN bytes. */
#define NPY_GROWTH_DIGITS 21
#define NPY_ALIGN 64

/* ---- the header dict ------------------------------------------------- */

typedef struct lexer {
    const char *p, *end;
    int major;
    char *why;
    size_t whylen;
} lexer;

__attribute__((format(printf, 2, 3)))
static int lex_fail(lexer *lx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(lx->why, lx->whylen, fmt, ap);
    va_end(ap);
    return CLI_FAIL;
}

static void skip_space(lexer *lx)
{
    while (lx->p < lx->end && strchr(" \t\r\n", *lx->p) && *lx->p)
        lx->p++;
}

/* Consumes c (after spaces) if it is next. */
static bool accept(lexer *lx, char c)
{
    skip_space(lx);
    if (lx->p < lx->end && *lx->p == c) {
        lx->p++;
        return true;
    }
    return false;
}

/* What is next, for messages: a few characters or "the end". */
static const char *next_text(const lexer *lx, char *buf, size_t size)
{
    if (lx->p >= lx->end)
        return "the end of the header";
    size_t n = 0;
    while (n + 3 < size && lx->p + n < lx->end && lx->p[n] != '\n')
        n++;
    while (n > 1 && isspace((unsigned char)lx->p[n - 1]))
        n--;
    snprintf(buf, size, "\"%.*s\"", (int)n, lx->p);
    return buf;
}

static int expect(lexer *lx, char c, const char *where)
{
    if (accept(lx, c))
        return CLI_OK;
    char buf[24];
    return lex_fail(lx, "expected '%c' %s, found %s", c, where,
                    next_text(lx, buf, sizeof buf));
}

/* A Python string literal in single or double quotes, without escapes
 * (no descr or key NumPy writes needs one). */
static int lex_string(lexer *lx, const char **s, size_t *n, const char *what)
{
    skip_space(lx);
    if (lx->p >= lx->end || (*lx->p != '\'' && *lx->p != '"')) {
        char buf[24];
        return lex_fail(lx, "expected a quoted string for %s, found %s",
                        what, next_text(lx, buf, sizeof buf));
    }
    char quote = *lx->p++;
    const char *start = lx->p;
    while (lx->p < lx->end && *lx->p != quote) {
        if (*lx->p == '\\')
            return lex_fail(lx, "escape sequence in %s: not supported", what);
        if (*lx->p == '\n')
            return lex_fail(lx, "unterminated string in %s", what);
        lx->p++;
    }
    if (lx->p >= lx->end)
        return lex_fail(lx, "unterminated string in %s", what);
    *s = start;
    *n = (size_t)(lx->p - start);
    lx->p++;
    return CLI_OK;
}

/* A non-negative Python int literal (decimal; 'L' suffix in 1.0/2.0). */
static int lex_dim(lexer *lx, uint64_t *v, int axis)
{
    skip_space(lx);
    const char *start = lx->p;
    if (lx->p < lx->end && *lx->p == '-')
        return lex_fail(lx, "shape: axis %d is negative", axis);
    uint64_t x = 0;
    while (lx->p < lx->end && *lx->p >= '0' && *lx->p <= '9') {
        unsigned d = (unsigned)(*lx->p - '0');
        if (x > (UINT64_MAX - d) / 10)
            return lex_fail(lx, "shape: axis %d does not fit in 64 bits",
                            axis);
        x = x * 10 + d;
        lx->p++;
    }
    size_t n = (size_t)(lx->p - start);
    if (n == 0) {
        char buf[24];
        return lex_fail(lx, "shape: expected an integer for axis %d, "
                        "found %s", axis, next_text(lx, buf, sizeof buf));
    }
    if (n > 1 && start[0] == '0' && x != 0)
        return lex_fail(lx, "shape: axis %d '%.*s' has a leading zero "
                        "(not a Python integer)", axis, (int)n, start);
    if (lx->major <= 2 && lx->p < lx->end && *lx->p == 'L')
        lx->p++;
    *v = x;
    return CLI_OK;
}

/* A tuple of dims: "()", "(3,)", "(3, 4)", "(3, 4,)". */
static int lex_shape(lexer *lx, cli_npy *h)
{
    skip_space(lx);
    if (lx->p < lx->end && *lx->p == '[')
        return lex_fail(lx, "shape is a list: NumPy writes a tuple");
    if (expect(lx, '(', "to open the shape") != CLI_OK)
        return CLI_FAIL;
    int n = 0;
    bool comma = false;
    while (!accept(lx, ')')) {
        if (n > 0 && !comma) {
            char buf[24];
            return lex_fail(lx, "shape: expected ',' or ')' after axis %d, "
                            "found %s", n - 1, next_text(lx, buf, sizeof buf));
        }
        if (n == MMS_MAX_NDIM)
            return lex_fail(lx, "shape has more than %d axes", MMS_MAX_NDIM);
        if (lex_dim(lx, &h->shape[n], n) != CLI_OK)
            return CLI_FAIL;
        n++;
        comma = accept(lx, ',');
    }
    if (n == 1 && !comma)
        return lex_fail(lx, "shape: a one-axis tuple needs a trailing comma, "
                        "as in (%llu,)", (unsigned long long)h->shape[0]);
    h->ndim = n;
    return CLI_OK;
}

static int lex_bool(lexer *lx, bool *v)
{
    skip_space(lx);
    size_t left = (size_t)(lx->end - lx->p);
    const char *follow = NULL;
    if (left >= 4 && memcmp(lx->p, "True", 4) == 0) {
        *v = true;
        follow = lx->p + 4;
    } else if (left >= 5 && memcmp(lx->p, "False", 5) == 0) {
        *v = false;
        follow = lx->p + 5;
    }
    if (!follow || (follow < lx->end &&
                    (isalnum((unsigned char)*follow) || *follow == '_'))) {
        char buf[24];
        return lex_fail(lx, "fortran_order: expected True or False, found %s",
                        next_text(lx, buf, sizeof buf));
    }
    lx->p = follow;
    return CLI_OK;
}

/* What an unsupported NumPy kind character holds, for the message. */
static const char *kind_meaning(char kind)
{
    switch (kind) {
    case 'O': return "Python objects";
    case 'S': case 'a': return "byte strings";
    case 'U': return "Unicode strings";
    case 'V': return "raw void records";
    case 'M': return "datetimes";
    case 'm': return "timedeltas";
    case 'f': return "long double";
    case 'c': return "complex long double";
    default: return NULL;
    }
}

/* A descr typestr: optional byte order (< > | =), kind, size. */
static int parse_descr(lexer *lx, const char *s, size_t n, cli_npy *h)
{
    static const struct {
        char kind;
        unsigned size;
        mms_dtype dtype;
    } table[] = {
        {'b', 1, MMS_BOOL},     {'i', 1, MMS_INT8},      {'i', 2, MMS_INT16},
        {'i', 4, MMS_INT32},    {'i', 8, MMS_INT64},     {'u', 1, MMS_UINT8},
        {'u', 2, MMS_UINT16},   {'u', 4, MMS_UINT32},    {'u', 8, MMS_UINT64},
        {'f', 2, MMS_FLOAT16},  {'f', 4, MMS_FLOAT32},   {'f', 8, MMS_FLOAT64},
        {'c', 8, MMS_COMPLEX64}, {'c', 16, MMS_COMPLEX128},
    };
    const char *p = s, *end = s + n;
    char order = '=';
    if (p < end && strchr("<>|=", *p))
        order = *p++;
    char kind = p < end ? *p++ : '\0';
    unsigned size = 0;
    const char *digits = p;
    while (p < end && *p >= '0' && *p <= '9' && size < 1000)
        size = size * 10 + (unsigned)(*p++ - '0');
    bool well_formed = p == end && p > digits && size > 0;
    for (size_t i = 0; well_formed && i < sizeof table / sizeof *table; i++) {
        if (table[i].kind == kind && table[i].size == size) {
            h->dtype = table[i].dtype;
            unsigned unit = kind == 'c' ? size / 2 : size;
            h->swap = order == '>' && unit > 1 ? unit : 0;
            return CLI_OK;
        }
    }
    /* 'f' and 'c' of other sizes are long doubles; other kinds are
     * unsupported whatever follows ('<U10', '<M8[ns]', '|O'). */
    const char *meaning = well_formed || !strchr("fc", kind)
                              ? kind_meaning(kind) : NULL;
    if (meaning)
        return lex_fail(lx, "descr '%.*s' (%s) is not supported: mmstore "
                        "holds booleans, integers, floats and complex "
                        "numbers", (int)n, s, meaning);
    return lex_fail(lx, "descr '%.*s' is not a NumPy dtype mmstore "
                    "supports", (int)n, s);
}

enum { KEY_DESCR = 1, KEY_FORTRAN = 2, KEY_SHAPE = 4 };

static int parse_entry(lexer *lx, cli_npy *h, unsigned *seen)
{
    const char *key;
    size_t n;
    if (lex_string(lx, &key, &n, "a key") != CLI_OK)
        return CLI_FAIL;
    unsigned which = 0;
    if (n == 5 && memcmp(key, "descr", 5) == 0)
        which = KEY_DESCR;
    else if (n == 13 && memcmp(key, "fortran_order", 13) == 0)
        which = KEY_FORTRAN;
    else if (n == 5 && memcmp(key, "shape", 5) == 0)
        which = KEY_SHAPE;
    else
        return lex_fail(lx, "unexpected key '%.*s' (a .npy header has only "
                        "'descr', 'fortran_order' and 'shape')", (int)n, key);
    if (*seen & which)
        return lex_fail(lx, "key '%.*s' appears twice", (int)n, key);
    *seen |= which;
    if (expect(lx, ':', "after a key") != CLI_OK)
        return CLI_FAIL;
    if (which == KEY_FORTRAN)
        return lex_bool(lx, &h->fortran);
    if (which == KEY_SHAPE)
        return lex_shape(lx, h);
    skip_space(lx);
    if (lx->p < lx->end && *lx->p == '[')
        return lex_fail(lx, "descr is a list: structured dtypes (records "
                        "with named fields) are not supported");
    const char *d;
    size_t dn;
    if (lex_string(lx, &d, &dn, "descr") != CLI_OK)
        return CLI_FAIL;
    return parse_descr(lx, d, dn, h);
}

int cli_npy_parse_dict(const char *text, size_t len, int major, cli_npy *h,
                       char *why, size_t whylen)
{
    lexer lx = {.p = text, .end = text + len, .major = major, .why = why,
                .whylen = whylen};
    memset(h, 0, sizeof *h);
    h->major = major;
    if (expect(&lx, '{', "at the start of the header dict") != CLI_OK)
        return CLI_FAIL;
    unsigned seen = 0;
    bool comma = true;
    while (!accept(&lx, '}')) {
        if (!comma) {
            char buf[24];
            return lex_fail(&lx, "expected ',' or '}' after an entry, "
                            "found %s", next_text(&lx, buf, sizeof buf));
        }
        if (parse_entry(&lx, h, &seen) != CLI_OK)
            return CLI_FAIL;
        comma = accept(&lx, ',');
    }
    skip_space(&lx);
    if (lx.p != lx.end) {
        char buf[24];
        return lex_fail(&lx, "unexpected %s after the header dict",
                        next_text(&lx, buf, sizeof buf));
    }
    static const char *const names[] = {"descr", "fortran_order", "shape"};
    for (int i = 0; i < 3; i++)
        if (!(seen & (1u << i)))
            return lex_fail(&lx, "the header has no '%s'", names[i]);

    /* The size must fit even when another axis is 0: the store sizes
     * rows from the other axes, and NumPy refuses such shapes too. */
    uint64_t count = 1, itemsize = mms_dtype_size(h->dtype);
    bool empty = false, overflow = false;
    for (int i = 0; i < h->ndim; i++) {
        if (h->shape[i] == 0)
            empty = true;
        else if (count > UINT64_MAX / h->shape[i])
            overflow = true;
        else
            count *= h->shape[i];
    }
    if (overflow || count > UINT64_MAX / itemsize) {
        char shp[CLI_SHAPE_MAX];
        return lex_fail(&lx, "shape %s is too large: its size in bytes "
                        "overflows 64 bits",
                        cli_format_shape(h->ndim, h->shape, shp, sizeof shp));
    }
    h->nbytes = empty ? 0 : count * itemsize;
    return CLI_OK;
}

/* ---- reading ---------------------------------------------------------- */

static uint32_t get_le(const unsigned char *p, int n)
{
    uint32_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* Reads exactly n bytes or fails naming what was being read. */
static int read_part(cli_src *src, void *buf, size_t n, uint64_t offset,
                     const char *what)
{
    size_t got;
    if (cli_src_read_full(src, buf, n, &got) != CLI_OK)
        return CLI_FAIL;
    if (got < n)
        return cli_error("%s: truncated .npy: it ends after %llu bytes, "
                         "inside the %s", src->label,
                         (unsigned long long)(offset + got), what);
    return CLI_OK;
}

int cli_npy_read_header(cli_src *src, cli_npy *h)
{
    unsigned char pre[12];
    if (read_part(src, pre, 8, 0, "magic string and version") != CLI_OK)
        return CLI_FAIL;
    if (!cli_sniff_npy(pre, 8))
        return cli_error("%s: not a .npy file (it does not start with "
                         "\"\\x93NUMPY\")", src->label);
    int major = pre[6], minor = pre[7];
    if ((major < 1 || major > 3) || minor != 0)
        return cli_error("%s: .npy format version %d.%d is not supported "
                         "(1.0, 2.0 and 3.0 are)", src->label, major, minor);
    int lenbytes = major == 1 ? 2 : 4;
    if (read_part(src, pre + 8, (size_t)lenbytes, 8, "header length") !=
        CLI_OK)
        return CLI_FAIL;
    uint32_t hlen = get_le(pre + 8, lenbytes);
    if (hlen > NPY_HEADER_MAX)
        return cli_error("%s: the .npy header claims to be %u bytes long "
                         "(more than %u: not a header NumPy would write)",
                         src->label, hlen, NPY_HEADER_MAX);
    char *text = malloc(hlen ? hlen : 1);
    if (!text)
        return cli_error("%s: out of memory for a %u-byte header",
                         src->label, hlen);
    int rc = read_part(src, text, hlen, 8 + (uint64_t)lenbytes,
                       "header dict");
    char why[256];
    if (rc == CLI_OK &&
        cli_npy_parse_dict(text, hlen, major, h, why, sizeof why) != CLI_OK)
        rc = cli_error("%s: bad .npy header: %s", src->label, why);
    free(text);
    if (rc != CLI_OK)
        return rc;
    h->minor = minor;
    h->header_len = 8 + (uint64_t)lenbytes + hlen;
    return CLI_OK;
}

/* ---- writing ---------------------------------------------------------- */

size_t cli_npy_format_header(char *buf, size_t size, mms_dtype dtype,
                             int ndim, const uint64_t *shape)
{
    const char *descr = mms_dtype_descr(dtype);
    if (!descr || ndim < 0 || ndim > MMS_MAX_NDIM)
        return 0;
    char dict[CLI_SHAPE_MAX + 128], shp[CLI_SHAPE_MAX];
    int n = snprintf(dict, sizeof dict,
                     "{'descr': '%s', 'fortran_order': False, 'shape': %s, }",
                     descr, cli_format_shape(ndim, shape, shp, sizeof shp));
    if (ndim > 0) {
        /* The room np.save leaves to grow the shape in place. */
        int digits = snprintf(NULL, 0, "%llu", (unsigned long long)shape[0]);
        for (int i = digits; i < NPY_GROWTH_DIGITS; i++)
            dict[n++] = ' ';
        dict[n] = '\0';
    }
    /* As NumPy's _wrap_header: the text, a newline, and 1..64 spaces
     * before it so that magic + version + length + text is aligned. */
    size_t hlen = (size_t)n + 1;
    size_t prefix = 10;
    size_t pad = NPY_ALIGN - (prefix + hlen) % NPY_ALIGN;
    if (hlen + pad > 0xffff) {
        prefix = 12;
        pad = NPY_ALIGN - (prefix + hlen) % NPY_ALIGN;
    }
    size_t total = prefix + hlen + pad;
    if (total > size)
        return 0;
    size_t body = hlen + pad;
    memcpy(buf, NPY_MAGIC, NPY_MAGIC_LEN);
    buf[6] = prefix == 10 ? 1 : 2;
    buf[7] = 0;
    for (size_t i = 0; i < prefix - 8; i++)
        buf[8 + i] = (char)(body >> (8 * i) & 0xff);
    memcpy(buf + prefix, dict, (size_t)n);
    memset(buf + prefix + (size_t)n, ' ', pad);
    buf[total - 1] = '\n';
    return total;
}

/* ---- import and export ------------------------------------------------ */

/* C order and Fortran order lay the bytes out identically when at most one
 * axis is longer than 1 (or there is no data). */
static bool needs_transpose(const cli_npy *h)
{
    int long_axes = 0;
    for (int i = 0; i < h->ndim; i++) {
        if (h->shape[i] == 0)
            return false;
        long_axes += h->shape[i] > 1;
    }
    return h->fortran && long_axes > 1;
}

/* Walks the multi-index of axes 1..ndim-1 in C order, keeping the byte
 * offset of that element within a Fortran-order array. */
typedef struct odometer {
    int ndim;
    uint64_t idx[MMS_MAX_NDIM], dim[MMS_MAX_NDIM], stride[MMS_MAX_NDIM];
    uint64_t off;
} odometer;

static void odometer_init(odometer *o, const cli_npy *h, uint64_t itemsize)
{
    memset(o, 0, sizeof *o);
    o->ndim = h->ndim;
    uint64_t stride = itemsize;
    for (int k = 0; k < h->ndim; k++) {
        o->dim[k] = h->shape[k];
        o->stride[k] = stride; /* Fortran order: axis 0 varies fastest */
        stride *= h->shape[k];
    }
}

/* memcpy of one element, with the size known to the compiler. */
static inline void copy_elem(unsigned char *d, const unsigned char *s,
                             size_t isz)
{
    switch (isz) {
    case 1: *d = *s; break;
    case 2: memcpy(d, s, 2); break;
    case 4: memcpy(d, s, 4); break;
    case 8: memcpy(d, s, 8); break;
    default: memcpy(d, s, 16); break;
    }
}

static void odometer_next(odometer *o)
{
    for (int k = o->ndim - 1; k >= 1; k--) {
        o->off += o->stride[k];
        if (++o->idx[k] < o->dim[k])
            return;
        o->off -= o->stride[k] * o->dim[k];
        o->idx[k] = 0;
    }
}

/* Writes the C-order form of the Fortran-order data in src (a mapping of
 * nbytes) into dst. Output goes out in chunks of whole axis-0 slices when
 * they fit: for each position of the other axes, the slice's elements are
 * contiguous in the source (axis 0 varies fastest there), so reads stay
 * sequential and only the writes into the chunk buffer are strided. When
 * one axis-0 slice is larger than a chunk, elements go one by one. */
static int transpose_fortran(const unsigned char *src, mms_array *dst,
                             const cli_npy *h, unsigned char *buf,
                             cli_progress *progress)
{
    size_t isz = mms_dtype_size(h->dtype);
    uint64_t rows = h->shape[0], slice = h->nbytes / rows; /* bytes */
    uint64_t m = slice / isz; /* elements per axis-0 slice */
    odometer o;
    uint64_t done = 0;
    if (slice <= CLI_CHUNK) {
        uint64_t per = CLI_CHUNK / slice;
        for (uint64_t a = 0; a < rows; a += per) {
            uint64_t b = a + per < rows ? a + per : rows;
            odometer_init(&o, h, isz);
            for (uint64_t r = 0; r < m; r++, odometer_next(&o)) {
                const unsigned char *s = src + o.off + a * isz;
                unsigned char *d = buf + r * isz;
                for (uint64_t i = a; i < b; i++, s += isz, d += slice)
                    copy_elem(d, s, isz);
            }
            size_t len = (size_t)((b - a) * slice);
            int rc = mms_array_write(dst, done, buf, len);
            if (rc != MMS_OK)
                return cli_mms_error(rc, "writing the C-order copy");
            done += len;
            cli_progress_update(progress, done);
        }
        return CLI_OK;
    }
    for (uint64_t i = 0; i < rows; i++) {
        odometer_init(&o, h, isz);
        size_t fill = 0;
        for (uint64_t r = 0; r < m; r++, odometer_next(&o)) {
            copy_elem(buf + fill, src + o.off + i * isz, isz);
            fill += isz;
            if (fill == CLI_CHUNK || r + 1 == m) {
                int rc = mms_array_write(dst, done, buf, fill);
                if (rc != MMS_OK)
                    return cli_mms_error(rc, "writing the C-order copy");
                done += fill;
                fill = 0;
                cli_progress_update(progress, done);
            }
        }
    }
    return CLI_OK;
}

/* Fortran-order data is first copied as it comes (byte-swapped if need
 * be) into a second staged version used as scratch space, then rewritten
 * in C order into the real one from the scratch's mapping; the scratch is
 * discarded when closed. This costs the array's size once more on disk
 * for the duration of the import, but memory stays at one chunk whatever
 * the size, and it works for streams (stdin, zstd) that cannot be read
 * twice. */
static int import_fortran(const cli_globals *g, mms_store *store,
                          cli_src *src, const cli_npy *h, const char *name,
                          mms_array *dst)
{
    uint64_t count = h->nbytes / mms_dtype_size(h->dtype);
    mms_array *scratch = NULL;
    unsigned char *buf = NULL;
    cli_progress *p = NULL;
    /* Scratch space, never published. */
    int rc = cli_stage(store, name, h->dtype, 1, &count, true, &scratch);
    if (rc != CLI_OK)
        return rc;
    p = cli_progress_start(g, "reading", h->nbytes);
    rc = cli_fill_array(src, scratch, 0, h->nbytes, h->swap, p,
                        "the .npy header declares");
    cli_progress_finish(p);
    p = NULL;
    if (rc == CLI_OK && !(buf = malloc(CLI_CHUNK)))
        rc = cli_error("%s: out of memory", src->label);
    if (rc == CLI_OK) {
        p = cli_progress_start(g, "to C order", h->nbytes);
        rc = transpose_fortran(mms_array_data(scratch), dst, h, buf, p);
        cli_progress_finish(p);
    }
    free(buf);
    mms_array_close(scratch); /* unpublished: discarded */
    return rc;
}

int cli_npy_import(const cli_globals *g, mms_store *store, cli_src *src,
                   uint64_t src_size, const char *name, bool replace,
                   mms_array **out)
{
    *out = NULL;
    cli_npy h;
    if (cli_npy_read_header(src, &h) != CLI_OK)
        return CLI_FAIL;
    if (src_size && (src_size < h.header_len ||
                     src_size - h.header_len < h.nbytes))
        return cli_error("%s: truncated .npy: the header declares %llu bytes "
                         "of data, the file holds %llu", src->label,
                         (unsigned long long)h.nbytes,
                         (unsigned long long)(src_size - h.header_len));
    mms_array *dst;
    int rc = cli_stage(store, name, h.dtype, h.ndim, h.shape, replace, &dst);
    if (rc != CLI_OK)
        return rc;
    if (needs_transpose(&h)) {
        rc = import_fortran(g, store, src, &h, name, dst);
    } else {
        cli_progress *p = cli_progress_start(g, "import", h.nbytes);
        rc = cli_fill_array(src, dst, 0, h.nbytes, h.swap, p,
                            "the .npy header declares");
        cli_progress_finish(p);
    }
    if (rc != CLI_OK) {
        mms_array_close(dst); /* discards the staged version */
        return rc;
    }
    *out = dst;
    return CLI_OK;
}

static int npy_import(const cli_import_job *job, mms_array **out)
{
    return cli_npy_import(job->g, job->store, job->src, job->src_size,
                          job->name, job->opts->replace, out);
}

static int npy_export(const cli_export_job *job)
{
    mms_info info;
    int rc = mms_array_info(job->array, &info);
    if (rc != MMS_OK)
        return cli_mms_error(rc, "%s", job->label);
    char hdr[4096];
    size_t n = cli_npy_format_header(hdr, sizeof hdr, info.dtype, info.ndim,
                                     info.shape);
    if (n == 0)
        return cli_error("%s: cannot format a .npy header", job->label);
    if (job->sink->write(job->sink, hdr, n) != CLI_OK)
        return CLI_FAIL;
    cli_progress *p = cli_progress_start(job->g, job->label, info.nbytes);
    rc = cli_drain_array(job->array, 0, info.nbytes, job->sink, p);
    cli_progress_finish(p);
    return rc;
}

/* The header and the data: known before anything is written. */
static uint64_t npy_export_size(const mms_info *info)
{
    char hdr[4096];
    return info->nbytes + cli_npy_format_header(hdr, sizeof hdr, info->dtype,
                                                info->ndim, info->shape);
}

static const char *const npy_extensions[] = {".npy", NULL};

const cli_format cli_format_npy = {
    .name = "npy",
    .extensions = npy_extensions,
    .sniff = cli_sniff_npy,
    .import = npy_import,
    .export = npy_export,
    .export_size = npy_export_size,
};
