/*
 * test_multiproc.c - several real processes on one store: attaching by
 * name with zero copies (forked children with their own store handle, and
 * mms-testhelper started with fork + exec), writers killed with SIGKILL
 * before and after a sync, writer presence as mms_stat sees it, and two
 * writers syncing disjoint rows.
 *
 * Children report through pipes: a one-byte token says "I got here", and a
 * failing child writes its reason to an error pipe before _exit(1), so the
 * parent's assertion message says what went wrong in the child. Children
 * never call CUnit and always leave with _exit. Every child is waited for,
 * and killed first if a test gives up on it.
 */
#define _GNU_SOURCE
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* How long anyone waits for another process: generous, for valgrind and a
 * loaded machine. Reaching it is a failure, never a normal path. */
#define WAIT_MS 120000

static const char *argv0;

/* ---- assertions that do not stop the test ------------------------------
 * A test that has children alive must not leave through a fatal CUnit
 * assertion (a longjmp): it records the failure and goes to its cleanup. */

static bool fail_at(int line, const char *fmt, ...)
{
    char msg[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    CU_assertImplementation(CU_FALSE, (unsigned)line, msg, __FILE__, "",
                            CU_FALSE);
    return false;
}

#define CHECK(cond, ...)                                                     \
    ((cond) ? (CU_assertImplementation(CU_TRUE, __LINE__, #cond, __FILE__,   \
                                       "", CU_FALSE), true)                  \
            : fail_at(__LINE__, __VA_ARGS__))

static bool rc_is_at(int line, const char *call, int rc, int expected)
{
    if (rc == expected) {
        CU_assertImplementation(CU_TRUE, (unsigned)line, call, __FILE__, "",
                                CU_FALSE);
        return true;
    }
    return fail_at(line, "%s returned %d (%s: %s), expected %d (%s)", call,
                   rc, mms_strerror(rc), mms_errmsg(), expected,
                   mms_strerror(expected));
}

#define RC_IS(expected, call) rc_is_at(__LINE__, #call, (call), (expected))
#define OK(call) RC_IS(MMS_OK, call)

static const char *state_name(mms_state state)
{
    switch (state) {
    case MMS_STATE_CLEAN: return "CLEAN";
    case MMS_STATE_WRITING: return "WRITING";
    case MMS_STATE_INTERRUPTED: return "INTERRUPTED";
    case MMS_STATE_STAGED: return "STAGED";
    }
    return "(not a state)";
}

/* Checks that mms_stat reports state for name; when says why. */
static bool state_is_at(int line, mms_store *store, const char *name,
                        mms_state want, const char *when)
{
    mms_info info;
    int rc = mms_stat(store, name, &info);
    if (rc != MMS_OK)
        return fail_at(line, "%s: mms_stat('%s') returned %d (%s: %s)", when,
                       name, rc, mms_strerror(rc), mms_errmsg());
    if (info.state != want)
        return fail_at(line, "%s: mms_stat('%s') says state %s (%d), "
                       "expected %s", when, name, state_name(info.state),
                       (int)info.state, state_name(want));
    CU_assertImplementation(CU_TRUE, (unsigned)line, when, __FILE__, "",
                            CU_FALSE);
    return true;
}

#define STATE_IS(store, name, want, when)                                    \
    state_is_at(__LINE__, (store), (name), (want), (when))

/* ---- children ---------------------------------------------------------- */

typedef struct child {
    const char *what;    /* for messages: "writer child" */
    pid_t pid;           /* 0 once reaped */
    int to_child;        /* parent's end of the token pipe to the child */
    int from_child;      /* parent's end of the token pipe from the child */
    int err;             /* parent's end of the child's error pipe */
    char msg[2048];      /* what the child wrote to its error pipe */
    size_t msglen;
} child;

#define CHILD_INIT { NULL, 0, -1, -1, -1, "", 0 }

/* The child's ends, valid in a child only. */
static int child_in = -1, child_out = -1, child_err = -1;

static void write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        buf += n;
        len -= (size_t)n;
    }
}

/* In a child: report why it failed and leave. */
__attribute__((format(printf, 1, 2), noreturn))
static void child_fail(const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    if ((size_t)n >= sizeof msg)
        n = (int)sizeof msg - 1;
    write_all(child_err, msg, (size_t)n);
    _exit(1);
}

static void child_rc(int rc, const char *what)
{
    if (rc != MMS_OK)
        child_fail("%s returned %d (%s: %s)", what, rc, mms_strerror(rc),
                   mms_errmsg());
}

static void child_send(char token)
{
    ssize_t n;
    do
        n = write(child_out, &token, 1);
    while (n < 0 && errno == EINTR);
    if (n != 1)
        child_fail("sending '%c' to the parent: %s", token,
                   n < 0 ? strerror(errno) : "short write");
}

static void child_expect(char token)
{
    struct pollfd p = { .fd = child_in, .events = POLLIN };
    int r;
    do
        r = poll(&p, 1, WAIT_MS);
    while (r < 0 && errno == EINTR);
    if (r == 0)
        child_fail("waited %d ms for '%c' from the parent", WAIT_MS, token);
    char got;
    ssize_t n;
    do
        n = read(child_in, &got, 1);
    while (n < 0 && errno == EINTR);
    if (n != 1)
        child_fail("waiting for '%c' from the parent: %s", token,
                   n < 0 ? strerror(errno) : "the pipe was closed");
    if (got != token)
        child_fail("expected '%c' from the parent, got '%c'", token, got);
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* Reads what the child wrote to its error pipe until EOF (the child and
 * everything it exec'd have exited) or timeout_ms. True at EOF. */
static bool drain_err(child *c, int timeout_ms)
{
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    while (c->err >= 0) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        long elapsed = (now.tv_sec - start.tv_sec) * 1000L +
                       (now.tv_nsec - start.tv_nsec) / 1000000L;
        if (elapsed >= timeout_ms)
            return false;
        struct pollfd p = { .fd = c->err, .events = POLLIN };
        int r = poll(&p, 1, (int)(timeout_ms - elapsed));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return r == 0 ? false : true;
        char buf[512];
        ssize_t n = read(c->err, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            close_fd(&c->err);
            return true;
        }
        size_t room = sizeof c->msg - 1 - c->msglen;
        size_t take = (size_t)n < room ? (size_t)n : room;
        memcpy(c->msg + c->msglen, buf, take);
        c->msglen += take;
        c->msg[c->msglen] = '\0';
    }
    return true;
}

/* Kills (if still running) and reaps a child; closes the parent's ends.
 * Safe to call on a child that never started or was already reaped. */
static void child_reap(child *c)
{
    if (c->pid > 0) {
        kill(c->pid, SIGKILL);
        while (waitpid(c->pid, NULL, 0) < 0 && errno == EINTR)
            ;
        c->pid = 0;
    }
    close_fd(&c->to_child);
    close_fd(&c->from_child);
    close_fd(&c->err);
}

static const char *child_msg(child *c)
{
    return c->msglen ? c->msg : "(it wrote no message)";
}

/* Starts a child that runs fn(store_path, arg) and then _exit(0); fn
 * leaves through child_fail on any failure. */
static bool child_start_at(int line, child *c, const char *what,
                           void (*fn)(const char *store_path, void *arg),
                           const char *store_path, void *arg)
{
    int down[2], up[2], err[2];
    c->what = what;
    if (pipe2(down, O_CLOEXEC) != 0)
        return fail_at(line, "pipe for %s: %s", what, strerror(errno));
    if (pipe2(up, O_CLOEXEC) != 0) {
        close(down[0]);
        close(down[1]);
        return fail_at(line, "pipe for %s: %s", what, strerror(errno));
    }
    if (pipe2(err, O_CLOEXEC) != 0) {
        close(down[0]);
        close(down[1]);
        close(up[0]);
        close(up[1]);
        return fail_at(line, "pipe for %s: %s", what, strerror(errno));
    }
    fflush(NULL); /* nothing buffered may be written twice */
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(down[0]);
        close(down[1]);
        close(up[0]);
        close(up[1]);
        close(err[0]);
        close(err[1]);
        return fail_at(line, "fork for %s: %s", what, strerror(e));
    }
    if (pid == 0) {
        close(down[1]);
        close(up[0]);
        close(err[0]);
        child_in = down[0];
        child_out = up[1];
        child_err = err[1];
        fn(store_path, arg);
        _exit(0);
    }
    close(down[0]);
    close(up[1]);
    close(err[1]);
    c->pid = pid;
    c->to_child = down[1];
    c->from_child = up[0];
    c->err = err[0];
    c->msglen = 0;
    c->msg[0] = '\0';
    return true;
}

#define CHILD_START(c, what, fn, path, arg)                                  \
    child_start_at(__LINE__, (c), (what), (fn), (path), (arg))

/* Waits for the token the child sends when it reaches a point. */
static bool child_wait_for_at(int line, child *c, char token,
                              const char *event)
{
    struct pollfd p = { .fd = c->from_child, .events = POLLIN };
    int r;
    do
        r = poll(&p, 1, WAIT_MS);
    while (r < 0 && errno == EINTR);
    if (r == 0) {
        child_reap(c);
        return fail_at(line, "%s: no sign of '%s' after %d ms", c->what,
                       event, WAIT_MS);
    }
    char got = 0;
    ssize_t n;
    do
        n = read(c->from_child, &got, 1);
    while (n < 0 && errno == EINTR);
    if (n == 1 && got == token)
        return true;
    /* The child died or failed: its reason is in the error pipe. */
    drain_err(c, WAIT_MS);
    child_reap(c);
    if (n == 1)
        return fail_at(line, "%s: expected '%c' (%s), got '%c': %s", c->what,
                       token, event, got, child_msg(c));
    return fail_at(line, "%s failed before '%s': %s", c->what, event,
                   child_msg(c));
}

#define CHILD_WAIT_FOR(c, token, event)                                      \
    child_wait_for_at(__LINE__, (c), (token), (event))

static bool child_tell_at(int line, child *c, char token)
{
    ssize_t n;
    do
        n = write(c->to_child, &token, 1);
    while (n < 0 && errno == EINTR);
    if (n == 1)
        return true;
    drain_err(c, WAIT_MS);
    child_reap(c);
    return fail_at(line, "telling %s '%c': %s; the child said: %s", c->what,
                   token, n < 0 ? strerror(errno) : "short write",
                   child_msg(c));
}

#define CHILD_TELL(c, token) child_tell_at(__LINE__, (c), (token))

/* Waits for the child to exit and checks it exited with status 0. */
static bool child_finish_at(int line, child *c)
{
    close_fd(&c->to_child);
    if (!drain_err(c, WAIT_MS)) {
        child_reap(c);
        return fail_at(line, "%s did not exit within %d ms", c->what,
                       WAIT_MS);
    }
    int status;
    pid_t r;
    while ((r = waitpid(c->pid, &status, 0)) < 0 && errno == EINTR)
        ;
    c->pid = 0;
    child_reap(c);
    if (r < 0)
        return fail_at(line, "waitpid for %s: %s", c->what, strerror(errno));
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return true;
    if (WIFSIGNALED(status))
        return fail_at(line, "%s was killed by signal %d (%s): %s", c->what,
                       WTERMSIG(status), strsignal(WTERMSIG(status)),
                       child_msg(c));
    return fail_at(line, "%s exited with status %d: %s", c->what,
                   WEXITSTATUS(status), child_msg(c));
}

#define CHILD_FINISH(c) child_finish_at(__LINE__, (c))

/* Kills the child with SIGKILL and checks that is what ended it. */
static bool child_kill_at(int line, child *c)
{
    if (kill(c->pid, SIGKILL) != 0)
        return fail_at(line, "kill %s: %s", c->what, strerror(errno));
    int status;
    pid_t r;
    while ((r = waitpid(c->pid, &status, 0)) < 0 && errno == EINTR)
        ;
    c->pid = 0;
    drain_err(c, 1000); /* a message it wrote before the kill, if any */
    child_reap(c);
    if (r < 0)
        return fail_at(line, "waitpid for %s: %s", c->what, strerror(errno));
    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
        return fail_at(line, "%s ended before SIGKILL (status 0x%x): %s",
                       c->what, status, child_msg(c));
    return true;
}

#define CHILD_KILL(c) child_kill_at(__LINE__, (c))

/* ---- data patterns ----------------------------------------------------- */

#define SHARE_ROWS 64
#define SHARE_COLS 100
#define SHARE_BYTES ((size_t)SHARE_ROWS * SHARE_COLS)

/* What the parent writes at byte i of the shared uint8 array. */
static unsigned char share_byte(size_t i)
{
    return (unsigned char)(i * 31u + 7u);
}

/* The bytes a child changes (it flips every bit of them): the first and
 * last, both sides of a page boundary, and all of row 10. */
static bool share_changed(size_t i)
{
    return i <= 1 || i == 4095 || i == 4096 || i == 4097 ||
           i == SHARE_BYTES - 1 ||
           (i >= 10 * SHARE_COLS && i < 11 * SHARE_COLS);
}

/* Creates the store with array "shared" holding share_byte(i), synced. */
static bool make_shared_array(const char *path, mms_store **store,
                              mms_array **array)
{
    uint64_t shape[2] = { SHARE_ROWS, SHARE_COLS };
    if (!OK(mms_store_open(path, MMS_CREATE, store)))
        return false;
    if (!OK(mms_array_create(*store, "shared", MMS_UINT8, 2, shape, 0,
                             array)))
        return false;
    unsigned char *d = mms_array_data(*array);
    for (size_t i = 0; i < SHARE_BYTES; i++)
        d[i] = share_byte(i);
    return OK(mms_array_sync(*array));
}

/* ---- 1. a forked child attaches by name -------------------------------- */

static void child_share(const char *store_path, void *arg)
{
    (void)arg;
    mms_store *s;
    mms_array *a;
    mms_info info;
    /* Its own store handle: the parent's must not be used after fork. */
    child_rc(mms_store_open(store_path, 0, &s), "mms_store_open in the child");
    child_rc(mms_array_open(s, "shared", MMS_RDWR, &a),
             "mms_array_open('shared', MMS_RDWR) in the child");
    child_rc(mms_array_info(a, &info), "mms_array_info in the child");
    if (info.nbytes != SHARE_BYTES || info.dtype != MMS_UINT8)
        child_fail("child sees nbytes %" PRIu64 " dtype %d, expected %zu "
                   "uint8", info.nbytes, (int)info.dtype, SHARE_BYTES);
    unsigned char *d = mms_array_data(a);
    for (size_t i = 0; i < SHARE_BYTES; i++) {
        if (d[i] != share_byte(i))
            child_fail("child reads byte %zu as %u, the parent wrote %u", i,
                       d[i], share_byte(i));
    }
    for (size_t i = 0; i < SHARE_BYTES; i++) {
        if (share_changed(i))
            d[i] = (unsigned char)(share_byte(i) ^ 0xffu);
    }
    child_send('w');   /* written, handle still open */
    child_expect('c'); /* the parent has looked: close now */
    child_rc(mms_array_close(a), "mms_array_close in the child");
    child_rc(mms_store_close(s), "mms_store_close in the child");
}

/* Compares the parent's mapping with the pattern, changed or not. */
static bool shared_bytes_are(const unsigned char *d, bool changed,
                             const char *when)
{
    for (size_t i = 0; i < SHARE_BYTES; i++) {
        unsigned char want = share_byte(i);
        if (changed && share_changed(i))
            want ^= 0xffu;
        if (d[i] != want)
            return fail_at(__LINE__, "%s: parent's mapping has byte %zu = %u, "
                           "expected %u", when, i, d[i], want);
    }
    return true;
}

static void test_forked_child_with_own_store_handle_shares_the_mapping(void)
{
    const char *path = tu_store_path();
    mms_store *s = NULL;
    mms_array *a = NULL;
    child c = CHILD_INIT;
    if (!make_shared_array(path, &s, &a))
        goto out;
    unsigned char *d = mms_array_data(a);
    if (!CHILD_START(&c, "attaching child", child_share, path, NULL))
        goto out;
    if (!CHILD_WAIT_FOR(&c, 'w', "checked the parent's bytes and wrote"))
        goto out;
    /* The child still has the array open: what the parent sees now came
     * through the shared page cache, not through a copy or a reopen. */
    CHECK(mms_array_data(a) == d, "the parent's data pointer moved");
    shared_bytes_are(d, true, "while the child holds the array open");
    if (!CHILD_TELL(&c, 'c'))
        goto out;
    if (!CHILD_FINISH(&c))
        goto out;
    shared_bytes_are(d, true, "after the child closed");
out:
    child_reap(&c);
    mms_array_close(a);
    mms_store_close(s);
}

/* ---- 1b. a child started with fork + exec (mms-testhelper) ------------- */

/* Sets out to dir + suffix and tells whether that is an executable. */
static bool helper_at(char *out, size_t size, const char *dir,
                      const char *suffix)
{
    int n = snprintf(out, size, "%s%s", dir, suffix);
    return n > 0 && (size_t)n < size && access(out, X_OK) == 0;
}

static bool find_helper(char *out, size_t size)
{
    const char *top = getenv("top_builddir");
    if (top && *top && helper_at(out, size, top, "/tests/mms-testhelper"))
        return true;
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", argv0 ? argv0 : "./");
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    /* Under libtool the real program may run from tests/.libs/, and the
     * helper's wrapper is in tests/. */
    if (helper_at(out, size, dir, "/mms-testhelper") ||
        helper_at(out, size, dir, "/../mms-testhelper"))
        return true;
    return fail_at(__LINE__, "cannot find mms-testhelper: not in "
                   "$top_builddir/tests (top_builddir=%s) nor beside %s",
                   top ? top : "(unset)", argv0 ? argv0 : "(unknown)");
}

/* Runs the helper with args (NULL-terminated, after the program name),
 * collects its stdout into *out (malloc'ed, NUL-terminated; the caller
 * frees it) and checks it exits 0. */
static bool run_helper_at(int line, const char *helper, const char **args,
                          char **out)
{
    const char *argv[16];
    int n = 0;
    argv[n++] = helper;
    for (int i = 0; args[i] && n < 15; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    *out = NULL;

    child c = CHILD_INIT;
    c.what = "mms-testhelper";
    int outp[2], errp[2];
    if (pipe2(outp, O_CLOEXEC) != 0)
        return fail_at(line, "pipe: %s", strerror(errno));
    if (pipe2(errp, O_CLOEXEC) != 0) {
        close(outp[0]);
        close(outp[1]);
        return fail_at(line, "pipe: %s", strerror(errno));
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(outp[0]);
        close(outp[1]);
        close(errp[0]);
        close(errp[1]);
        return fail_at(line, "fork: %s", strerror(e));
    }
    if (pid == 0) {
        /* dup2 clears close-on-exec on the copies. */
        if (dup2(outp[1], STDOUT_FILENO) < 0 ||
            dup2(errp[1], STDERR_FILENO) < 0)
            _exit(126);
        execv(helper, (char *const *)argv);
        char msg[PATH_MAX + 64];
        int len = snprintf(msg, sizeof msg, "exec %s: %s", helper,
                           strerror(errno));
        write_all(STDERR_FILENO, msg, (size_t)len);
        _exit(127);
    }
    close(outp[1]);
    close(errp[1]);
    c.pid = pid;
    c.err = errp[0];

    size_t cap = 65536, len = 0;
    char *buf = malloc(cap);
    bool ok = buf != NULL;
    for (;;) {
        if (!ok)
            break;
        struct pollfd p = { .fd = outp[0], .events = POLLIN };
        int r = poll(&p, 1, WAIT_MS);
        if (r < 0 && errno == EINTR)
            continue;
        if (r == 0) {
            ok = fail_at(line, "%s %s: no output for %d ms", helper,
                         args[1], WAIT_MS);
            break;
        }
        if (len + 4096 + 1 > cap) {
            char *bigger = realloc(buf, cap * 2);
            if (!bigger) {
                ok = fail_at(line, "out of memory reading the helper");
                break;
            }
            buf = bigger;
            cap *= 2;
        }
        ssize_t got = read(outp[0], buf + len, 4096);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        len += (size_t)got;
    }
    close(outp[0]);
    if (!ok) {
        free(buf);
        child_reap(&c);
        return false;
    }
    buf[len] = '\0';
    char what[256];
    snprintf(what, sizeof what, "mms-testhelper %s %s", args[1],
             args[2] ? args[2] : "");
    c.what = what;
    if (!child_finish_at(line, &c)) {
        free(buf);
        return false;
    }
    *out = buf;
    return true;
}

#define RUN_HELPER(helper, out, ...)                                         \
    run_helper_at(__LINE__, (helper), (const char *[]){ __VA_ARGS__, NULL },  \
                  (out))

static void test_exec_helper_shares_the_mapping(void)
{
    char helper[PATH_MAX];
    const char *path = tu_store_path();
    mms_store *s = NULL;
    mms_array *a = NULL;
    char *out = NULL;
    if (!find_helper(helper, sizeof helper))
        goto out;
    if (!make_shared_array(path, &s, &a))
        goto out;
    unsigned char *d = mms_array_data(a);

    /* The exec'd process attaches by name and sees the parent's bytes. */
    if (!RUN_HELPER(helper, &out, path, "dump", "shared"))
        goto out;
    char *line = out;
    size_t i = 0;
    for (; i < SHARE_BYTES && *line; i++) {
        char *end;
        unsigned long v = strtoul(line, &end, 10);
        if (end == line || *end != '\n') {
            fail_at(__LINE__, "mms-testhelper dump: line %zu is not a number",
                    i + 1);
            goto out;
        }
        if (!CHECK(v == share_byte(i), "mms-testhelper dump: element %zu is "
                   "%lu, the parent wrote %u", i, v, share_byte(i)))
            goto out;
        line = end + 1;
    }
    CHECK(i == SHARE_BYTES && *line == '\0', "mms-testhelper dump printed "
          "%zu elements%s, expected %zu", i, *line ? " and more" : "",
          SHARE_BYTES);
    free(out);
    out = NULL;

    /* The parent holds the array open for writing; another process sees
     * that as a writer present. */
    if (RUN_HELPER(helper, &out, path, "stat", "shared")) {
        CHECK(strstr(out, "\nstate=writing\n") != NULL, "mms-testhelper stat "
              "while the parent holds the array RDWR printed:\n%s", out);
        free(out);
        out = NULL;
    }

    /* The exec'd process writes through its mapping; the parent sees the
     * bytes through its own mapping, never reopened. */
    unsigned char want1 = (unsigned char)(share_byte(4097) ^ 0xffu);
    unsigned char want2 = (unsigned char)(share_byte(SHARE_BYTES - 1) ^ 0x0fu);
    char off1[32], val1[8], off2[32], val2[8];
    snprintf(off1, sizeof off1, "%d", 4097);
    snprintf(val1, sizeof val1, "%u", want1);
    snprintf(off2, sizeof off2, "%zu", SHARE_BYTES - 1);
    snprintf(val2, sizeof val2, "%u", want2);
    if (!RUN_HELPER(helper, &out, path, "write", "shared", off1, val1))
        goto out;
    free(out);
    out = NULL;
    if (!RUN_HELPER(helper, &out, path, "write", "shared", off2, val2))
        goto out;
    free(out);
    out = NULL;
    CHECK(mms_array_data(a) == d, "the parent's data pointer moved");
    CHECK(d[4097] == want1, "byte 4097 in the parent's mapping is %u after "
          "mms-testhelper wrote %u", d[4097], want1);
    CHECK(d[SHARE_BYTES - 1] == want2, "last byte in the parent's mapping is "
          "%u after mms-testhelper wrote %u", d[SHARE_BYTES - 1], want2);
    CHECK(d[4096] == share_byte(4096) && d[4098] == share_byte(4098),
          "bytes beside the one mms-testhelper wrote changed");

    /* The helper's close synced its write: the whole array verifies. */
    if (RUN_HELPER(helper, &out, path, "verify", "shared")) {
        CHECK(out[0] == '\0', "mms-testhelper verify printed:\n%s", out);
    }
out:
    free(out);
    mms_array_close(a);
    mms_store_close(s);
}

/* ---- 2 and 3. writers killed with SIGKILL ------------------------------ */

/* The crash tests use 4 KiB checksum blocks and an int64 array of
 * KROWS x KCOLS: 64 rows a block, 16 blocks. */
#define KBLOCK 4096u
#define KROWS 1024u
#define KCOLS 8u
#define KROWS_PER_BLOCK (KBLOCK / (KCOLS * 8u))

static int64_t synced_value(uint64_t i)
{
    return (int64_t)(i * 2654435761u) - 12345;
}

/* Creates store and a zero-filled, closed (clean) "data" array with
 * 4 KiB blocks. */
static bool make_crash_store(const char *path, mms_store **store)
{
    uint64_t shape[2] = { KROWS, KCOLS };
    mms_array *a = NULL;
    bool ok = OK(mms_store_set_default_block_size(KBLOCK)) &&
              OK(mms_store_open(path, MMS_CREATE, store));
    mms_store_set_default_block_size(1u << 20);
    if (!ok)
        return false;
    if (!CHECK(mms_store_block_size(*store) == KBLOCK, "store block size is "
               "%" PRIu64 ", expected %u", mms_store_block_size(*store),
               KBLOCK))
        return false;
    if (!OK(mms_array_create(*store, "data", MMS_INT64, 2, shape, 0, &a)))
        return false;
    return OK(mms_array_close(a)) &&
           STATE_IS(*store, "data", MMS_STATE_CLEAN, "after create + close");
}

static void child_write_sync_then_wait(const char *store_path, void *arg)
{
    (void)arg;
    mms_store *s;
    mms_array *a;
    child_rc(mms_store_open(store_path, 0, &s), "mms_store_open in the child");
    child_rc(mms_array_open(s, "data", MMS_RDWR, &a),
             "mms_array_open('data', MMS_RDWR) in the child");
    int64_t *d = mms_array_data(a);
    for (uint64_t i = 0; i < (uint64_t)KROWS * KCOLS; i++)
        d[i] = synced_value(i);
    child_rc(mms_array_sync(a), "mms_array_sync in the child");
    child_send('s');
    child_expect('x'); /* never sent: the parent kills us here */
    child_fail("the parent sent 'x' instead of killing the child");
}

typedef struct mismatches {
    int n;
    bool name_ok;
    uint64_t block[64], first_row[64], nrows[64];
} mismatches;

static int collect_mismatch(const char *name, uint64_t block,
                            uint64_t first_row, uint64_t nrows, void *ctx)
{
    mismatches *m = ctx;
    if (!name || strcmp(name, "data") != 0)
        m->name_ok = false;
    if (m->n < 64) {
        m->block[m->n] = block;
        m->first_row[m->n] = first_row;
        m->nrows[m->n] = nrows;
    }
    m->n++;
    return 0;
}

static void test_writer_killed_after_sync_is_interrupted_and_verifies(void)
{
    const char *path = tu_store_path();
    mms_store *s = NULL;
    mms_array *a = NULL;
    child c = CHILD_INIT;
    if (!make_crash_store(path, &s))
        goto out;
    if (!CHILD_START(&c, "writer child", child_write_sync_then_wait, path,
                     NULL))
        goto out;
    if (!CHILD_WAIT_FOR(&c, 's', "wrote and synced"))
        goto out;
    STATE_IS(s, "data", MMS_STATE_WRITING, "while the writer child lives");
    if (!CHILD_KILL(&c))
        goto out;

    STATE_IS(s, "data", MMS_STATE_INTERRUPTED,
             "after the writer was killed with SIGKILL");
    mismatches m = { .name_ok = true };
    RC_IS(MMS_OK, mms_verify(s, "data", collect_mismatch, &m));
    CHECK(m.n == 0, "mms_verify reported %d mismatching blocks (first: "
          "block %" PRIu64 ") in data that was synced before the kill", m.n,
          m.block[0]);

    /* Synced data is all there. */
    if (OK(mms_array_open(s, "data", MMS_RDONLY, &a))) {
        const int64_t *d = mms_array_data(a);
        for (uint64_t i = 0; i < (uint64_t)KROWS * KCOLS; i++) {
            if (!CHECK(d[i] == synced_value(i), "element %" PRIu64 " is %"
                       PRId64 " after the kill, the child synced %" PRId64,
                       i, d[i], synced_value(i)))
                break;
        }
        OK(mms_array_close(a));
        a = NULL;
    }

out:
    child_reap(&c);
    mms_array_close(a);
    mms_store_close(s);
}

/* Rows the unsynced writer changes, and the blocks that hold them. */
static const uint64_t unsynced_rows[] = { 200, 700, 701, 702, 703, 704, 705,
                                          KROWS - 1 };
#define N_UNSYNCED_ROWS (sizeof unsynced_rows / sizeof unsynced_rows[0])
static const uint64_t unsynced_blocks[] = { 3, 10, 11, 15 };
#define N_UNSYNCED_BLOCKS (sizeof unsynced_blocks / sizeof unsynced_blocks[0])

static int64_t unsynced_value(uint64_t row, uint64_t col)
{
    return (int64_t)(row * 1000 + col + 1);
}

static void child_write_no_sync_then_wait(const char *store_path, void *arg)
{
    (void)arg;
    mms_store *s;
    mms_array *a;
    child_rc(mms_store_open(store_path, 0, &s), "mms_store_open in the child");
    child_rc(mms_array_open(s, "data", MMS_RDWR, &a),
             "mms_array_open('data', MMS_RDWR) in the child");
    int64_t *d = mms_array_data(a);
    for (size_t r = 0; r < N_UNSYNCED_ROWS; r++) {
        for (uint64_t col = 0; col < KCOLS; col++)
            d[unsynced_rows[r] * KCOLS + col] =
                unsynced_value(unsynced_rows[r], col);
    }
    child_send('w'); /* written, not synced */
    child_expect('x');
    child_fail("the parent sent 'x' instead of killing the child");
}

static bool is_unsynced_row(uint64_t row)
{
    for (size_t r = 0; r < N_UNSYNCED_ROWS; r++) {
        if (unsynced_rows[r] == row)
            return true;
    }
    return false;
}

static void test_writer_killed_before_sync_is_interrupted_and_verify_names_blocks(void)
{
    const char *path = tu_store_path();
    mms_store *s = NULL;
    mms_array *a = NULL;
    child c = CHILD_INIT;
    if (!make_crash_store(path, &s))
        goto out;
    if (!CHILD_START(&c, "unsynced writer child",
                     child_write_no_sync_then_wait, path, NULL))
        goto out;
    if (!CHILD_WAIT_FOR(&c, 'w', "wrote without syncing"))
        goto out;
    if (!CHILD_KILL(&c))
        goto out;

    STATE_IS(s, "data", MMS_STATE_INTERRUPTED,
             "after the unsynced writer was killed with SIGKILL");

    /* The page cache outlives the process: the unsynced writes are in the
     * file, so they no longer match the checksums of the zero-filled
     * array. */
    if (OK(mms_array_open(s, "data", MMS_RDONLY, &a))) {
        const int64_t *d = mms_array_data(a);
        for (uint64_t row = 0; row < KROWS; row++) {
            int64_t want = is_unsynced_row(row) ? unsynced_value(row, 3) : 0;
            if (!CHECK(d[row * KCOLS + 3] == want, "row %" PRIu64 " column 3 "
                       "is %" PRId64 " after the kill, expected %" PRId64,
                       row, d[row * KCOLS + 3], want))
                break;
        }
        OK(mms_array_close(a));
        a = NULL;
    }

    mismatches m = { .name_ok = true };
    RC_IS(MMS_ERR_CHECKSUM, mms_verify(s, "data", collect_mismatch, &m));
    CHECK(m.name_ok, "the verify callback was not given the name 'data'");
    if (CHECK(m.n == (int)N_UNSYNCED_BLOCKS, "mms_verify reported %d "
              "mismatching blocks, expected %zu (3, 10, 11, 15)", m.n,
              N_UNSYNCED_BLOCKS)) {
        for (size_t k = 0; k < N_UNSYNCED_BLOCKS; k++) {
            uint64_t b = unsynced_blocks[k];
            CHECK(m.block[k] == b && m.first_row[k] == b * KROWS_PER_BLOCK &&
                  m.nrows[k] == KROWS_PER_BLOCK,
                  "mismatch %zu is block %" PRIu64 " rows %" PRIu64 "+%"
                  PRIu64 ", expected block %" PRIu64 " rows %" PRIu64 "+%u",
                  k, m.block[k], m.first_row[k], m.nrows[k], b,
                  b * KROWS_PER_BLOCK, KROWS_PER_BLOCK);
        }
    }
    /* Verifying reports; it repairs nothing. */
    STATE_IS(s, "data", MMS_STATE_INTERRUPTED, "after mms_verify");
out:
    child_reap(&c);
    mms_array_close(a);
    mms_store_close(s);
}

/* ---- 4. writer presence ------------------------------------------------ */

static void child_hold_open(const char *store_path, void *arg)
{
    unsigned flags = *(const unsigned *)arg;
    mms_store *s;
    mms_array *a;
    child_rc(mms_store_open(store_path, 0, &s), "mms_store_open in the child");
    child_rc(mms_array_open(s, "data", flags, &a),
             "mms_array_open('data') in the child");
    child_send('o');   /* open */
    child_expect('c'); /* close now */
    child_rc(mms_array_close(a), "mms_array_close in the child");
    child_rc(mms_store_close(s), "mms_store_close in the child");
}

static void test_stat_says_writing_while_a_child_holds_rdwr_and_clean_after(void)
{
    const char *path = tu_store_path();
    mms_store *s = NULL;
    mms_array *a = NULL;
    child reader = CHILD_INIT, writer = CHILD_INIT;
    unsigned rdonly = MMS_RDONLY, rdwr = MMS_RDWR;
    uint64_t shape[1] = { 100 };
    if (!OK(mms_store_open(path, MMS_CREATE, &s)) ||
        !OK(mms_array_create(s, "data", MMS_FLOAT64, 1, shape, 0, &a)))
        goto out;
    OK(mms_array_close(a));
    a = NULL;
    STATE_IS(s, "data", MMS_STATE_CLEAN, "after create + close");

    /* A reader is not a writer. */
    if (!CHILD_START(&reader, "read-only child", child_hold_open, path,
                     &rdonly) ||
        !CHILD_WAIT_FOR(&reader, 'o', "opened the array read-only"))
        goto out;
    STATE_IS(s, "data", MMS_STATE_CLEAN, "while a child holds it RDONLY");

    if (!CHILD_START(&writer, "writer child", child_hold_open, path, &rdwr) ||
        !CHILD_WAIT_FOR(&writer, 'o', "opened the array read-write"))
        goto out;
    STATE_IS(s, "data", MMS_STATE_WRITING, "while a child holds it RDWR");

    if (!CHILD_TELL(&writer, 'c') || !CHILD_FINISH(&writer))
        goto out;
    STATE_IS(s, "data", MMS_STATE_CLEAN,
             "after the writer child closed cleanly");

    if (!CHILD_TELL(&reader, 'c') || !CHILD_FINISH(&reader))
        goto out;
    STATE_IS(s, "data", MMS_STATE_CLEAN, "after the reader child closed");
out:
    child_reap(&writer);
    child_reap(&reader);
    mms_array_close(a);
    mms_store_close(s);
}

/* Two writers that close at the same moment: whichever closes last must
 * find itself the last writer and mark the array clean. Repeated, since
 * the two closes overlap differently each time. */
#define CLOSE_ROUNDS 20

static void child_open_close_rounds(const char *store_path, void *arg)
{
    (void)arg;
    mms_store *s;
    child_rc(mms_store_open(store_path, 0, &s), "mms_store_open in the child");
    for (int round = 0; round < CLOSE_ROUNDS; round++) {
        mms_array *a;
        child_expect('n'); /* the parent has looked at the last round */
        child_rc(mms_array_open(s, "data", MMS_RDWR, &a),
                 "mms_array_open('data', MMS_RDWR) in the child");
        child_send('o');
        child_expect('c');
        child_rc(mms_array_close(a), "mms_array_close in the child");
        child_send('d');
    }
    child_rc(mms_store_close(s), "mms_store_close in the child");
}

static void test_two_writers_closing_at_once_leave_the_array_clean(void)
{
    const char *path = tu_store_path();
    mms_store *s = NULL;
    mms_array *a = NULL;
    child ca = CHILD_INIT, cb = CHILD_INIT;
    uint64_t shape[1] = { 1000 };
    int bad_rounds = 0, first_bad = -1;
    mms_state first_state = MMS_STATE_CLEAN;
    if (!OK(mms_store_open(path, MMS_CREATE, &s)) ||
        !OK(mms_array_create(s, "data", MMS_INT64, 1, shape, 0, &a)))
        goto out;
    OK(mms_array_close(a));
    a = NULL;
    if (!CHILD_START(&ca, "writer A", child_open_close_rounds, path, NULL) ||
        !CHILD_START(&cb, "writer B", child_open_close_rounds, path, NULL))
        goto out;
    for (int round = 0; round < CLOSE_ROUNDS; round++) {
        if (!CHILD_TELL(&ca, 'n') || !CHILD_TELL(&cb, 'n') ||
            !CHILD_WAIT_FOR(&ca, 'o', "opened read-write") ||
            !CHILD_WAIT_FOR(&cb, 'o', "opened read-write") ||
            !CHILD_TELL(&ca, 'c') || !CHILD_TELL(&cb, 'c') ||
            !CHILD_WAIT_FOR(&ca, 'd', "closed") ||
            !CHILD_WAIT_FOR(&cb, 'd', "closed"))
            goto out;
        mms_info info;
        if (!OK(mms_stat(s, "data", &info)))
            goto out;
        if (info.state != MMS_STATE_CLEAN) {
            if (bad_rounds++ == 0) {
                first_bad = round;
                first_state = info.state;
            }
        }
    }
    CHECK(bad_rounds == 0, "after both writers closed, mms_stat said %s "
          "instead of CLEAN in %d of %d rounds (first in round %d): "
          "neither closing writer saw itself as the last one",
          state_name(first_state), bad_rounds, CLOSE_ROUNDS, first_bad);
    if (!CHILD_FINISH(&ca) || !CHILD_FINISH(&cb))
        goto out;
out:
    child_reap(&ca);
    child_reap(&cb);
    mms_array_close(a);
    mms_store_close(s);
}

/* ---- 5. two writers, disjoint rows ------------------------------------- */

/* int32 array of 256 x 16 with 4 KiB blocks: 64 rows a block. Writer A
 * owns rows [0, 100), writer B rows [100, 256): block 1 (rows 64..127)
 * holds rows of both. */
#define TW_ROWS 256u
#define TW_COLS 16u

typedef struct rows_arg {
    uint64_t first, nrows;
    int32_t base;
} rows_arg;

static int32_t tw_value(const rows_arg *r, uint64_t row, uint64_t col)
{
    return r->base + (int32_t)(row * TW_COLS + col);
}

static void child_write_rows(const char *store_path, void *varg)
{
    const rows_arg *r = varg;
    mms_store *s;
    mms_array *a;
    child_rc(mms_store_open(store_path, 0, &s), "mms_store_open in the child");
    child_rc(mms_array_open(s, "data", MMS_RDWR, &a),
             "mms_array_open('data', MMS_RDWR) in the child");
    child_send('o');
    child_expect('g');
    int32_t *d = mms_array_data(a);
    for (uint64_t row = r->first; row < r->first + r->nrows; row++) {
        for (uint64_t col = 0; col < TW_COLS; col++)
            d[row * TW_COLS + col] = tw_value(r, row, col);
    }
    child_send('w');
    child_expect('s');
    child_rc(mms_array_sync_range(a, r->first, r->nrows),
             "mms_array_sync_range of the child's rows");
    child_send('y');
    child_expect('c');
    child_rc(mms_array_close(a), "mms_array_close in the child");
    child_rc(mms_store_close(s), "mms_store_close in the child");
}

static void test_two_writers_sync_disjoint_rows_and_both_writes_verify(void)
{
    const char *path = tu_store_path();
    mms_store *s = NULL;
    mms_array *a = NULL;
    child ca = CHILD_INIT, cb = CHILD_INIT;
    rows_arg ra = { 0, 100, 1000000 }, rb = { 100, TW_ROWS - 100, 2000000 };
    uint64_t shape[2] = { TW_ROWS, TW_COLS };
    bool ok = OK(mms_store_set_default_block_size(4096)) &&
              OK(mms_store_open(path, MMS_CREATE, &s));
    mms_store_set_default_block_size(1u << 20);
    if (!ok || !OK(mms_array_create(s, "data", MMS_INT32, 2, shape, 0, &a)))
        goto out;
    OK(mms_array_close(a));
    a = NULL;

    if (!CHILD_START(&ca, "writer A (rows 0..99)", child_write_rows, path,
                     &ra) ||
        !CHILD_START(&cb, "writer B (rows 100..255)", child_write_rows, path,
                     &rb) ||
        !CHILD_WAIT_FOR(&ca, 'o', "opened read-write") ||
        !CHILD_WAIT_FOR(&cb, 'o', "opened read-write"))
        goto out;
    STATE_IS(s, "data", MMS_STATE_WRITING, "while two writers hold it");
    /* Both write, then both sync their own rows at once: the block they
     * share is hashed by two processes concurrently. */
    if (!CHILD_TELL(&ca, 'g') || !CHILD_TELL(&cb, 'g') ||
        !CHILD_WAIT_FOR(&ca, 'w', "wrote its rows") ||
        !CHILD_WAIT_FOR(&cb, 'w', "wrote its rows") ||
        !CHILD_TELL(&ca, 's') || !CHILD_TELL(&cb, 's') ||
        !CHILD_WAIT_FOR(&ca, 'y', "synced its rows") ||
        !CHILD_WAIT_FOR(&cb, 'y', "synced its rows"))
        goto out;

    /* Before either closes (close would sync everything), the checksums
     * recorded by the two sync_range calls match the data. */
    mismatches m = { .name_ok = true };
    RC_IS(MMS_OK, mms_verify(s, "data", collect_mismatch, &m));
    CHECK(m.n == 0, "mms_verify after both sync_range calls reported %d "
          "mismatching blocks (first: block %" PRIu64 " rows %" PRIu64 "+%"
          PRIu64 ")", m.n, m.block[0], m.first_row[0], m.nrows[0]);

    if (!CHILD_TELL(&ca, 'c') || !CHILD_TELL(&cb, 'c') ||
        !CHILD_FINISH(&ca) || !CHILD_FINISH(&cb))
        goto out;
    STATE_IS(s, "data", MMS_STATE_CLEAN, "after both writers closed");
    m = (mismatches){ .name_ok = true };
    RC_IS(MMS_OK, mms_verify(s, "data", collect_mismatch, &m));
    CHECK(m.n == 0, "mms_verify after both writers closed reported %d "
          "mismatching blocks", m.n);

    if (OK(mms_array_open(s, "data", MMS_RDONLY, &a))) {
        const int32_t *d = mms_array_data(a);
        for (uint64_t row = 0; row < TW_ROWS; row++) {
            const rows_arg *r = row < rb.first ? &ra : &rb;
            for (uint64_t col = 0; col < TW_COLS; col++) {
                int32_t want = tw_value(r, row, col);
                if (!CHECK(d[row * TW_COLS + col] == want, "row %" PRIu64
                           " column %" PRIu64 " is %" PRId32 ", writer %c "
                           "wrote %" PRId32, row, col, d[row * TW_COLS + col],
                           r == &ra ? 'A' : 'B', want))
                    goto out;
            }
        }
    }
out:
    child_reap(&ca);
    child_reap(&cb);
    mms_array_close(a);
    mms_store_close(s);
}

static const tu_test attach_tests[] = {
    { "forked child with its own store handle shares the mapping",
      test_forked_child_with_own_store_handle_shares_the_mapping },
    { "fork + exec'd mms-testhelper shares the mapping",
      test_exec_helper_shares_the_mapping },
    { NULL, NULL }
};

static const tu_test crash_tests[] = {
    { "writer killed after sync: interrupted, and verify passes",
      test_writer_killed_after_sync_is_interrupted_and_verifies },
    { "writer killed before sync: interrupted, verify names its blocks",
      test_writer_killed_before_sync_is_interrupted_and_verify_names_blocks },
    { NULL, NULL }
};

static const tu_test writer_tests[] = {
    { "stat says WRITING while a child holds RDWR, CLEAN after it closes",
      test_stat_says_writing_while_a_child_holds_rdwr_and_clean_after },
    { "two writers sync disjoint rows; both writes verify",
      test_two_writers_sync_disjoint_rows_and_both_writes_verify },
    { "two writers closing at once leave the array CLEAN",
      test_two_writers_closing_at_once_leave_the_array_clean },
    { NULL, NULL }
};

static const tu_suite suites[] = {
    { "attach by name across processes", attach_tests },
    { "writers killed with SIGKILL", crash_tests },
    { "writer presence and concurrent writers", writer_tests },
    { NULL, NULL }
};

int main(int argc, char **argv)
{
    (void)argc;
    argv0 = argv[0];
    /* A child that dies must not kill us through a pipe write. */
    signal(SIGPIPE, SIG_IGN);
    return tu_run(argv[0], suites);
}
