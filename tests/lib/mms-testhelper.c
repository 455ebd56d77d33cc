/*
 * mms-testhelper.c - a tiny program that drives libmmstore for tests run
 * from a shell or started with fork + exec. It uses only <mmstore.h>, as
 * any other program would.
 *
 * usage: mms-testhelper [--block-size N] STORE COMMAND ARGS...
 *
 *   create NAME DTYPE SHAPE   create the store if absent, create NAME filled
 *                             with the test pattern (below), sync, close
 *   write NAME OFFSET BYTE    open NAME read-write, store BYTE (0..255) at
 *                             byte OFFSET of its data through the mapping,
 *                             close (which syncs)
 *   resize NAME ROWS          grow or shrink axis 0 to ROWS (new rows are 0)
 *   attr NAME KEY VALUE       set attribute KEY of NAME to the bytes VALUE
 *   dump NAME                 print every element in C order, one a line
 *   path NAME                 print the path of NAME's data file
 *   verify NAME               mms_verify; each mismatching block is printed
 *                             as "mismatch: block B rows FIRST+N"
 *   stat NAME                 print what mms_stat says, one key=value a line
 *
 * SHAPE is a NumPy-style tuple or a comma-separated list: "()" or "" is a
 * 0-d array, "(0,)" or "0" is one axis of length 0, "3,4" or "(3, 4)" two.
 * --block-size sets the checksum block size used if create makes the store.
 *
 * The test pattern (tests/cli/numpy_check.py expects exactly this): element i,
 * counted in C order over the flat array, holds
 *   - bool:              i % 2 == 0 (True, False, True, ...)
 *   - integers:          i + 1 converted to the type (wrapping modulo 2^bits)
 *   - float16/32/64:     i + 1 (rounded to nearest even where inexact)
 *   - complex64/128:     (i + 1) - (i + 1)j
 * so no element of the pattern is zero except every other bool, and rows
 * added by a resize (which read as zero) are told apart from it.
 *
 * dump prints bool as 0/1, integers in decimal, floats with %.17g and
 * complex numbers as "RE IM" (each %.17g).
 *
 * Exit status: 0 on success, 1 on failure (verify: on a mismatch too), 2 on
 * a usage error. Errors go to stderr as "mms-testhelper: <what>: <why>".
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mmstore.h>

#define PROG "mms-testhelper"

static const char *store_path;

static void usage(void)
{
    fprintf(stderr,
            "usage: " PROG " [--block-size N] STORE COMMAND ARGS...\n"
            "commands: create NAME DTYPE SHAPE | write NAME OFFSET BYTE |\n"
            "          resize NAME ROWS | attr NAME KEY VALUE | dump NAME |\n"
            "          path NAME | verify NAME | stat NAME\n");
    exit(2);
}

/* Prints "mms-testhelper: <what>: <why>" for a failed mmstore call. */
static int fail_rc(int rc, const char *fmt, ...)
{
    va_list ap;
    const char *why = mms_errmsg();
    fprintf(stderr, PROG ": ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    if (why[0])
        fprintf(stderr, ": %s (%s)\n", why, mms_strerror(rc));
    else
        fprintf(stderr, ": %s\n", mms_strerror(rc));
    return 1;
}

/* Prints "mms-testhelper: <what>: <why>" for a usage problem and exits 2. */
static void die_usage(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, PROG ": ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(2);
}

static uint64_t parse_u64(const char *what, const char *text)
{
    char *end;
    errno = 0;
    if (text[0] < '0' || text[0] > '9')
        die_usage("%s: not a number: '%s'", what, text);
    unsigned long long v = strtoull(text, &end, 0);
    if (errno || *end)
        die_usage("%s: not a number: '%s'", what, text);
    return (uint64_t)v;
}

/* Parses SHAPE (see the top of the file) into shape[], returns ndim. */
static int parse_shape(const char *text, uint64_t *shape)
{
    char buf[1024];
    size_t len = strlen(text);
    if (len >= sizeof buf)
        die_usage("shape: too long: '%s'", text);
    memcpy(buf, text, len + 1);
    char *p = buf;
    while (*p == ' ')
        p++;
    if (*p == '(') {
        p++;
        char *close = strrchr(p, ')');
        if (!close || close[1] != '\0')
            die_usage("shape: unbalanced parentheses: '%s'", text);
        *close = '\0';
    }
    int ndim = 0;
    for (;;) {
        while (*p == ' ')
            p++;
        if (*p == '\0')
            break;
        char *comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        char *end = p + strlen(p);
        while (end > p && end[-1] == ' ')
            *--end = '\0';
        if (ndim == MMS_MAX_NDIM)
            die_usage("shape: more than %d dimensions: '%s'", MMS_MAX_NDIM,
                      text);
        shape[ndim++] = parse_u64("shape", p);
        if (!comma)
            break;
        p = comma + 1;
    }
    return ndim;
}

/* IEEE 754 binary16 from a double, rounding to nearest even (as NumPy's
 * astype(float16) does). */
static uint16_t half_from_double(double d)
{
    uint64_t b;
    memcpy(&b, &d, sizeof b);
    uint16_t sign = (uint16_t)((b >> 48) & 0x8000u);
    int exp = (int)((b >> 52) & 0x7ff);
    uint64_t man = b & ((UINT64_C(1) << 52) - 1);
    if (exp == 0x7ff)
        return (uint16_t)(sign | 0x7c00u | (man ? 0x200u : 0u));
    if (exp == 0)
        return sign; /* zero or a double subnormal: far below half's range */
    int e = exp - 1023 + 15;
    if (e >= 31)
        return (uint16_t)(sign | 0x7c00u);
    uint64_t m = man | (UINT64_C(1) << 52);
    int shift = e > 0 ? 42 : 43 - e; /* keep 11 bits, fewer if subnormal */
    if (shift > 63)
        return sign;
    uint64_t q = m >> shift;
    uint64_t rem = m & ((UINT64_C(1) << shift) - 1);
    uint64_t halfway = UINT64_C(1) << (shift - 1);
    if (rem > halfway || (rem == halfway && (q & 1)))
        q++;
    if (e <= 0)
        return (uint16_t)(sign | q); /* q == 1024 is the smallest normal */
    if (q == 2048) {
        q = 1024;
        if (++e >= 31)
            return (uint16_t)(sign | 0x7c00u);
    }
    return (uint16_t)(sign | (uint16_t)(e << 10) | (uint16_t)(q & 0x3ff));
}

static double half_to_double(uint16_t h)
{
    unsigned e = (h >> 10) & 0x1f, m = h & 0x3ff;
    double v;
    if (e == 0) {
        v = (double)m / 16777216.0; /* m * 2^-24 */
    } else if (e == 31) {
        uint64_t b = (UINT64_C(0x7ff) << 52) | ((uint64_t)m << 42);
        memcpy(&v, &b, sizeof v);
    } else {
        uint64_t b = ((uint64_t)(e - 15 + 1023) << 52) | ((uint64_t)m << 42);
        memcpy(&v, &b, sizeof v);
    }
    return (h & 0x8000u) ? -v : v;
}

/* Stores pattern element i at p (see the top of the file). */
static void put_pattern(mms_dtype dtype, unsigned char *p, uint64_t i)
{
    uint64_t v = i + 1;
    double dv = (double)v;
    switch (dtype) {
    case MMS_BOOL: { uint8_t x = (i % 2 == 0); memcpy(p, &x, 1); break; }
    case MMS_INT8: case MMS_UINT8: { uint8_t x = (uint8_t)v; memcpy(p, &x, 1); break; }
    case MMS_INT16: case MMS_UINT16: { uint16_t x = (uint16_t)v; memcpy(p, &x, 2); break; }
    case MMS_INT32: case MMS_UINT32: { uint32_t x = (uint32_t)v; memcpy(p, &x, 4); break; }
    case MMS_INT64: case MMS_UINT64: memcpy(p, &v, 8); break;
    case MMS_FLOAT16: { uint16_t x = half_from_double(dv); memcpy(p, &x, 2); break; }
    case MMS_FLOAT32: { float x = (float)dv; memcpy(p, &x, 4); break; }
    case MMS_FLOAT64: memcpy(p, &dv, 8); break;
    case MMS_COMPLEX64: {
        float x[2] = { (float)dv, (float)-dv };
        memcpy(p, x, sizeof x);
        break;
    }
    case MMS_COMPLEX128: {
        double x[2] = { dv, -dv };
        memcpy(p, x, sizeof x);
        break;
    }
    }
}

static void print_element(mms_dtype dtype, const unsigned char *p)
{
    switch (dtype) {
    case MMS_BOOL: printf("%d\n", p[0] != 0); break;
    case MMS_INT8: { int8_t x; memcpy(&x, p, 1); printf("%d\n", x); break; }
    case MMS_UINT8: printf("%u\n", p[0]); break;
    case MMS_INT16: { int16_t x; memcpy(&x, p, 2); printf("%d\n", x); break; }
    case MMS_UINT16: { uint16_t x; memcpy(&x, p, 2); printf("%u\n", x); break; }
    case MMS_INT32: { int32_t x; memcpy(&x, p, 4); printf("%" PRId32 "\n", x); break; }
    case MMS_UINT32: { uint32_t x; memcpy(&x, p, 4); printf("%" PRIu32 "\n", x); break; }
    case MMS_INT64: { int64_t x; memcpy(&x, p, 8); printf("%" PRId64 "\n", x); break; }
    case MMS_UINT64: { uint64_t x; memcpy(&x, p, 8); printf("%" PRIu64 "\n", x); break; }
    case MMS_FLOAT16: { uint16_t x; memcpy(&x, p, 2); printf("%.17g\n", half_to_double(x)); break; }
    case MMS_FLOAT32: { float x; memcpy(&x, p, 4); printf("%.17g\n", (double)x); break; }
    case MMS_FLOAT64: { double x; memcpy(&x, p, 8); printf("%.17g\n", x); break; }
    case MMS_COMPLEX64: {
        float x[2];
        memcpy(x, p, sizeof x);
        printf("%.17g %.17g\n", (double)x[0], (double)x[1]);
        break;
    }
    case MMS_COMPLEX128: {
        double x[2];
        memcpy(x, p, sizeof x);
        printf("%.17g %.17g\n", x[0], x[1]);
        break;
    }
    }
}

static uint64_t element_count(const mms_info *info)
{
    uint64_t n = 1;
    for (int d = 0; d < info->ndim; d++)
        n *= info->shape[d];
    return n;
}

static int open_store(unsigned flags, mms_store **store)
{
    int rc = mms_store_open(store_path, flags, store);
    if (rc)
        return fail_rc(rc, "open store '%s'", store_path);
    return 0;
}

/* Opens store and array; on failure reports it and returns 1. */
static int open_array(const char *name, unsigned store_flags,
                      unsigned array_flags, mms_store **store,
                      mms_array **array)
{
    if (open_store(store_flags, store))
        return 1;
    int rc = mms_array_open(*store, name, array_flags, array);
    if (rc) {
        fail_rc(rc, "open '%s'", name);
        mms_store_close(*store);
        return 1;
    }
    return 0;
}

/* Closes array then store, reporting a failure of either. */
static int close_both(const char *name, mms_store *store, mms_array *array)
{
    int status = 0;
    int rc = mms_array_close(array);
    if (rc)
        status = fail_rc(rc, "close '%s'", name);
    rc = mms_store_close(store);
    if (rc)
        status = fail_rc(rc, "close store '%s'", store_path);
    return status;
}

static int cmd_create(char **argv)
{
    const char *name = argv[0];
    mms_dtype dtype;
    uint64_t shape[MMS_MAX_NDIM];
    int rc = mms_dtype_parse(argv[1], &dtype);
    if (rc)
        die_usage("dtype '%s': %s", argv[1], mms_strerror(rc));
    int ndim = parse_shape(argv[2], shape);

    mms_store *store;
    mms_array *array;
    if (open_store(MMS_CREATE, &store))
        return 1;
    rc = mms_array_create(store, name, dtype, ndim, shape, 0, &array);
    if (rc) {
        fail_rc(rc, "create '%s'", name);
        mms_store_close(store);
        return 1;
    }
    mms_info info;
    rc = mms_array_info(array, &info);
    if (rc) {
        fail_rc(rc, "info '%s'", name);
        close_both(name, store, array);
        return 1;
    }
    unsigned char *data = mms_array_data(array);
    uint64_t n = element_count(&info);
    for (uint64_t i = 0; i < n; i++)
        put_pattern(dtype, data + i * info.itemsize, i);
    rc = mms_array_sync(array);
    if (rc) {
        fail_rc(rc, "sync '%s'", name);
        close_both(name, store, array);
        return 1;
    }
    return close_both(name, store, array);
}

static int cmd_write(char **argv)
{
    const char *name = argv[0];
    uint64_t offset = parse_u64("offset", argv[1]);
    uint64_t byte = parse_u64("byte", argv[2]);
    if (byte > 255)
        die_usage("byte: %s is not in 0..255", argv[2]);

    mms_store *store;
    mms_array *array;
    if (open_array(name, 0, MMS_RDWR, &store, &array))
        return 1;
    mms_info info;
    int rc = mms_array_info(array, &info);
    if (rc) {
        fail_rc(rc, "info '%s'", name);
        close_both(name, store, array);
        return 1;
    }
    if (offset >= info.nbytes) {
        fprintf(stderr, PROG ": write '%s': offset %" PRIu64
                " is past the data (%" PRIu64 " bytes)\n", name, offset,
                info.nbytes);
        close_both(name, store, array);
        return 1;
    }
    ((unsigned char *)mms_array_data(array))[offset] = (unsigned char)byte;
    return close_both(name, store, array);
}

static int cmd_resize(char **argv)
{
    const char *name = argv[0];
    uint64_t rows = parse_u64("rows", argv[1]);
    mms_store *store;
    mms_array *array;
    if (open_array(name, 0, MMS_RDWR, &store, &array))
        return 1;
    int rc = mms_array_resize(array, rows);
    if (rc) {
        fail_rc(rc, "resize '%s' to %" PRIu64 " rows", name, rows);
        close_both(name, store, array);
        return 1;
    }
    return close_both(name, store, array);
}

static int cmd_attr(char **argv)
{
    mms_store *store;
    if (open_store(0, &store))
        return 1;
    int status = 0;
    int rc = mms_attr_set(store, argv[0], argv[1], argv[2], strlen(argv[2]));
    if (rc)
        status = fail_rc(rc, "attr '%s' '%s'", argv[0], argv[1]);
    rc = mms_store_close(store);
    if (rc)
        status = fail_rc(rc, "close store '%s'", store_path);
    return status;
}

static int cmd_dump(char **argv)
{
    const char *name = argv[0];
    mms_store *store;
    mms_array *array;
    if (open_array(name, MMS_RDONLY, MMS_RDONLY, &store, &array))
        return 1;
    mms_info info;
    int rc = mms_array_info(array, &info);
    if (rc) {
        fail_rc(rc, "info '%s'", name);
        close_both(name, store, array);
        return 1;
    }
    const unsigned char *data = mms_array_data(array);
    uint64_t n = element_count(&info);
    for (uint64_t i = 0; i < n; i++)
        print_element(info.dtype, data + i * info.itemsize);
    int status = close_both(name, store, array);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        perror(PROG ": dump: stdout");
        status = 1;
    }
    return status;
}

static int cmd_path(char **argv)
{
    const char *name = argv[0];
    mms_store *store;
    mms_array *array;
    if (open_array(name, MMS_RDONLY, MMS_RDONLY, &store, &array))
        return 1;
    printf("%s\n", mms_array_path(array));
    return close_both(name, store, array);
}

static int print_mismatch(const char *name, uint64_t block,
                          uint64_t first_row, uint64_t nrows, void *ctx)
{
    (void)name;
    (void)ctx;
    printf("mismatch: block %" PRIu64 " rows %" PRIu64 "+%" PRIu64 "\n",
           block, first_row, nrows);
    return 0;
}

static int cmd_verify(char **argv)
{
    const char *name = argv[0];
    mms_store *store;
    if (open_store(MMS_RDONLY, &store))
        return 1;
    int status = 0;
    int rc = mms_verify(store, name, print_mismatch, NULL);
    fflush(stdout);
    if (rc)
        status = fail_rc(rc, "verify '%s'", name);
    rc = mms_store_close(store);
    if (rc)
        status = fail_rc(rc, "close store '%s'", store_path);
    return status;
}

static const char *state_name(mms_state state)
{
    switch (state) {
    case MMS_STATE_CLEAN: return "clean";
    case MMS_STATE_WRITING: return "writing";
    case MMS_STATE_INTERRUPTED: return "interrupted";
    case MMS_STATE_STAGED: return "staged";
    }
    return "unknown";
}

static int cmd_stat(char **argv)
{
    const char *name = argv[0];
    mms_store *store;
    if (open_store(MMS_RDONLY, &store))
        return 1;
    mms_info info;
    int rc = mms_stat(store, name, &info);
    if (rc) {
        fail_rc(rc, "stat '%s'", name);
        mms_store_close(store);
        return 1;
    }
    const char *dname = mms_dtype_name(info.dtype);
    printf("name=%s\n", name);
    printf("dtype=%s\n", dname ? dname : "?");
    printf("ndim=%d\n", info.ndim);
    printf("shape=");
    for (int d = 0; d < info.ndim; d++)
        printf("%s%" PRIu64, d ? "," : "", info.shape[d]);
    printf("\n");
    printf("nbytes=%" PRIu64 "\n", info.nbytes);
    printf("itemsize=%" PRIu64 "\n", info.itemsize);
    printf("generation=%" PRIu64 "\n", info.generation);
    printf("id=%" PRIu64 "\n", info.id);
    printf("capacity_rows=%" PRIu64 "\n", info.capacity_rows);
    printf("block_size=%" PRIu64 "\n", info.block_size);
    printf("checksum=0x%016" PRIx64 "\n", info.checksum);
    printf("state=%s\n", state_name(info.state));
    rc = mms_store_close(store);
    if (rc)
        return fail_rc(rc, "close store '%s'", store_path);
    return 0;
}

static const struct command {
    const char *name;
    int nargs;
    int (*fn)(char **argv);
} commands[] = {
    { "create", 3, cmd_create },
    { "write", 3, cmd_write },
    { "resize", 2, cmd_resize },
    { "attr", 3, cmd_attr },
    { "dump", 1, cmd_dump },
    { "path", 1, cmd_path },
    { "verify", 1, cmd_verify },
    { "stat", 1, cmd_stat },
};

int main(int argc, char **argv)
{
    int i = 1;
    if (i + 1 < argc && strcmp(argv[i], "--block-size") == 0) {
        int rc = mms_store_set_default_block_size(
            parse_u64("block size", argv[i + 1]));
        if (rc)
            die_usage("block size '%s': %s", argv[i + 1], mms_strerror(rc));
        i += 2;
    }
    if (argc - i < 2)
        usage();
    store_path = argv[i];
    const char *cmd = argv[i + 1];
    for (size_t c = 0; c < sizeof commands / sizeof commands[0]; c++) {
        if (strcmp(cmd, commands[c].name) != 0)
            continue;
        if (argc - (i + 2) != commands[c].nargs)
            die_usage("%s: expected %d arguments, got %d", cmd,
                      commands[c].nargs, argc - (i + 2));
        return commands[c].fn(argv + i + 2);
    }
    die_usage("unknown command '%s'", cmd);
    return 2;
}
