/* printer.c - an array's values printed exactly as NumPy's print() does
 * with its default print options (precision 8, threshold 1000, edgeitems
 * 3, linewidth 75), and as nested JSON arrays. The rules below follow
 * numpy/core/arrayprint.py (FloatingFormat, IntegerFormat, BoolFormat,
 * ComplexFloatingFormat, _formatArray) and NumPy's scalar str() for 0-d
 * views. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "printer.h"

#define PRECISION 8
#define THRESHOLD 1000
#define EDGEITEMS 3
#define LINEWIDTH 75

/* ---- growable strings ----------------------------------------------------- */

typedef struct sbuf {
    char *p;
    size_t len, cap;
    bool oom;
} sbuf;

static void sb_putn(sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_puts(sbuf *b, const char *s)
{
    sb_putn(b, s, strlen(s));
}

static void sb_spaces(sbuf *b, int n)
{
    for (int i = 0; i < n; i++)
        sb_putn(b, " ", 1);
}

static uint64_t view_size(const cli_view *v)
{
    uint64_t n = 1;
    for (int i = 0; i < v->ndim; i++)
        n *= v->shape[i];
    return n;
}

/* Bits of the floating type of t's values (or parts): 16, 32 or 64. */
static int float_bits(mms_dtype t)
{
    return t == MMS_FLOAT16 ? 16 : t == MMS_FLOAT32 || t == MMS_COMPLEX64 ? 32
                                                                          : 64;
}


/* ---- indexing: NumPy's basic index syntax ------------------------------------ */

/* |value| = 0.d1d2...dn * 10^(exp+1), i.e. d1 is the 10^exp digit. */
typedef struct decimal {
    bool neg;
    char digits[400];
    int n, exp;
} decimal;

static bool round_trips(const char *text, double v, int bits)
{
    double back = strtod(text, NULL);
    if (bits == 64)
        return back == v;
    if (bits == 32)
        return strtof(text, NULL) == (float)v;
    return cli_double_to_half(back) == cli_double_to_half(v);
}

/* Digits of a printf %e or %f result (no sign), trailing zeros dropped. */
static void parse_digits(const char *text, decimal *d)
{
    int point = -1, lead = 0;
    bool seen = false;
    d->n = 0;
    for (const char *p = text; *p && *p != 'e'; p++) {
        if (*p == '.') {
            point = d->n + lead;
            continue;
        }
        if (!seen && *p == '0') {
            lead++;
            continue;
        }
        seen = true;
        if (d->n < (int)sizeof d->digits - 1)
            d->digits[d->n++] = *p;
    }
    const char *e = strchr(text, 'e');
    if (point < 0)
        point = e ? (int)(e - text) : (int)strlen(text);
    if (!seen) { /* zero */
        d->digits[0] = '0';
        d->n = 1;
        d->exp = 0;
    } else {
        d->exp = point - 1 - lead + (e ? atoi(e + 1) : 0);
    }
    while (d->n > 1 && d->digits[d->n - 1] == '0')
        d->n--;
    d->digits[d->n] = '\0';
}

/* The shortest digits that read back as v in its own type (Dragon4's
 * "unique" mode). */
static void shortest(double v, int bits, decimal *d)
{
    char buf[64];
    for (int p = 0; p < 17; p++) {
        snprintf(buf, sizeof buf, "%.*e", p, fabs(v));
        if (round_trips(buf, fabs(v), bits))
            break;
    }
    parse_digits(buf, d);
    d->neg = signbit(v);
}

/* Shortest digits, or the exact cli_value rounded to `frac` digits after the
 * point (positional) or after the first digit (scientific) when the
 * shortest needs more. */
static void digits_cut(double v, int bits, bool scientific, int frac,
                       decimal *d)
{
    shortest(v, bits, d);
    int have = scientific ? d->n - 1 : d->n - 1 - d->exp;
    if (have <= frac)
        return;
    char buf[400];
    snprintf(buf, sizeof buf, scientific ? "%.*e" : "%.*f", frac, fabs(v));
    bool neg = d->neg;
    parse_digits(buf, d);
    d->neg = neg;
}

/* Positional parts: sign and integer digits, fraction digits. */
static void positional_parts(const decimal *d, const char *sign, sbuf *ip,
                             sbuf *fp)
{
    sb_puts(ip, sign);
    if (d->exp < 0) {
        sb_puts(ip, "0");
        for (int i = 0; i < -d->exp - 1; i++)
            sb_puts(fp, "0");
        if (!(d->n == 1 && d->digits[0] == '0'))
            sb_puts(fp, d->digits);
        return;
    }
    for (int i = 0; i <= d->exp; i++)
        sb_putn(ip, i < d->n ? &d->digits[i] : "0", 1);
    if (d->n > d->exp + 1)
        sb_puts(fp, d->digits + d->exp + 1);
}

static const char *sign_of(bool neg, bool plus)
{
    return neg ? "-" : plus ? "+" : "";
}

/* ---- FloatingFormat ------------------------------------------------------------ */

typedef struct float_fmt {
    int bits;
    bool plus; /* sign='+' (the imaginary parts of complex numbers) */
    bool exp_format;
    int pad_left, pad_right;
    int precision; /* digits after the point, scientific mode */
    int exp_size;  /* digits of the exponent, scientific mode */
} float_fmt;

static bool use_exp_format(const double *x, size_t n, int bits)
{
    double max = 0, min = INFINITY;
    for (size_t i = 0; i < n; i++) {
        double a = fabs(x[i]);
        if (isfinite(a) && a != 0) {
            max = a > max ? a : max;
            min = a < min ? a : min;
        }
    }
    if (max == 0)
        return false;
    /* NumPy divides in the array's own type */
    double ratio = max / min;
    if (bits == 32)
        ratio = (float)(max / min);
    else if (bits == 16)
        ratio = cli_half_to_double(cli_double_to_half(max / min));
    return max >= 1e8 || min < 1e-4 || ratio > 1000.;
}

static void float_fmt_fill(float_fmt *f, const double *x, size_t n, int bits,
                           bool plus)
{
    *f = (float_fmt){.bits = bits, .plus = plus, .exp_size = -1};
    f->exp_format = use_exp_format(x, n, bits);
    bool any_finite = false, nonfinite = false, neginf = plus;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(x[i])) {
            nonfinite = true;
            neginf |= isinf(x[i]) && x[i] < 0;
            continue;
        }
        any_finite = true;
        decimal d;
        digits_cut(x[i], bits, f->exp_format, PRECISION, &d);
        int sign = d.neg || plus;
        if (f->exp_format) {
            int frac = d.n - 1, expd = abs(d.exp) >= 100 ? 3 : 2;
            f->precision = frac > f->precision ? frac : f->precision;
            f->exp_size = expd > f->exp_size ? expd : f->exp_size;
            f->pad_left = 1 + sign > f->pad_left ? 1 + sign : f->pad_left;
        } else {
            int ilen = sign + (d.exp < 0 ? 1 : d.exp + 1);
            int flen = d.exp < 0 ? -d.exp - 1 + d.n
                                 : (d.n > d.exp + 1 ? d.n - d.exp - 1 : 0);
            if (d.n == 1 && d.digits[0] == '0')
                flen = 0;
            f->pad_left = ilen > f->pad_left ? ilen : f->pad_left;
            f->pad_right = flen > f->pad_right ? flen : f->pad_right;
        }
    }
    if (!any_finite)
        f->exp_format = false;
    else if (f->exp_format)
        f->pad_right = f->exp_size + 2 + f->precision;
    if (nonfinite) {
        int offset = f->pad_right + 1;
        int inflen = 3 + neginf;
        if (3 - offset > f->pad_left)
            f->pad_left = 3 - offset;
        if (inflen - offset > f->pad_left)
            f->pad_left = inflen - offset;
    }
}

static void float_fmt_put(const float_fmt *f, double v, sbuf *out)
{
    if (!isfinite(v)) {
        const char *s = isnan(v)  ? (f->plus ? "+nan" : "nan")
                        : v < 0   ? "-inf"
                        : f->plus ? "+inf"
                                  : "inf";
        sb_spaces(out, f->pad_left + f->pad_right + 1 - (int)strlen(s));
        sb_puts(out, s);
        return;
    }
    if (f->exp_format) {
        /* the exact cli_value rounded to `precision` digits (Dragon4 with
         * min_digits = precision) */
        char buf[64];
        snprintf(buf, sizeof buf, "%#.*e", f->precision, fabs(v));
        char *e = strchr(buf, 'e');
        const char *sign = sign_of(signbit(v), f->plus);
        int exp = atoi(e + 1);
        sb_spaces(out, f->pad_left - 1 - (int)strlen(sign));
        sb_puts(out, sign);
        sb_putn(out, buf, (size_t)(e - buf));
        char expbuf[16];
        snprintf(expbuf, sizeof expbuf, "e%c%0*d", exp < 0 ? '-' : '+',
                 f->exp_size, abs(exp));
        sb_puts(out, expbuf);
        return;
    }
    decimal d;
    sbuf ip = {0}, fp = {0};
    digits_cut(v, f->bits, false, PRECISION, &d);
    if (d.exp >= d.n) {
        /* Dragon4 with min_digits = 0 prints every digit down to the ones
         * place exactly: float32 82776288 is "82776288.", not the
         * shortest "82776290." (such a cli_value is an integer) */
        char buf[400];
        bool neg = d.neg;
        snprintf(buf, sizeof buf, "%.0f", fabs(v));
        parse_digits(buf, &d);
        d.neg = neg;
    }
    positional_parts(&d, sign_of(d.neg, f->plus), &ip, &fp);
    sb_spaces(out, f->pad_left - (int)ip.len);
    sb_putn(out, ip.p, ip.len);
    sb_puts(out, ".");
    if (fp.len)
        sb_putn(out, fp.p, fp.len);
    sb_spaces(out, f->pad_right - (int)fp.len);
    free(ip.p);
    free(fp.p);
}

/* ---- the element formatter of a whole array ------------------------------------ */

typedef struct elem_fmt {
    mms_dtype dtype;
    cli_kind kind;
    int int_width;
    float_fmt re, im;
} elem_fmt;

/* Formats from the values that will be shown (the corners of a summarised
 * array), as NumPy does. */
static int elem_fmt_fill(elem_fmt *f, mms_dtype dtype, const cli_value *vals,
                         size_t n)
{
    f->dtype = dtype;
    f->kind = cli_kind_of(dtype);
    if (f->kind == CLI_K_INT || f->kind == CLI_K_UINT) {
        char buf[32];
        f->int_width = 0;
        for (size_t i = 0; i < n; i++) {
            int w = f->kind == CLI_K_INT
                        ? snprintf(buf, sizeof buf, "%" PRId64, vals[i].i)
                        : snprintf(buf, sizeof buf, "%" PRIu64, vals[i].u);
            f->int_width = w > f->int_width ? w : f->int_width;
        }
    } else if (f->kind == CLI_K_FLOAT || f->kind == CLI_K_COMPLEX) {
        double *x = calloc(n ? n : 1, sizeof *x);
        if (!x)
            return cli_error("out of memory");
        for (size_t i = 0; i < n; i++)
            x[i] = vals[i].re;
        float_fmt_fill(&f->re, x, n, float_bits(dtype), false);
        for (size_t i = 0; i < n; i++)
            x[i] = vals[i].im;
        float_fmt_fill(&f->im, x, n, float_bits(dtype), true);
        free(x);
    }
    return CLI_OK;
}

static void elem_put(const elem_fmt *f, cli_value v, sbuf *out)
{
    char buf[32];
    switch (f->kind) {
    case CLI_K_BOOL:
        sb_puts(out, v.b ? " True" : "False");
        break;
    case CLI_K_INT:
        snprintf(buf, sizeof buf, "%*" PRId64, f->int_width, v.i);
        sb_puts(out, buf);
        break;
    case CLI_K_UINT:
        snprintf(buf, sizeof buf, "%*" PRIu64, f->int_width, v.u);
        sb_puts(out, buf);
        break;
    case CLI_K_FLOAT:
        float_fmt_put(&f->re, v.re, out);
        break;
    case CLI_K_COMPLEX: {
        float_fmt_put(&f->re, v.re, out);
        sbuf im = {0};
        float_fmt_put(&f->im, v.im, &im);
        size_t end = im.len; /* the 'j' goes before trailing spaces */
        while (end > 0 && im.p[end - 1] == ' ')
            end--;
        sb_putn(out, im.p, end);
        sb_puts(out, "j");
        sb_putn(out, im.p + end, im.len - end);
        free(im.p);
        break;
    }
    }
}

/* ---- NumPy's scalar str() (0-d results) ------------------------------------------ */

/* trim_zero: "1.0" (LeaveOneZero) rather than "1" (DptZeros). */
static void scalar_float(double v, int bits, bool plus, bool trim_zero,
                         sbuf *out)
{
    if (!isfinite(v)) {
        sb_puts(out, isnan(v) ? (plus ? "+nan" : "nan")
                     : v < 0  ? "-inf"
                              : (plus ? "+inf" : "inf"));
        return;
    }
    decimal d;
    shortest(v, bits, &d);
    double a = fabs(v);
    const char *sign = sign_of(d.neg, plus);
    if (a == 0 || (a >= 1e-4 && a < 1e16)) {
        sbuf ip = {0}, fp = {0};
        positional_parts(&d, sign, &ip, &fp);
        sb_putn(out, ip.p, ip.len);
        if (fp.len) {
            sb_puts(out, ".");
            sb_putn(out, fp.p, fp.len);
        } else if (trim_zero) {
            sb_puts(out, ".0");
        }
        free(ip.p);
        free(fp.p);
        return;
    }
    char buf[32];
    sb_puts(out, sign);
    sb_putn(out, d.digits, 1);
    if (d.n > 1) {
        sb_puts(out, ".");
        sb_puts(out, d.digits + 1);
    }
    snprintf(buf, sizeof buf, "e%c%02d", d.exp < 0 ? '-' : '+', abs(d.exp));
    sb_puts(out, buf);
}

static void scalar_put(mms_dtype t, cli_value v, sbuf *out)
{
    char buf[32];
    int bits = float_bits(t);
    switch (cli_kind_of(t)) {
    case CLI_K_BOOL:
        sb_puts(out, v.b ? "True" : "False");
        break;
    case CLI_K_INT:
        snprintf(buf, sizeof buf, "%" PRId64, v.i);
        sb_puts(out, buf);
        break;
    case CLI_K_UINT:
        snprintf(buf, sizeof buf, "%" PRIu64, v.u);
        sb_puts(out, buf);
        break;
    case CLI_K_FLOAT:
        scalar_float(v.re, bits, false, true, out);
        break;
    case CLI_K_COMPLEX:
        if (v.re == 0 && !signbit(v.re)) {
            scalar_float(v.im, bits, false, false, out);
            sb_puts(out, "j");
        } else {
            sb_puts(out, "(");
            scalar_float(v.re, bits, false, false, out);
            scalar_float(v.im, bits, true, false, out);
            sb_puts(out, "j)");
        }
        break;
    }
}

/* ---- _formatArray ------------------------------------------------------------------ */

typedef struct printer {
    const cli_view *v;
    elem_fmt fmt;
    bool summarize;
} printer;

/* The elements shown (all, or the corners of each axis), in order. */
typedef struct values {
    cli_value *v;
    size_t n, cap;
} values;

static int collect(const printer *pr, int axis, const unsigned char *p,
                   values *out)
{
    const cli_view *v = pr->v;
    if (axis == v->ndim) {
        if (out->n == out->cap) {
            size_t cap = out->cap ? 2 * out->cap : 1024;
            cli_value *nv = realloc(out->v, cap * sizeof *nv);
            if (!nv)
                return -1;
            out->v = nv;
            out->cap = cap;
        }
        out->v[out->n++] = cli_read_value(p, v->dtype);
        return 0;
    }
    uint64_t len = v->shape[axis];
    bool cut = pr->summarize && len > 2 * EDGEITEMS;
    for (uint64_t i = 0; i < len; i++) {
        if (cut && i == EDGEITEMS)
            i = len - EDGEITEMS;
        if (collect(pr, axis + 1, p + (int64_t)i * v->stride[axis], out) != 0)
            return -1;
    }
    return 0;
}

/* _extendLine: appends word to line, first moving line to s when the word
 * would pass width (unless the line holds only its indent). */
static void extend_line(sbuf *s, sbuf *line, const char *word, size_t wlen,
                        size_t width, size_t indent)
{
    if (line->len + wlen > width && line->len > indent) {
        size_t end = line->len;
        while (end > 0 && line->p[end - 1] == ' ')
            end--;
        sb_putn(s, line->p, end);
        sb_puts(s, "\n");
        line->len = 0;
        sb_spaces(line, (int)indent);
    }
    sb_putn(line, word, wlen);
}

static void recurse(const printer *pr, int axis, const unsigned char *p,
                    int indent, int width, sbuf *out);

/* One item of an axis: index i of it (counted from the start). */
static void item(const printer *pr, int axis, const unsigned char *p,
                 uint64_t i, int indent, int width, sbuf *out)
{
    recurse(pr, axis + 1, p + (int64_t)i * pr->v->stride[axis], indent + 1,
            width - 1, out);
}

static void recurse(const printer *pr, int axis, const unsigned char *p,
                    int indent, int width, sbuf *out)
{
    const cli_view *v = pr->v;
    if (axis == v->ndim) {
        elem_put(&pr->fmt, cli_read_value(p, v->dtype), out);
        return;
    }
    uint64_t len = v->shape[axis];
    bool summary = pr->summarize && len > 2 * EDGEITEMS;
    uint64_t lead = summary ? EDGEITEMS : 0, trail = summary ? EDGEITEMS : len;
    sbuf s = {0};

    if (axis == v->ndim - 1) {
        sbuf line = {0}, word = {0};
        size_t elem_width = (size_t)width - 1;
        sb_spaces(&line, indent);
        for (uint64_t i = 0; i < lead + trail; i++) {
            if (summary && i == lead) {
                extend_line(&s, &line, "...", 3, elem_width, (size_t)indent);
                sb_puts(&line, " ");
            }
            word.len = 0;
            item(pr, axis, p, i < lead ? i : len - (lead + trail - i), indent,
                 width, &word);
            extend_line(&s, &line, word.p, word.len, elem_width,
                        (size_t)indent);
            if (i + 1 < lead + trail)
                sb_puts(&line, " ");
        }
        sb_putn(&s, line.p, line.len);
        free(line.p);
        free(word.p);
    } else {
        int newlines = v->ndim - axis - 1;
        for (uint64_t i = 0; i < lead + trail; i++) {
            if (summary && i == lead) {
                sb_spaces(&s, indent);
                sb_puts(&s, "...");
                for (int k = 0; k < newlines; k++)
                    sb_puts(&s, "\n");
            }
            sb_spaces(&s, indent);
            item(pr, axis, p, i < lead ? i : len - (lead + trail - i), indent,
                 width, &s);
            for (int k = 0; i + 1 < lead + trail && k < newlines; k++)
                sb_puts(&s, "\n");
        }
    }
    /* drop the first line's indent, wrap in brackets */
    sb_puts(out, "[");
    if (s.len > (size_t)indent)
        sb_putn(out, s.p + indent, s.len - (size_t)indent);
    sb_puts(out, "]");
    out->oom |= s.oom;
    free(s.p);
}

/* str(a) for the view, into out. */
static int format_view(const cli_view *v, sbuf *out)
{
    if (v->ndim == 0) {
        scalar_put(v->dtype, cli_read_value(v->base, v->dtype), out);
        return CLI_OK;
    }
    if (view_size(v) == 0) {
        sb_puts(out, "[]");
        return CLI_OK;
    }
    printer pr = {.v = v, .summarize = view_size(v) > THRESHOLD};
    values vals = {0};
    if (collect(&pr, 0, v->base, &vals) != 0) {
        free(vals.v);
        return cli_error("out of memory");
    }
    int status = elem_fmt_fill(&pr.fmt, v->dtype, vals.v, vals.n);
    free(vals.v);
    if (status == CLI_OK)
        recurse(&pr, 0, v->base, 1, LINEWIDTH, out);
    return status;
}

/* ---- --json ------------------------------------------------------------------------ */

static json_t *json_float(double x)
{
    return isfinite(x) ? json_real(x) : json_null();
}

static json_t *value_json(mms_dtype t, cli_value v)
{
    switch (cli_kind_of(t)) {
    case CLI_K_BOOL:
        return json_boolean(v.b);
    case CLI_K_INT:
        return json_integer(v.i);
    case CLI_K_UINT:
        return v.u <= INT64_MAX ? json_integer((json_int_t)v.u)
                                : json_real((double)v.u);
    case CLI_K_FLOAT:
        return json_float(v.re);
    case CLI_K_COMPLEX:
        return json_pack("[o, o]", json_float(v.re), json_float(v.im));
    }
    return NULL;
}

static json_t *view_json(const cli_view *v, int axis, const unsigned char *p)
{
    if (axis == v->ndim)
        return value_json(v->dtype, cli_read_value(p, v->dtype));
    json_t *a = json_array();
    for (uint64_t i = 0; a && i < v->shape[axis]; i++) {
        json_t *x = view_json(v, axis + 1, p + (int64_t)i * v->stride[axis]);
        if (!x || json_array_append_new(a, x) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

/* ---- the command ------------------------------------------------------------------- */

/* Whether getopt would take operand s, an index such as "-1" or "-3:",
 * for an option. */

/* ---- the entry points ---------------------------------------------------------- */

int cli_format_view(const cli_view *v, char **text)
{
    sbuf out = {0};
    *text = NULL;
    int status = format_view(v, &out);
    if (status == CLI_OK && out.oom)
        status = cli_error("out of memory");
    if (status != CLI_OK) {
        free(out.p);
        return status;
    }
    *text = out.p;
    return CLI_OK;
}

json_t *cli_view_json(const cli_view *v)
{
    return view_json(v, 0, v->base);
}
