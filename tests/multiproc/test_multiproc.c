/*
 * test_multiproc.c - several real processes on one store: attaching by
 * name with zero copies (forked children with their own store handle, and
 * mms-testhelper started with fork + exec), writers killed with SIGKILL
 * before and after a sync, writer presence as mms_stat sees it, and two
 * writers syncing disjoint rows.
 *
 * Children are started with procutil (see procutil.h): they report
 * through pipes, never call CUnit and always leave with _exit; the parent
 * checks with non-fatal assertions and reaps (killing first if need be)
 * every child in each test's cleanup.
 */
#define _GNU_SOURCE
#include "procutil.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *argv0;

#define FAIL(...) pu_fail_at(__FILE__, __LINE__, __VA_ARGS__)

/* Both children get the same token, or wait for the same one. */
#define BOTH_TELL(x, y, token) (PU_TELL(x, token) && PU_TELL(y, token))
#define BOTH_WAIT_FOR(x, y, token, event)                                    \
    (PU_WAIT_FOR(x, token, event) && PU_WAIT_FOR(y, token, event))

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
        return pu_fail_at(__FILE__, line, "%s: mms_stat('%s') returned %d "
                          "(%s: %s)", when, name, rc, mms_strerror(rc),
                          mms_errmsg());
    if (info.state != want)
        return pu_fail_at(__FILE__, line, "%s: mms_stat('%s') says state %s "
                          "(%d), expected %s", when, name,
                          state_name(info.state), (int)info.state,
                          state_name(want));
    return pu_pass_at(__FILE__, line, when);
}

#define STATE_IS(store, name, want, when)                                    \
    state_is_at(__LINE__, (store), (name), (want), (when))

/* ---- shared setup and cleanup ------------------------------------------ */

/* Opens (creating) the store at path, with checksum blocks of block bytes
 * unless block is 0, and creates a zero-filled array "data", closed. */
static bool make_data_array(const char *path, mms_store **store,
                            uint64_t block, mms_dtype dtype, int ndim,
                            const uint64_t *shape)
{
    mms_array *a = NULL;
    bool ok = block == 0 || PU_OK(mms_store_set_default_block_size(block));
    ok = ok && PU_OK(mms_store_open(path, MMS_CREATE, store));
    if (block != 0)
        mms_store_set_default_block_size(1u << 20);
    return ok && PU_OK(mms_array_create(*store, "data", dtype, ndim, shape, 0,
                                        &a)) &&
           PU_OK(mms_array_close(a));
}

/* A test's cleanup: its children (killed if still running), then its
 * handles. */
static void cleanup(pu_child *c1, pu_child *c2, mms_array *a, mms_store *s)
{
    pu_reap(c1);
    if (c2)
        pu_reap(c2);
    mms_array_close(a);
    mms_store_close(s);
}

/* In a child: opens its own handle on the store at path and array name. */
static void child_open(const char *path, const char *name, unsigned flags,
                       mms_store **s, mms_array **a)
{
    char what[128];
    pu_child_ok(mms_store_open(path, 0, s), "mms_store_open in the child");
    snprintf(what, sizeof what, "mms_array_open('%s', %s) in the child",
             name, flags == MMS_RDWR ? "MMS_RDWR" : "MMS_RDONLY");
    pu_child_ok(mms_array_open(*s, name, flags, a), what);
}

/* In a child: closes what child_open opened. */
static void child_close(mms_store *s, mms_array *a)
{
    pu_child_ok(mms_array_close(a), "mms_array_close in the child");
    pu_child_ok(mms_store_close(s), "mms_store_close in the child");
}

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
    if (!PU_OK(mms_store_open(path, MMS_CREATE, store)))
        return false;
    if (!PU_OK(mms_array_create(*store, "shared", MMS_UINT8, 2, shape, 0,
                                array)))
        return false;
    unsigned char *d = mms_array_data(*array);
    for (size_t i = 0; i < SHARE_BYTES; i++)
        d[i] = share_byte(i);
    return PU_OK(mms_array_sync(*array));
}

/* ---- 1. a forked child attaches by name -------------------------------- */

static void child_share(void *path)
{
    mms_store *s;
    mms_array *a;
    mms_info info;
    /* Its own store handle: the parent's must not be used after fork. */
    child_open(path, "shared", MMS_RDWR, &s, &a);
    pu_child_ok(mms_array_info(a, &info), "mms_array_info in the child");
    if (info.nbytes != SHARE_BYTES || info.dtype != MMS_UINT8)
        pu_child_fail("child sees nbytes %" PRIu64 " dtype %d, expected %zu "
                      "uint8", info.nbytes, (int)info.dtype, SHARE_BYTES);
    unsigned char *d = mms_array_data(a);
    for (size_t i = 0; i < SHARE_BYTES; i++) {
        if (d[i] != share_byte(i))
            pu_child_fail("child reads byte %zu as %u, the parent wrote %u", i,
                          d[i], share_byte(i));
    }
    for (size_t i = 0; i < SHARE_BYTES; i++) {
        if (share_changed(i))
            d[i] = (unsigned char)(share_byte(i) ^ 0xffu);
    }
    pu_child_send('w');   /* written, handle still open */
    pu_child_expect('c'); /* the parent has looked: close now */
    child_close(s, a);
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
            return FAIL("%s: parent's mapping has byte %zu = %u, "
                        "expected %u", when, i, d[i], want);
    }
    return true;
}

static void test_forked_child_with_own_store_handle_shares_the_mapping(void)
{
    const char *path = tu_store_path();
    mms_store *s = NULL;
    mms_array *a = NULL;
    pu_child c = PU_CHILD_INIT;
    if (!make_shared_array(path, &s, &a))
        goto out;
    unsigned char *d = mms_array_data(a);
    if (!PU_START(&c, "attaching child", child_share, (void *)path))
        goto out;
    if (!PU_WAIT_FOR(&c, 'w', "checked the parent's bytes and wrote"))
        goto out;
    /* The child still has the array open: what the parent sees now came
     * through the shared page cache, not through a copy or a reopen. */
    PU_CHECK(mms_array_data(a) == d, "the parent's data pointer moved");
    shared_bytes_are(d, true, "while the child holds the array open");
    if (!PU_TELL(&c, 'c'))
        goto out;
    if (!PU_FINISH(&c))
        goto out;
    shared_bytes_are(d, true, "after the child closed");
out:
    cleanup(&c, NULL, a, s);
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
    if (top && *top && helper_at(out, size, top, "/tests/lib/mms-testhelper"))
        return true;
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", argv0 ? argv0 : "./");
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    /* This program is in tests/multiproc/ (or, under libtool, in
     * tests/multiproc/.libs/), the helper in tests/lib/. */
    if (helper_at(out, size, dir, "/../lib/mms-testhelper") ||
        helper_at(out, size, dir, "/../../lib/mms-testhelper"))
        return true;
    return FAIL("cannot find mms-testhelper: not in $top_builddir/tests/lib "
                "(top_builddir=%s) nor beside %s", top ? top : "(unset)",
                argv0 ? argv0 : "(unknown)");
}

/* Closes whichever ends of two pipes are open. */
static void close_pipes(int p1[2], int p2[2])
{
    for (int i = 0; i < 2; i++) {
        if (p1[i] >= 0)
            close(p1[i]);
        if (p2[i] >= 0)
            close(p2[i]);
    }
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

    pu_child c = PU_CHILD_INIT;
    c.what = "mms-testhelper";
    int outp[2] = { -1, -1 }, errp[2] = { -1, -1 };
    if (pipe2(outp, O_CLOEXEC) != 0 || pipe2(errp, O_CLOEXEC) != 0) {
        int e = errno;
        close_pipes(outp, errp);
        return pu_fail_at(__FILE__, line, "pipe: %s", strerror(e));
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close_pipes(outp, errp);
        return pu_fail_at(__FILE__, line, "fork: %s", strerror(e));
    }
    if (pid == 0) {
        /* dup2 clears close-on-exec on the copies. */
        if (dup2(outp[1], STDOUT_FILENO) < 0 ||
            dup2(errp[1], STDERR_FILENO) < 0)
            _exit(126);
        execv(helper, (char *const *)argv);
        dprintf(STDERR_FILENO, "exec %s: %s", helper, strerror(errno));
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
        int r = poll(&p, 1, PU_WAIT_MS);
        if (r < 0 && errno == EINTR)
            continue;
        if (r == 0) {
            ok = pu_fail_at(__FILE__, line, "%s %s: no output for %d ms",
                            helper, args[1], PU_WAIT_MS);
            break;
        }
        if (len + 4096 + 1 > cap) {
            char *bigger = realloc(buf, cap * 2);
            if (!bigger) {
                ok = pu_fail_at(__FILE__, line,
                                "out of memory reading the helper");
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
        pu_reap(&c);
        return false;
    }
    buf[len] = '\0';
    char what[256];
    snprintf(what, sizeof what, "mms-testhelper %s %s", args[1],
             args[2] ? args[2] : "");
    c.what = what;
    if (!pu_finish_at(__FILE__, line, &c)) {
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
            FAIL("mms-testhelper dump: line %zu is not a number", i + 1);
            goto out;
        }
        if (!PU_CHECK(v == share_byte(i), "mms-testhelper dump: element "
                      "%zu is %lu, the parent wrote %u", i, v, share_byte(i)))
            goto out;
        line = end + 1;
    }
    PU_CHECK(i == SHARE_BYTES && *line == '\0', "mms-testhelper dump printed "
             "%zu elements%s, expected %zu", i, *line ? " and more" : "",
             SHARE_BYTES);
    free(out);
    out = NULL;

    /* The parent holds the array open for writing; another process sees
     * that as a writer present. */
    if (RUN_HELPER(helper, &out, path, "stat", "shared")) {
        PU_CHECK(strstr(out, "\nstate=writing\n") != NULL, "mms-testhelper "
                 "stat while the parent holds the array RDWR printed:\n%s",
                 out);
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
    PU_CHECK(mms_array_data(a) == d, "the parent's data pointer moved");
    PU_CHECK(d[4097] == want1, "byte 4097 in the parent's mapping is %u after "
             "mms-testhelper wrote %u", d[4097], want1);
    PU_CHECK(d[SHARE_BYTES - 1] == want2, "last byte in the parent's mapping "
             "is %u after mms-testhelper wrote %u", d[SHARE_BYTES - 1],
             want2);
    PU_CHECK(d[4096] == share_byte(4096) && d[4098] == share_byte(4098),
             "bytes beside the one mms-testhelper wrote changed");

    /* The helper's close synced its write: the whole array verifies. */
    if (RUN_HELPER(helper, &out, path, "verify", "shared")) {
        PU_CHECK(out[0] == '\0', "mms-testhelper verify printed:\n%s", out);
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
    return make_data_array(path, store, KBLOCK, MMS_INT64, 2, shape) &&
           PU_CHECK(mms_store_block_size(*store) == KBLOCK, "store block "
                    "size is %" PRIu64 ", expected %u",
                    mms_store_block_size(*store), KBLOCK) &&
           STATE_IS(*store, "data", MMS_STATE_CLEAN, "after create + close");
}

static void child_write_sync_then_wait(void *path)
{
    mms_store *s;
    mms_array *a;
    child_open(path, "data", MMS_RDWR, &s, &a);
    int64_t *d = mms_array_data(a);
    for (uint64_t i = 0; i < (uint64_t)KROWS * KCOLS; i++)
        d[i] = synced_value(i);
    pu_child_ok(mms_array_sync(a), "mms_array_sync in the child");
    pu_child_send('s');
    pu_child_expect('x'); /* never sent: the parent kills us here */
    pu_child_fail("the parent sent 'x' instead of killing the child");
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

/* Checks that mms_verify finds every block of "data" matching its
 * checksum; when says at what point. */
static bool verifies_at(int line, mms_store *s, const char *when)
{
    mismatches m = { .name_ok = true };
    bool ok = pu_rc_is_at(__FILE__, line, "mms_verify(s, \"data\", ...)",
                          mms_verify(s, "data", collect_mismatch, &m), MMS_OK);
    if (m.n != 0)
        return pu_fail_at(__FILE__, line, "mms_verify %s reported %d "
                          "mismatching blocks (first: block %" PRIu64
                          " rows %" PRIu64 "+%" PRIu64 ")", when, m.n,
                          m.block[0], m.first_row[0], m.nrows[0]);
    return pu_pass_at(__FILE__, line, "no mismatching block") && ok;
}

#define VERIFIES(s, when) verifies_at(__LINE__, (s), (when))

static void test_writer_killed_after_sync_is_interrupted_and_verifies(void)
{
    const char *path = tu_store_path();
    mms_store *s = NULL;
    mms_array *a = NULL;
    pu_child c = PU_CHILD_INIT;
    if (!make_crash_store(path, &s))
        goto out;
    if (!PU_START(&c, "writer child", child_write_sync_then_wait,
                  (void *)path))
        goto out;
    if (!PU_WAIT_FOR(&c, 's', "wrote and synced"))
        goto out;
    STATE_IS(s, "data", MMS_STATE_WRITING, "while the writer child lives");
    if (!PU_KILL(&c))
        goto out;

    STATE_IS(s, "data", MMS_STATE_INTERRUPTED,
             "after the writer was killed with SIGKILL");
    VERIFIES(s, "after the kill, on data synced before it,");

    /* Synced data is all there. */
    if (PU_OK(mms_array_open(s, "data", MMS_RDONLY, &a))) {
        const int64_t *d = mms_array_data(a);
        for (uint64_t i = 0; i < (uint64_t)KROWS * KCOLS; i++) {
            if (!PU_CHECK(d[i] == synced_value(i), "element %" PRIu64 " is %"
                          PRId64 " after the kill, the child synced %" PRId64,
                          i, d[i], synced_value(i)))
                break;
        }
        PU_OK(mms_array_close(a));
        a = NULL;
    }

out:
    cleanup(&c, NULL, a, s);
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

static void child_write_no_sync_then_wait(void *path)
{
    mms_store *s;
    mms_array *a;
    child_open(path, "data", MMS_RDWR, &s, &a);
    int64_t *d = mms_array_data(a);
    for (size_t r = 0; r < N_UNSYNCED_ROWS; r++) {
        for (uint64_t col = 0; col < KCOLS; col++)
            d[unsynced_rows[r] * KCOLS + col] =
                unsynced_value(unsynced_rows[r], col);
    }
    pu_child_send('w'); /* written, not synced */
    pu_child_expect('x');
    pu_child_fail("the parent sent 'x' instead of killing the child");
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
    pu_child c = PU_CHILD_INIT;
    if (!make_crash_store(path, &s))
        goto out;
    if (!PU_START(&c, "unsynced writer child",
                  child_write_no_sync_then_wait, (void *)path))
        goto out;
    if (!PU_WAIT_FOR(&c, 'w', "wrote without syncing"))
        goto out;
    if (!PU_KILL(&c))
        goto out;

    STATE_IS(s, "data", MMS_STATE_INTERRUPTED,
             "after the unsynced writer was killed with SIGKILL");

    /* The page cache outlives the process: the unsynced writes are in the
     * file, so they no longer match the checksums of the zero-filled
     * array. */
    if (PU_OK(mms_array_open(s, "data", MMS_RDONLY, &a))) {
        const int64_t *d = mms_array_data(a);
        for (uint64_t row = 0; row < KROWS; row++) {
            int64_t want = is_unsynced_row(row) ? unsynced_value(row, 3) : 0;
            if (!PU_CHECK(d[row * KCOLS + 3] == want, "row %" PRIu64
                          " column 3 is %" PRId64 " after the kill, expected %"
                          PRId64,
                          row, d[row * KCOLS + 3], want))
                break;
        }
        PU_OK(mms_array_close(a));
        a = NULL;
    }

    mismatches m = { .name_ok = true };
    PU_RC(MMS_ERR_CHECKSUM, mms_verify(s, "data", collect_mismatch, &m));
    PU_CHECK(m.name_ok, "the verify callback was not given the name 'data'");
    if (PU_CHECK(m.n == (int)N_UNSYNCED_BLOCKS, "mms_verify reported %d "
                 "mismatching blocks, expected %zu (3, 10, 11, 15)", m.n,
                 N_UNSYNCED_BLOCKS)) {
        for (size_t k = 0; k < N_UNSYNCED_BLOCKS; k++) {
            uint64_t b = unsynced_blocks[k];
            PU_CHECK(m.block[k] == b &&
                     m.first_row[k] == b * KROWS_PER_BLOCK &&
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
    cleanup(&c, NULL, a, s);
}

/* ---- 4. writer presence ------------------------------------------------ */

typedef struct hold_arg {
    const char *path;
    unsigned flags; /* how the child opens "data" */
} hold_arg;

static void child_hold_open(void *varg)
{
    const hold_arg *h = varg;
    mms_store *s;
    mms_array *a;
    child_open(h->path, "data", h->flags, &s, &a);
    pu_child_send('o');   /* open */
    pu_child_expect('c'); /* close now */
    child_close(s, a);
}

static void test_stat_says_writing_while_a_child_holds_rdwr_and_clean_after(void)
{
    const char *path = tu_store_path();
    mms_store *s = NULL;
    mms_array *a = NULL;
    pu_child reader = PU_CHILD_INIT, writer = PU_CHILD_INIT;
    hold_arg rdonly = { path, MMS_RDONLY }, rdwr = { path, MMS_RDWR };
    uint64_t shape[1] = { 100 };
    if (!make_data_array(path, &s, 0, MMS_FLOAT64, 1, shape))
        goto out;
    STATE_IS(s, "data", MMS_STATE_CLEAN, "after create + close");

    /* A reader is not a writer. */
    if (!PU_START(&reader, "read-only child", child_hold_open, &rdonly) ||
        !PU_WAIT_FOR(&reader, 'o', "opened the array read-only"))
        goto out;
    STATE_IS(s, "data", MMS_STATE_CLEAN, "while a child holds it RDONLY");

    if (!PU_START(&writer, "writer child", child_hold_open, &rdwr) ||
        !PU_WAIT_FOR(&writer, 'o', "opened the array read-write"))
        goto out;
    STATE_IS(s, "data", MMS_STATE_WRITING, "while a child holds it RDWR");

    if (!PU_TELL(&writer, 'c') || !PU_FINISH(&writer))
        goto out;
    STATE_IS(s, "data", MMS_STATE_CLEAN,
             "after the writer child closed cleanly");

    if (!PU_TELL(&reader, 'c') || !PU_FINISH(&reader))
        goto out;
    STATE_IS(s, "data", MMS_STATE_CLEAN, "after the reader child closed");
out:
    cleanup(&writer, &reader, a, s);
}

/* Two writers that close at the same moment: whichever closes last must
 * find itself the last writer and mark the array clean. Repeated, since
 * the two closes overlap differently each time. */
#define CLOSE_ROUNDS 20

static void child_open_close_rounds(void *path)
{
    mms_store *s;
    pu_child_ok(mms_store_open(path, 0, &s), "mms_store_open in the child");
    for (int round = 0; round < CLOSE_ROUNDS; round++) {
        mms_array *a;
        pu_child_expect('n'); /* the parent has looked at the last round */
        pu_child_ok(mms_array_open(s, "data", MMS_RDWR, &a),
                    "mms_array_open('data', MMS_RDWR) in the child");
        pu_child_send('o');
        pu_child_expect('c');
        pu_child_ok(mms_array_close(a), "mms_array_close in the child");
        pu_child_send('d');
    }
    pu_child_ok(mms_store_close(s), "mms_store_close in the child");
}

static void test_two_writers_closing_at_once_leave_the_array_clean(void)
{
    const char *path = tu_store_path();
    mms_store *s = NULL;
    mms_array *a = NULL;
    pu_child ca = PU_CHILD_INIT, cb = PU_CHILD_INIT;
    uint64_t shape[1] = { 1000 };
    int bad_rounds = 0, first_bad = -1;
    mms_state first_state = MMS_STATE_CLEAN;
    if (!make_data_array(path, &s, 0, MMS_INT64, 1, shape))
        goto out;
    if (!PU_START(&ca, "writer A", child_open_close_rounds, (void *)path) ||
        !PU_START(&cb, "writer B", child_open_close_rounds, (void *)path))
        goto out;
    for (int round = 0; round < CLOSE_ROUNDS; round++) {
        if (!BOTH_TELL(&ca, &cb, 'n') ||
            !BOTH_WAIT_FOR(&ca, &cb, 'o', "opened read-write") ||
            !BOTH_TELL(&ca, &cb, 'c') ||
            !BOTH_WAIT_FOR(&ca, &cb, 'd', "closed"))
            goto out;
        mms_info info;
        if (!PU_OK(mms_stat(s, "data", &info)))
            goto out;
        if (info.state != MMS_STATE_CLEAN) {
            if (bad_rounds++ == 0) {
                first_bad = round;
                first_state = info.state;
            }
        }
    }
    PU_CHECK(bad_rounds == 0, "after both writers closed, mms_stat said %s "
             "instead of CLEAN in %d of %d rounds (first in round %d): "
             "neither closing writer saw itself as the last one",
             state_name(first_state), bad_rounds, CLOSE_ROUNDS, first_bad);
    if (!PU_FINISH(&ca) || !PU_FINISH(&cb))
        goto out;
out:
    cleanup(&ca, &cb, a, s);
}

/* ---- 5. two writers, disjoint rows ------------------------------------- */

/* int32 array of 256 x 16 with 4 KiB blocks: 64 rows a block. Writer A
 * owns rows [0, 100), writer B rows [100, 256): block 1 (rows 64..127)
 * holds rows of both. */
#define TW_ROWS 256u
#define TW_COLS 16u

typedef struct rows_arg {
    const char *path;
    uint64_t first, nrows;
    int32_t base;
    uint64_t cols;       /* the array's columns (int32 each) */
} rows_arg;

static int32_t tw_value(const rows_arg *r, uint64_t row, uint64_t col)
{
    return r->base + (int32_t)(row * r->cols + col);
}

static void child_write_rows(void *varg)
{
    const rows_arg *r = varg;
    mms_store *s;
    mms_array *a;
    child_open(r->path, "data", MMS_RDWR, &s, &a);
    pu_child_send('o');
    pu_child_expect('g');
    int32_t *d = mms_array_data(a);
    for (uint64_t row = r->first; row < r->first + r->nrows; row++) {
        for (uint64_t col = 0; col < r->cols; col++)
            d[row * r->cols + col] = tw_value(r, row, col);
    }
    pu_child_send('w');
    pu_child_expect('s');
    pu_child_ok(mms_array_sync_range(a, r->first, r->nrows),
                "mms_array_sync_range of the child's rows");
    pu_child_send('y');
    pu_child_expect('c');
    child_close(s, a);
}

static void test_two_writers_sync_disjoint_rows_and_both_writes_verify(void)
{
    const char *path = tu_store_path();
    mms_store *s = NULL;
    mms_array *a = NULL;
    pu_child ca = PU_CHILD_INIT, cb = PU_CHILD_INIT;
    rows_arg ra = { path, 0, 100, 1000000, TW_COLS },
             rb = { path, 100, TW_ROWS - 100, 2000000, TW_COLS };
    uint64_t shape[2] = { TW_ROWS, TW_COLS };
    if (!make_data_array(path, &s, 4096, MMS_INT32, 2, shape))
        goto out;

    if (!PU_START(&ca, "writer A (rows 0..99)", child_write_rows, &ra) ||
        !PU_START(&cb, "writer B (rows 100..255)", child_write_rows, &rb) ||
        !BOTH_WAIT_FOR(&ca, &cb, 'o', "opened read-write"))
        goto out;
    STATE_IS(s, "data", MMS_STATE_WRITING, "while two writers hold it");
    /* Both write, then both sync their own rows at once: the block they
     * share is hashed by two processes concurrently. */
    if (!BOTH_TELL(&ca, &cb, 'g') ||
        !BOTH_WAIT_FOR(&ca, &cb, 'w', "wrote its rows") ||
        !BOTH_TELL(&ca, &cb, 's') ||
        !BOTH_WAIT_FOR(&ca, &cb, 'y', "synced its rows"))
        goto out;

    /* Before either closes (close would sync everything), the checksums
     * recorded by the two sync_range calls match the data. */
    VERIFIES(s, "after both sync_range calls");

    if (!BOTH_TELL(&ca, &cb, 'c') || !PU_FINISH(&ca) || !PU_FINISH(&cb))
        goto out;
    STATE_IS(s, "data", MMS_STATE_CLEAN, "after both writers closed");
    VERIFIES(s, "after both writers closed");

    if (PU_OK(mms_array_open(s, "data", MMS_RDONLY, &a))) {
        const int32_t *d = mms_array_data(a);
        for (uint64_t row = 0; row < TW_ROWS; row++) {
            const rows_arg *r = row < rb.first ? &ra : &rb;
            for (uint64_t col = 0; col < TW_COLS; col++) {
                int32_t want = tw_value(r, row, col);
                if (!PU_CHECK(d[row * TW_COLS + col] == want, "row %" PRIu64
                              " column %" PRIu64 " is %" PRId32 ", writer %c "
                              "wrote %" PRId32, row, col,
                              d[row * TW_COLS + col], r == &ra ? 'A' : 'B',
                              want))
                    goto out;
            }
        }
    }
out:
    cleanup(&ca, &cb, a, s);
}

/* A sync hashes its blocks while the disk writes them back, before its
 * transaction. Writer A syncs 256 MiB of rows whose last block it shares
 * with writer B; B writes and syncs its rows of that block while A's
 * write-back runs, so B commits between A's hashing and A's commit. A's
 * commit, the last, must not put back a checksum without B's rows. (If
 * the disk is fast enough that A commits before B starts, the test proves
 * less but still holds.) */
#define BIG_COLS 1024u                    /* int32: 4 KiB rows */
#define BIG_ROWS (65536u + 256u)          /* 256 MiB + one 1 MiB block */
#define BIG_SPLIT (65536u + 128u)         /* A: rows below, B: the rest */

static void test_sync_committing_during_another_sync_keeps_the_newest_checksum(void)
{
    const char *path = tu_store_path();
    mms_store *s = NULL;
    pu_child ca = PU_CHILD_INIT, cb = PU_CHILD_INIT;
    rows_arg ra = { path, 0, BIG_SPLIT, 1000000, BIG_COLS },
             rb = { path, BIG_SPLIT, BIG_ROWS - BIG_SPLIT, 2000000, BIG_COLS };
    uint64_t shape[2] = { BIG_ROWS, BIG_COLS };
    if (!make_data_array(path, &s, 0, MMS_INT32, 2, shape))
        goto out;
    if (!PU_START(&ca, "writer A (256 MiB)", child_write_rows, &ra) ||
        !PU_START(&cb, "writer B (rows of A's last block)", child_write_rows,
                  &rb) ||
        !BOTH_WAIT_FOR(&ca, &cb, 'o', "opened read-write") ||
        !PU_TELL(&ca, 'g') || !PU_WAIT_FOR(&ca, 'w', "wrote its rows") ||
        !PU_TELL(&ca, 's'))
        goto out;
    /* Hashing 256 MiB takes tens of ms, writing it back hundreds. */
    pu_sleep_ms(100);
    if (!PU_TELL(&cb, 'g') || !PU_WAIT_FOR(&cb, 'w', "wrote its rows") ||
        !PU_TELL(&cb, 's') ||
        !BOTH_WAIT_FOR(&ca, &cb, 'y', "synced its rows"))
        goto out;
    /* Before the closes, which would hash everything once more. */
    VERIFIES(s, "after both sync_range calls");
    if (!BOTH_TELL(&ca, &cb, 'c') || !PU_FINISH(&ca) || !PU_FINISH(&cb))
        goto out;
    VERIFIES(s, "after both writers closed");
out:
    cleanup(&ca, &cb, NULL, s);
}

static const tu_test attach_tests[] = {
    TU_TEST(test_forked_child_with_own_store_handle_shares_the_mapping),
    TU_TEST(test_exec_helper_shares_the_mapping),
    TU_END
};

static const tu_test crash_tests[] = {
    TU_TEST(test_writer_killed_after_sync_is_interrupted_and_verifies),
    TU_TEST(test_writer_killed_before_sync_is_interrupted_and_verify_names_blocks),
    TU_END
};

static const tu_test writer_tests[] = {
    TU_TEST(test_stat_says_writing_while_a_child_holds_rdwr_and_clean_after),
    TU_TEST(test_two_writers_sync_disjoint_rows_and_both_writes_verify),
    TU_TEST(test_two_writers_closing_at_once_leave_the_array_clean),
    TU_TEST(test_sync_committing_during_another_sync_keeps_the_newest_checksum),
    TU_END
};

static const tu_suite suites[] = {
    { "attach by name across processes", attach_tests },
    { "writers killed with SIGKILL", crash_tests },
    { "writer presence and concurrent writers", writer_tests },
    { NULL, NULL }
};

int main(int argc, char **argv)
{
    argv0 = argv[0];
    /* A child that dies must not kill us through a pipe write. */
    signal(SIGPIPE, SIG_IGN);
    return tu_main(argc, argv, suites);
}
