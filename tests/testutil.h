/* testutil.h - shared helpers for mmstore's CUnit programs. */
#ifndef MMS_TESTUTIL_H
#define MMS_TESTUTIL_H

#include <CUnit/CUnit.h>
#include <stdio.h>
#include <mmstore.h>

typedef struct tu_test {
    const char *name;
    void (*fn)(void);
} tu_test;

typedef struct tu_suite {
    const char *name;
    const tu_test *tests; /* terminated by {NULL, NULL} */
} tu_suite;

/* Runs every suite (terminated by {NULL, NULL}) with CUnit's basic runner,
 * prints "RESULT: N passed, M failed" (read by scripts/check.sh) and returns
 * the process exit status: 0 only if every test passed. Removes every
 * directory made by tu_tmpdir. */
int tu_run(const char *program, const tu_suite *suites);

/* A fresh empty directory under $TMPDIR (or /tmp), removed by tu_run at the
 * end. Returns a static-lifetime string owned by testutil. */
const char *tu_tmpdir(void);

/* tu_tmpdir() + "/store": a path where no store exists yet. */
const char *tu_store_path(void);

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
