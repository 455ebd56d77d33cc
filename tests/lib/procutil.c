/* procutil.c - forked children for the multi-process CUnit programs. */
#define _GNU_SOURCE
#include "procutil.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- assertions --------------------------------------------------------- */

bool pu_fail_at(const char *file, int line, const char *fmt, ...)
{
    char msg[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    CU_assertImplementation(CU_FALSE, (unsigned)line, msg, file, "",
                            CU_FALSE);
    return false;
}

bool pu_pass_at(const char *file, int line, const char *what)
{
    CU_assertImplementation(CU_TRUE, (unsigned)line, what, file, "",
                            CU_FALSE);
    return true;
}

bool pu_rc_is_at(const char *file, int line, const char *call, int rc,
                 int expected)
{
    if (rc == expected)
        return pu_pass_at(file, line, call);
    return pu_fail_at(file, line, "%s returned %d (%s: %s), expected %d (%s)",
                      call, rc, mms_strerror(rc), mms_errmsg(), expected,
                      mms_strerror(expected));
}

/* ---- time --------------------------------------------------------------- */

int64_t pu_now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

double pu_ms_since(int64_t start_ns)
{
    return (double)(pu_now_ns() - start_ns) / 1e6;
}

void pu_sleep_ms(int ms)
{
    struct timespec t = { ms / 1000, (long)(ms % 1000) * 1000000L };
    while (nanosleep(&t, &t) != 0 && errno == EINTR)
        ;
}

/* ---- the child's side --------------------------------------------------- */

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* The child's ends of its pipes, valid in a child only. */
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

void pu_child_fail(const char *fmt, ...)
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

void pu_child_rc_is(int rc, int expected, const char *what)
{
    if (rc != expected)
        pu_child_fail("%s returned %d (%s: %s), expected %d (%s)", what, rc,
                      mms_strerror(rc), mms_errmsg(), expected,
                      mms_strerror(expected));
}

void pu_child_ok(int rc, const char *what)
{
    pu_child_rc_is(rc, MMS_OK, what);
}

void pu_child_detach(void)
{
    close_fd(&child_in);
    close_fd(&child_out);
    close_fd(&child_err);
}

void pu_child_send(char token)
{
    ssize_t n;
    do
        n = write(child_out, &token, 1);
    while (n < 0 && errno == EINTR);
    if (n != 1)
        pu_child_fail("sending '%c' to the parent: %s", token,
                      n < 0 ? strerror(errno) : "short write");
}

char pu_child_poll(int timeout_ms)
{
    struct pollfd p = { .fd = child_in, .events = POLLIN };
    int64_t deadline = pu_now_ns() + (int64_t)timeout_ms * 1000000;
    int r;
    for (;;) {
        int64_t left = (deadline - pu_now_ns()) / 1000000;
        r = poll(&p, 1, left > 0 ? (int)left : 0);
        if (r >= 0 || errno != EINTR)
            break;
    }
    if (r == 0)
        return 0;
    char got;
    ssize_t n;
    do
        n = read(child_in, &got, 1);
    while (n < 0 && errno == EINTR);
    if (n != 1)
        pu_child_fail("waiting for a token from the parent: %s",
                      n < 0 ? strerror(errno) : "the pipe was closed");
    return got;
}

void pu_child_expect(char token)
{
    char got = pu_child_poll(PU_WAIT_MS);
    if (got == 0)
        pu_child_fail("waited %d ms for '%c' from the parent", PU_WAIT_MS,
                      token);
    if (got != token)
        pu_child_fail("expected '%c' from the parent, got '%c'", token, got);
}

/* ---- the parent's side -------------------------------------------------- */

/* Reads what the child wrote to its error pipe until EOF (the child has
 * exited) or timeout_ms. True at EOF. */
static bool drain_err(pu_child *c, int timeout_ms)
{
    int64_t deadline = pu_now_ns() + (int64_t)timeout_ms * 1000000;
    while (c->err >= 0) {
        int64_t left = (deadline - pu_now_ns()) / 1000000;
        if (left <= 0)
            return false;
        struct pollfd p = { .fd = c->err, .events = POLLIN };
        int r = poll(&p, 1, (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return r < 0;
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

void pu_reap(pu_child *c)
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

static const char *child_msg(const pu_child *c)
{
    return c->msglen ? c->msg : "(it wrote no message)";
}

bool pu_start_at(const char *file, int line, pu_child *c, const char *what,
                 pu_child_fn fn, void *arg)
{
    int down[2] = { -1, -1 }, up[2] = { -1, -1 }, err[2] = { -1, -1 };
    c->what = what;
    if (pipe2(down, O_CLOEXEC) != 0 || pipe2(up, O_CLOEXEC) != 0 ||
        pipe2(err, O_CLOEXEC) != 0) {
        int e = errno;
        for (int i = 0; i < 2; i++) {
            close_fd(&down[i]);
            close_fd(&up[i]);
            close_fd(&err[i]);
        }
        return pu_fail_at(file, line, "pipe for %s: %s", what, strerror(e));
    }
    fflush(NULL); /* nothing buffered may be written twice */
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        for (int i = 0; i < 2; i++) {
            close_fd(&down[i]);
            close_fd(&up[i]);
            close_fd(&err[i]);
        }
        return pu_fail_at(file, line, "fork for %s: %s", what, strerror(e));
    }
    if (pid == 0) {
        close(down[1]);
        close(up[0]);
        close(err[0]);
        child_in = down[0];
        child_out = up[1];
        child_err = err[1];
        fn(arg);
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

int pu_poll_for_at(const char *file, int line, pu_child *c, char token,
                   const char *event, int timeout_ms)
{
    if (c->pid <= 0) {
        pu_fail_at(file, line, "%s is not running (waiting for '%s')",
                   c->what, event);
        return -1;
    }
    struct pollfd p = { .fd = c->from_child, .events = POLLIN };
    int64_t deadline = pu_now_ns() + (int64_t)timeout_ms * 1000000;
    int r;
    for (;;) {
        int64_t left = (deadline - pu_now_ns()) / 1000000;
        r = poll(&p, 1, left > 0 ? (int)left : 0);
        if (r >= 0 || errno != EINTR)
            break;
    }
    if (r == 0)
        return 0;
    char got = 0;
    ssize_t n;
    do
        n = read(c->from_child, &got, 1);
    while (n < 0 && errno == EINTR);
    if (n == 1 && got == token)
        return 1;
    /* The child died or failed: its reason is in the error pipe. */
    drain_err(c, PU_WAIT_MS);
    pu_reap(c);
    if (n == 1)
        pu_fail_at(file, line, "%s: expected '%c' (%s), got '%c': %s",
                   c->what, token, event, got, child_msg(c));
    else
        pu_fail_at(file, line, "%s failed before '%s': %s", c->what, event,
                   child_msg(c));
    return -1;
}

bool pu_wait_for_at(const char *file, int line, pu_child *c, char token,
                    const char *event)
{
    int r = pu_poll_for_at(file, line, c, token, event, PU_WAIT_MS);
    if (r == 0) {
        pu_reap(c);
        return pu_fail_at(file, line, "%s: no sign of '%s' after %d ms",
                          c->what, event, PU_WAIT_MS);
    }
    return r == 1;
}

bool pu_tell_at(const char *file, int line, pu_child *c, char token)
{
    ssize_t n;
    do
        n = write(c->to_child, &token, 1);
    while (n < 0 && errno == EINTR);
    if (n == 1)
        return true;
    int e = errno;
    drain_err(c, PU_WAIT_MS);
    pu_reap(c);
    return pu_fail_at(file, line, "telling %s '%c': %s; the child said: %s",
                      c->what, token, n < 0 ? strerror(e) : "short write",
                      child_msg(c));
}

bool pu_finish_at(const char *file, int line, pu_child *c)
{
    if (c->pid <= 0)
        return pu_fail_at(file, line, "%s is not running", c->what);
    close_fd(&c->to_child);
    if (!drain_err(c, PU_WAIT_MS)) {
        pu_reap(c);
        return pu_fail_at(file, line, "%s did not exit within %d ms",
                          c->what, PU_WAIT_MS);
    }
    int status;
    pid_t r;
    while ((r = waitpid(c->pid, &status, 0)) < 0 && errno == EINTR)
        ;
    int e = errno;
    c->pid = 0;
    pu_reap(c);
    if (r < 0)
        return pu_fail_at(file, line, "waitpid for %s: %s", c->what,
                          strerror(e));
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return true;
    if (WIFSIGNALED(status))
        return pu_fail_at(file, line, "%s was killed by signal %d (%s): %s",
                          c->what, WTERMSIG(status),
                          strsignal(WTERMSIG(status)), child_msg(c));
    return pu_fail_at(file, line, "%s exited with status %d: %s", c->what,
                      WEXITSTATUS(status), child_msg(c));
}

bool pu_kill_at(const char *file, int line, pu_child *c)
{
    if (c->pid <= 0)
        return pu_fail_at(file, line, "%s is not running", c->what);
    if (kill(c->pid, SIGKILL) != 0)
        return pu_fail_at(file, line, "kill %s: %s", c->what,
                          strerror(errno));
    int status;
    pid_t r;
    while ((r = waitpid(c->pid, &status, 0)) < 0 && errno == EINTR)
        ;
    int e = errno;
    c->pid = 0;
    drain_err(c, 1000); /* a message it wrote before the kill, if any */
    pu_reap(c);
    if (r < 0)
        return pu_fail_at(file, line, "waitpid for %s: %s", c->what,
                          strerror(e));
    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
        return pu_fail_at(file, line, "%s ended before SIGKILL (status "
                          "0x%x): %s", c->what, (unsigned)status,
                          child_msg(c));
    return true;
}
