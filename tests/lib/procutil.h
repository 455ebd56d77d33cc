/*
 * procutil.h - forked children for mmstore's multi-process CUnit programs
 * (tests/multiproc/).
 *
 * A child runs a function and leaves with _exit: 0 when the function
 * returns, 1 after pu_child_fail, which first writes the reason to an error
 * pipe so the parent's assertion message says what went wrong in the child.
 * Parent and child talk through one-byte tokens on two pipes ("I got
 * here", "go on"). Children never call CUnit. Any thread of a child may
 * call pu_child_fail; the token functions are for one thread at a time.
 *
 * In the parent, a test with children alive must not leave through a fatal
 * CUnit assertion (a longjmp): the PU_CHECK / PU_RC / PU_OK assertions
 * record a failure and return false, and the test then goes to its cleanup,
 * which calls pu_reap on every child (kill if running, then wait).
 */
#ifndef MMS_PROCUTIL_H
#define MMS_PROCUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "testutil.h"

/* How long anyone waits for another process: generous, for valgrind, the
 * sanitizers and a loaded machine. Reaching it is a failure, never a
 * normal path. */
#define PU_WAIT_MS 120000

/* ---- non-fatal assertions in the parent --------------------------------- */

/* Records a failed assertion with a printf-style message; returns false. */
bool pu_fail_at(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Records a passed assertion; returns true. */
bool pu_pass_at(const char *file, int line, const char *what);

/* Checks that a call returned expected; the failure message names the
 * call, both codes and mms_errmsg(). */
bool pu_rc_is_at(const char *file, int line, const char *call, int rc,
                 int expected);

#define PU_CHECK(cond, ...)                                                  \
    ((cond) ? pu_pass_at(__FILE__, __LINE__, #cond)                          \
            : pu_fail_at(__FILE__, __LINE__, __VA_ARGS__))
#define PU_RC(expected, call)                                                \
    pu_rc_is_at(__FILE__, __LINE__, #call, (call), (expected))
#define PU_OK(call) PU_RC(MMS_OK, call)

/* ---- time --------------------------------------------------------------- */

/* CLOCK_MONOTONIC in nanoseconds: one clock for every process of the
 * machine, so children can stamp events the parent compares. */
int64_t pu_now_ns(void);

/* Milliseconds from start_ns (a pu_now_ns() value) to now. */
double pu_ms_since(int64_t start_ns);

/* Sleeps ms milliseconds (resuming after signals). */
void pu_sleep_ms(int ms);

/* RUNNING_ON_VALGRIND: non-zero under valgrind (from valgrind's own header
 * when it is installed, else always 0), for tests whose timing valgrind
 * changes. */
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

/* ---- the child's side --------------------------------------------------- */

/* Reports why the child failed (to the parent's assertion message) and
 * leaves with _exit(1). */
__attribute__((format(printf, 1, 2), noreturn))
void pu_child_fail(const char *fmt, ...);

/* pu_child_fail unless rc is expected. */
void pu_child_rc_is(int rc, int expected, const char *what);

/* pu_child_fail unless rc is MMS_OK. */
void pu_child_ok(int rc, const char *what);

/* Sends a token to the parent. */
void pu_child_send(char token);

/* Waits (up to PU_WAIT_MS) for a token from the parent and fails if it is
 * another one or the parent went away. */
void pu_child_expect(char token);

/* Waits up to timeout_ms for a token from the parent; returns it, or 0 if
 * none came in time. Fails if the parent went away. */
char pu_child_poll(int timeout_ms);

/* In a grandchild forked by a child: closes the pipes it inherited, so
 * the parent sees its child's exit (EOF) even while the grandchild lives.
 * A grandchild that has called this must not use the functions above. */
void pu_child_detach(void);

/* ---- the parent's side -------------------------------------------------- */

typedef struct pu_child {
    const char *what;  /* for messages: "lock holder" */
    pid_t pid;         /* 0 once reaped */
    int to_child;      /* parent's end of the token pipe to the child */
    int from_child;    /* parent's end of the token pipe from the child */
    int err;           /* parent's end of the child's error pipe */
    char msg[2048];    /* what the child wrote to its error pipe */
    size_t msglen;
} pu_child;

#define PU_CHILD_INIT { NULL, 0, -1, -1, -1, "", 0 }

/* A child's body: runs in the child, which then leaves with _exit(0). */
typedef void (*pu_child_fn)(void *arg);

/* Forks a child that runs fn(arg). Checked: false (and a failure
 * recorded) if it could not start. */
bool pu_start_at(const char *file, int line, pu_child *c, const char *what,
                 pu_child_fn fn, void *arg);

/* Waits for the token the child sends when it reaches event; if the child
 * died or sent another token, records why (with its message) and reaps
 * it. */
bool pu_wait_for_at(const char *file, int line, pu_child *c, char token,
                    const char *event);

/* As pu_wait_for_at, but gives up after timeout_ms: 1 when the token came,
 * 0 when nothing came in time (not a failure), -1 after a recorded failure
 * (the child died or sent another token). */
int pu_poll_for_at(const char *file, int line, pu_child *c, char token,
                   const char *event, int timeout_ms);

/* Sends a token to the child. */
bool pu_tell_at(const char *file, int line, pu_child *c, char token);

/* Waits for the child to exit and checks it exited with status 0. */
bool pu_finish_at(const char *file, int line, pu_child *c);

/* Kills the child with SIGKILL, waits for it, and checks that the kill is
 * what ended it. When this returns true the child's descriptors are all
 * closed (the kernel has dropped its locks). */
bool pu_kill_at(const char *file, int line, pu_child *c);

/* Kills (if still running) and reaps a child and closes the parent's ends.
 * Safe on a child that never started or was already reaped. */
void pu_reap(pu_child *c);

#define PU_START(c, what, fn, arg)                                           \
    pu_start_at(__FILE__, __LINE__, (c), (what), (fn), (arg))
#define PU_WAIT_FOR(c, token, event)                                         \
    pu_wait_for_at(__FILE__, __LINE__, (c), (token), (event))
#define PU_POLL_FOR(c, token, event, ms)                                     \
    pu_poll_for_at(__FILE__, __LINE__, (c), (token), (event), (ms))
#define PU_TELL(c, token) pu_tell_at(__FILE__, __LINE__, (c), (token))
#define PU_FINISH(c) pu_finish_at(__FILE__, __LINE__, (c))
#define PU_KILL(c) pu_kill_at(__FILE__, __LINE__, (c))

#endif
