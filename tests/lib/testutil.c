/* testutil.c - shared helpers for mmstore's CUnit programs. */
#define _GNU_SOURCE
#include "testutil.h"

#include <CUnit/Basic.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TU_MAX_DIRS 4096

static char *tu_dirs[TU_MAX_DIRS];
static int tu_ndirs;
static pid_t tu_owner;

static void rmrf_at(int dirfd, const char *name)
{
    int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0) {
        DIR *d = fdopendir(fd);
        if (d) {
            struct dirent *e;
            while ((e = readdir(d)) != NULL) {
                if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
                    rmrf_at(fd, e->d_name);
            }
            closedir(d);
        } else {
            close(fd);
        }
        unlinkat(dirfd, name, AT_REMOVEDIR);
    } else {
        unlinkat(dirfd, name, 0);
    }
}

void tu_rmrf(const char *path)
{
    rmrf_at(AT_FDCWD, path);
}

const char *tu_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char tmpl[PATH_MAX];
    if (!base || !*base)
        base = "/tmp";
    snprintf(tmpl, sizeof tmpl, "%s/mmstore-test-XXXXXX", base);
    if (!mkdtemp(tmpl)) {
        perror("mkdtemp");
        exit(99);
    }
    if (tu_ndirs == TU_MAX_DIRS) {
        fprintf(stderr, "testutil: too many temporary directories\n");
        exit(99);
    }
    tu_dirs[tu_ndirs] = strdup(tmpl);
    if (!tu_dirs[tu_ndirs])
        exit(99);
    return tu_dirs[tu_ndirs++];
}

const char *tu_store_path(void)
{
    const char *dir = tu_tmpdir();
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/store", dir);
    if (tu_ndirs == TU_MAX_DIRS)
        exit(99);
    /* Keep the string alive in the same table; it is removed with dir. */
    char *s = strdup(path);
    if (!s)
        exit(99);
    tu_dirs[tu_ndirs++] = s;
    return s;
}

mms_store *tu_new_store(const char **path_out)
{
    const char *path = tu_store_path();
    mms_store *s = NULL;
    TU_RC_FATAL(MMS_OK, mms_store_open(path, MMS_CREATE, &s));
    if (path_out)
        *path_out = path;
    return s;
}

static void cleanup(void)
{
    if (getpid() != tu_owner)
        return; /* a forked child must not remove its parent's directories */
    for (int i = tu_ndirs - 1; i >= 0; i--) {
        tu_rmrf(tu_dirs[i]);
        free(tu_dirs[i]);
    }
    tu_ndirs = 0;
}

void tu_checkf(int ok, const char *file, unsigned line, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    CU_assertImplementation(ok ? CU_TRUE : CU_FALSE, line, msg, file, "",
                            CU_FALSE);
}

/* What -s chose: "SUITE" or "SUITE:TEST". NULL selection = everything. */
typedef struct selection {
    char **want;
    int n;
    int *used;
} selection;

static int tu_run_selected(const char *program, const tu_suite *suites,
                           const selection *sel);

/* Whether test t of suite runs: 1 yes, 0 no, -1 no because it is slow
 * (it would run with MMS_TEST_LONG). Marks the -s choices that name it. */
static int selected(const selection *sel, const char *suite, const tu_test *t,
                    int long_run)
{
    int slow_out = t->slow && !long_run;
    int run = 0;
    if (sel->n == 0)
        return slow_out ? -1 : 1;
    for (int i = 0; i < sel->n; i++) {
        const char *w = sel->want[i];
        size_t len = strlen(suite);
        if (strncmp(w, suite, len) != 0)
            continue;
        if (w[len] == '\0') {
            sel->used[i] = 1; /* even if all its tests are slow ones */
            if (run == 0)
                run = slow_out ? -1 : 1;
        } else if (w[len] == ':' && strcmp(w + len + 1, t->name) == 0) {
            sel->used[i] = 1;
            run = 1; /* named explicitly: slow or not */
        }
    }
    return run;
}

static int long_run_wanted(void)
{
    const char *v = getenv("MMS_TEST_LONG");
    return v && *v && strcmp(v, "0") != 0;
}

/* Builds the CUnit registry from the selected tests of suites; prints the
 * slow tests it leaves out. */
static int build_registry(const char *program, const tu_suite *suites,
                          const selection *sel)
{
    int long_run = long_run_wanted();
    for (const tu_suite *s = suites; s->name; s++) {
        CU_pSuite suite = NULL;
        for (const tu_test *t = s->tests; t->name; t++) {
            int run = selected(sel, s->name, t, long_run);
            if (run <= 0) {
                if (run < 0)
                    printf("%s: slow test %s:%s left out "
                           "(make check-long runs it)\n",
                           program, s->name, t->name);
                continue;
            }
            if (!suite && !(suite = CU_add_suite(s->name, NULL, NULL))) {
                fprintf(stderr, "%s: CUnit: %s\n", program,
                        CU_get_error_msg());
                return 99;
            }
            if (!CU_add_test(suite, t->name, t->fn)) {
                fprintf(stderr, "%s: CUnit: %s\n", program, CU_get_error_msg());
                return 99;
            }
        }
    }
    return 0;
}

static int usage(const char *program)
{
    fprintf(stderr, "usage: %s [-l] [-s SUITE[:TEST]]...\n", program);
    return 2;
}

int tu_main(int argc, char **argv, const tu_suite *suites)
{
    const char *program = argc > 0 ? argv[0] : "test";
    selection sel = {0};
    int list = 0;

    sel.want = calloc((size_t)argc + 1, sizeof *sel.want);
    sel.used = calloc((size_t)argc + 1, sizeof *sel.used);
    if (!sel.want || !sel.used) {
        fprintf(stderr, "%s: out of memory\n", program);
        return 99;
    }
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-l") == 0) {
            list = 1;
        } else if (strcmp(argv[i], "-s") == 0 && i + 1 < argc) {
            sel.want[sel.n++] = argv[++i];
        } else if (strncmp(argv[i], "-s", 2) == 0 && argv[i][2]) {
            sel.want[sel.n++] = argv[i] + 2;
        } else {
            free(sel.want);
            free(sel.used);
            return usage(program);
        }
    }
    if (list) {
        for (const tu_suite *s = suites; s->name; s++)
            for (const tu_test *t = s->tests; t->name; t++)
                printf("%s:%s%s\n", s->name, t->name, t->slow ? " (slow)" : "");
        free(sel.want);
        free(sel.used);
        return 0;
    }
    int rc = tu_run_selected(program, suites, &sel);
    for (int i = 0; i < sel.n && rc != 99; i++) {
        if (!sel.used[i]) {
            fprintf(stderr, "%s: -s %s: no such suite or test (-l lists them)\n",
                    program, sel.want[i]);
            rc = 2;
        }
    }
    free(sel.want);
    free(sel.used);
    return rc;
}

int tu_run(const char *program, const tu_suite *suites)
{
    selection all = {0};
    return tu_run_selected(program, suites, &all);
}

static int tu_run_selected(const char *program, const tu_suite *suites,
                           const selection *sel)
{
    tu_owner = getpid();
    if (CU_initialize_registry() != CUE_SUCCESS) {
        fprintf(stderr, "%s: CUnit: %s\n", program, CU_get_error_msg());
        return 99;
    }
    if (build_registry(program, suites, sel) != 0)
        return 99;
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned run = CU_get_number_of_tests_run();
    unsigned failed = CU_get_number_of_tests_failed();
    unsigned asserts_failed = CU_get_number_of_failures();
    CU_cleanup_registry();
    cleanup();
    printf("\nRESULT: %u passed, %u failed\n", run - failed, failed);
    return (failed || asserts_failed) ? 1 : 0;
}
