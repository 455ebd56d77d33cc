/* cli.c - the helpers every file of the mmstore tool shares: messages,
 * option parsing, opening the store, parsing and formatting numbers,
 * shapes and checksums, and printing JSON. It calls no other file of
 * tools/ (it is the bottom layer, see cli.h). */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

const cli_command *cli_current;

#define COMMON_HELP                                                          \
    "  -h, --help       show this help and exit\n"                           \
    "      --json       machine-readable output\n"                           \
    "  -q, --quiet      no progress bar\n"

/* ---- messages ------------------------------------------------------------ */

int cli_error(const char *fmt, ...)
{
    va_list ap;
    fputs(CLI_PROG ": ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return CLI_FAIL;
}

int cli_mms_error(int rc, const char *fmt, ...)
{
    va_list ap;
    const char *why = mms_errmsg();
    fputs(CLI_PROG ": ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, ": %s\n", why[0] ? why : mms_strerror(rc));
    return CLI_FAIL;
}

int cli_fail(int rc)
{
    return cli_mms_error(rc, "%s", cli_current->name);
}

int cli_usage(const char *fmt, ...)
{
    va_list ap;
    const char *cmd = cli_current ? cli_current->name : NULL;
    fprintf(stderr, CLI_PROG ": %s%s", cmd ? cmd : "", cmd ? ": " : "");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry '" CLI_PROG " %s%s--help' for more information.\n",
            cmd ? cmd : "", cmd ? " " : "");
    return CLI_USAGE;
}

/* ---- option parsing ------------------------------------------------------ */

void cli_command_help(const cli_command *c)
{
    printf("usage: " CLI_PROG " %s %s\n\n%c%s.\n", c->name, c->synopsis,
           toupper((unsigned char)c->summary[0]), c->summary + 1);
    if (c->help[0])
        printf("\n%s", c->help);
    printf("\nOptions for every command:\n" COMMON_HELP);
}

int cli_getopt(cli_globals *g, int argc, char **argv, const char *shortopts,
               const struct option *longopts, int *status)
{
    char optstring[64];
    snprintf(optstring, sizeof optstring, ":hq%s", shortopts);
    opterr = 0;
    for (;;) {
        int c = getopt_long(argc, argv, optstring, longopts, NULL);
        switch (c) {
        case 'h':
            cli_command_help(cli_current);
            *status = CLI_OK;
            return CLI_OPT_EXIT;
        case 'J':
            g->json = true;
            continue;
        case 'q':
            g->quiet = true;
            continue;
        case ':':
            *status = cli_usage("option '%s' needs a value", argv[optind - 1]);
            return CLI_OPT_EXIT;
        case '?':
            if (optopt && optopt != '?')
                *status = cli_usage("unknown option '-%c'", optopt);
            else
                *status = cli_usage("unknown option '%s'", argv[optind - 1]);
            return CLI_OPT_EXIT;
        default:
            return c;
        }
    }
}

int cli_operands(int argc, char **argv, int min, int max)
{
    int n = argc - optind;
    if (n < min)
        return cli_usage("missing operand (usage: " CLI_PROG " %s %s)",
                         cli_current->name, cli_current->synopsis);
    if (max >= 0 && n > max)
        return cli_usage("unexpected operand '%s'", argv[optind + max]);
    return CLI_OK;
}

/* ---- the store ------------------------------------------------------------ */

/* mkdir -p of path's parent directory. */
static int make_parent(const char *path)
{
    char *dir = strdup(path);
    if (!dir)
        return cli_error("out of memory");
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        for (char *p = dir + 1; ; p++) {
            if (*p != '/' && *p != '\0')
                continue;
            char c = *p;
            *p = '\0';
            if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
                int e = errno;
                cli_error("cannot create %s: %s", dir, strerror(e));
                free(dir);
                return CLI_FAIL;
            }
            *p = c;
            if (c == '\0')
                break;
        }
    }
    free(dir);
    return CLI_OK;
}

int cli_open_store(const cli_globals *g, unsigned flags, mms_store **out)
{
    int rc = mms_store_open(g->store_path, flags, out);
    if (rc == MMS_ERR_NOTFOUND && g->store_is_default) {
        if (make_parent(g->store_path) != CLI_OK)
            return CLI_FAIL;
        flags = (flags & ~MMS_RDONLY) | MMS_CREATE;
        rc = mms_store_open(g->store_path, flags, out);
    }
    if (rc == MMS_ERR_NOTFOUND && !(flags & MMS_CREATE))
        return cli_error("%s: no store there (create one with '" CLI_PROG
                         " init')", g->store_path);
    if (rc != MMS_OK)
        return cli_mms_error(rc, "store %s", g->store_path);
    return CLI_OK;
}

int cli_close_store(mms_store *store, int status)
{
    int rc = mms_store_close(store);
    if (rc != MMS_OK && status == CLI_OK)
        return cli_fail(rc);
    return status;
}

int cli_open_array(mms_store *store, const char *name, unsigned flags,
                   mms_array **out)
{
    int rc = mms_array_open(store, name, flags, out);
    return rc == MMS_OK ? CLI_OK : cli_fail(rc);
}

int cli_close_array(mms_array *a, int status)
{
    int rc = mms_array_close(a);
    if (rc != MMS_OK && status == CLI_OK)
        return cli_fail(rc);
    return status;
}

#define CLI_DATA_OFFSET 4096 /* where a data file's data starts */

int cli_check_data_file(mms_array *a, const mms_info *info, const char *what)
{
    const char *path = mms_array_path(a);
    struct stat st;
    if (stat(path, &st) != 0)
        return cli_error("%s: data file %s: %s", what, path, strerror(errno));
    uint64_t need = CLI_DATA_OFFSET + info->nbytes;
    if ((uint64_t)st.st_size < need)
        return cli_error("%s: data file %s is %llu bytes, too short for the "
                         "array's %llu bytes of data (%llu bytes needed): "
                         "another program cut it; see mmstore check", what,
                         path, (unsigned long long)st.st_size,
                         (unsigned long long)info->nbytes,
                         (unsigned long long)need);
    return CLI_OK;
}

locale_t cli_utf8_begin(void)
{
    static locale_t utf8;
    static const char *const names[] = {"C.UTF-8", "C.utf8", "en_US.UTF-8",
                                        NULL};
    for (size_t i = 0; !utf8 && names[i]; i++)
        utf8 = newlocale(LC_CTYPE_MASK, names[i], (locale_t)0);
    return utf8 ? uselocale(utf8) : (locale_t)0;
}

void cli_utf8_end(locale_t old)
{
    if (old)
        uselocale(old);
}

/* ---- listing the store ---------------------------------------------------- */

int cli_collect_entry(const char *name, const mms_info *info, void *ctx)
{
    cli_entries *es = ctx;
    if (es->n == es->cap) {
        size_t cap = es->cap ? 2 * es->cap : 64;
        cli_entry *v = realloc(es->v, cap * sizeof *v);
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

void cli_entries_free(cli_entries *es)
{
    for (size_t i = 0; i < es->n; i++)
        free(es->v[i].name);
    free(es->v);
}

/* ---- parsing and formatting ------------------------------------------------ */

int cli_parse_u64(const char *text, uint64_t *out)
{
    char *end;
    if (!isdigit((unsigned char)text[0]))
        return -1;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

int cli_parse_dtype(const char *text, mms_dtype *out)
{
    if (mms_dtype_parse(text, out) != MMS_OK)
        return cli_usage("unknown dtype '%s' (NumPy names such as float64, "
                         "int32, uint8, bool, complex128, or codes such as "
                         "f8, <i4)",
                         text);
    return CLI_OK;
}

int cli_parse_shape(const char *text, uint64_t *shape, int *ndim)
{
    const char *p = text;
    while (*p == ' ')
        p++;
    bool paren = *p == '(';
    p += paren;
    int n = 0;
    for (;;) {
        while (*p == ' ')
            p++;
        if (*p < '0' || *p > '9')
            break;
        if (n == MMS_MAX_NDIM)
            return -1;
        errno = 0;
        char *end;
        unsigned long long v = strtoull(p, &end, 10);
        if (errno == ERANGE)
            return -1;
        shape[n++] = v;
        p = end;
        while (*p == ' ')
            p++;
        if (*p != ',')
            break;
        p++;
    }
    if (paren && *p++ != ')')
        return -1;
    while (*p == ' ')
        p++;
    if (*p != '\0')
        return -1;
    *ndim = n;
    return 0;
}

bool cli_ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

void cli_format_size(uint64_t bytes, char *buf, size_t size)
{
    static const char *const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB",
                                        "EiB"};
    if (bytes < 1024) {
        snprintf(buf, size, "%" PRIu64 " B", bytes);
        return;
    }
    double v = (double)bytes / 1024.0;
    size_t u = 0;
    while (v >= 1024.0 && u + 1 < sizeof units / sizeof units[0]) {
        v /= 1024.0;
        u++;
    }
    snprintf(buf, size, "%.1f %s", v, units[u]);
}

const char *cli_format_shape(int ndim, const uint64_t *shape, char *buf,
                             size_t size)
{
    size_t len = 0;
    len += (size_t)snprintf(buf, size, "(");
    for (int i = 0; i < ndim && len < size; i++)
        len += (size_t)snprintf(buf + len, size - len, "%s%" PRIu64,
                                i ? ", " : "", shape[i]);
    if (len < size)
        snprintf(buf + len, size - len, ndim == 1 ? ",)" : ")");
    return buf;
}

void cli_format_checksum(uint64_t sum, char *buf, size_t size)
{
    snprintf(buf, size, "%016" PRIx64, sum);
}

char *cli_hex(const void *bytes, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    const unsigned char *p = bytes;
    char *s = malloc(2 * n + 1);
    if (!s)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        s[2 * i] = digits[p[i] >> 4];
        s[2 * i + 1] = digits[p[i] & 15];
    }
    s[2 * n] = '\0';
    return s;
}

/* ---- JSON ------------------------------------------------------------------ */

json_t *cli_shape_json(int ndim, const uint64_t *shape)
{
    json_t *a = json_array();
    for (int i = 0; a && i < ndim; i++)
        json_array_append_new(a, json_integer((json_int_t)shape[i]));
    return a;
}

int cli_print_json(json_t *doc)
{
    if (!doc)
        return cli_error("out of memory");
    int rc = json_dumpf(doc, stdout, JSON_INDENT(2));
    json_decref(doc);
    putchar('\n');
    return rc == 0 ? CLI_OK : cli_error("write error: %s", strerror(errno));
}
