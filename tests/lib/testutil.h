/* testutil.h - shared helpers for mmstore's CUnit programs. */
#ifndef MMS_TESTUTIL_H
#define MMS_TESTUTIL_H

#include <CUnit/CUnit.h>
#include <stdio.h>
#include <mmstore.h>

typedef struct tu_test {
    const char *name;
    void (*fn)(void);
    int slow; /* run only by `make check-long` (MMS_TEST_LONG=1) */
} tu_test;

/* One entry of a test table, the name written once: TU_TEST(fn). A slow
 * test (seconds, not milliseconds) is TU_SLOW_TEST(fn): `make check`
 * leaves it out and says so, `make check-long` runs it. */
#define TU_TEST(fn) {#fn, fn, 0}
#define TU_SLOW_TEST(fn) {#fn, fn, 1}
#define TU_END {NULL, NULL, 0}

typedef struct tu_suite {
    const char *name;
    const tu_test *tests; /* terminated by {NULL, NULL} */
} tu_suite;

/* Runs every suite (terminated by {NULL, NULL}) with CUnit's basic runner,
 * prints "RESULT: N passed, M failed" (read by scripts/check.sh) and returns
 * the process exit status: 0 only if every test passed. Removes every
 * directory made by tu_tmpdir. */
int tu_run(const char *program, const tu_suite *suites);

/* The main() of every CUnit program: tu_main(argc, argv, suites).
 *   -s SUITE[:TEST]  run only that suite, or one test of it (repeatable)
 *   -l               list the suites and tests, slow ones marked
 * Slow tests run when MMS_TEST_LONG is set to a non-empty value other
 * than 0, or when chosen by -s SUITE:TEST. Exit status as tu_run; 2 for a
 * usage error or a -s naming no test. */
int tu_main(int argc, char **argv, const tu_suite *suites);

/* A CUnit assertion whose failure message is formatted like printf. */
void tu_checkf(int ok, const char *file, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
#define TU_CHECKF_AT(line, cond, ...) \
    tu_checkf(!!(cond), __FILE__, (line), __VA_ARGS__)
#define TU_CHECKF(cond, ...) TU_CHECKF_AT(__LINE__, cond, __VA_ARGS__)

/* A fresh empty directory under $TMPDIR (or /tmp), removed by tu_run at the
 * end. Returns a static-lifetime string owned by testutil. */
const char *tu_tmpdir(void);

/* tu_tmpdir() + "/store": a path where no store exists yet. */
const char *tu_store_path(void);

/* A new empty store at tu_store_path(), open read-write; the test stops if
 * it cannot be made. Sets *path_out (when not NULL) to its path, which
 * lives as tu_store_path's does. */
mms_store *tu_new_store(const char **path_out);

/* rm -rf path (no symlink following). */
void tu_rmrf(const char *path);

/* Asserts that a call returns the expected mmstore code; on failure the
 * message names the call, both codes and mms_errmsg(). */
#define TU_RC(expected, call)                                                \
    do {                                                                     \
        int tu_rc_ = (call);                                                 \
        char tu_msg_[1024];                                                  \
        snprintf(tu_msg_, sizeof tu_msg_, "%s returned %d (%s: %s), "        \
                 "expected %d (%s)", #call, tu_rc_, mms_strerror(tu_rc_),    \
                 mms_errmsg(), (int)(expected), mms_strerror(expected));     \
        CU_assertImplementation(tu_rc_ == (expected), __LINE__, tu_msg_,     \
                                __FILE__, "", CU_FALSE);                     \
    } while (0)

/* As TU_RC, but stops the test on failure. */
#define TU_RC_FATAL(expected, call)                                          \
    do {                                                                     \
        int tu_rc_ = (call);                                                 \
        char tu_msg_[1024];                                                  \
        snprintf(tu_msg_, sizeof tu_msg_, "%s returned %d (%s: %s), "        \
                 "expected %d (%s)", #call, tu_rc_, mms_strerror(tu_rc_),    \
                 mms_errmsg(), (int)(expected), mms_strerror(expected));     \
        CU_assertImplementation(tu_rc_ == (expected), __LINE__, tu_msg_,     \
                                __FILE__, "", CU_TRUE);                      \
    } while (0)

#define TU_OK(call) TU_RC(MMS_OK, call)
#define TU_OK_FATAL(call) TU_RC_FATAL(MMS_OK, call)

#endif
