/* testutil.c - shared helpers for mmstore's CUnit programs. */
#define _GNU_SOURCE
#include "testutil.h"

#include <CUnit/Basic.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
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

int tu_run(const char *program, const tu_suite *suites)
{
    tu_owner = getpid();
    if (CU_initialize_registry() != CUE_SUCCESS) {
        fprintf(stderr, "%s: CUnit: %s\n", program, CU_get_error_msg());
        return 99;
    }
    for (const tu_suite *s = suites; s->name; s++) {
        CU_pSuite suite = CU_add_suite(s->name, NULL, NULL);
        if (!suite) {
            fprintf(stderr, "%s: CUnit: %s\n", program, CU_get_error_msg());
            return 99;
        }
        for (const tu_test *t = s->tests; t->name; t++) {
            if (!CU_add_test(suite, t->name, t->fn)) {
                fprintf(stderr, "%s: CUnit: %s\n", program, CU_get_error_msg());
                return 99;
            }
        }
    }
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
