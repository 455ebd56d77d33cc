/*
 * torture.c - crash torture: kill a writer with SIGKILL at random moments
 * and check that the store keeps every promise of DESIGN section 5.
 *
 *   tests/multiproc/torture [--kills N] [--seed S] [--store DIR]
 *
 * Each round forks a writer that does random work on a few arrays of one
 * store: writes to random rows (through the mapping or mms_array_write)
 * under range locks, then sometimes mms_array_sync_range or mms_array_sync;
 * resizes; staged create + fill + publish of a new version; close and
 * reopen. The parent kills it after a random delay (0-20 ms) and checks:
 *  - the store opens, mms_list works and lists exactly the arrays;
 *  - every lock is free: the named lock the writer takes, and an exclusive
 *    range lock over all rows of every array, with timeout 0;
 *  - every array's state is CLEAN or INTERRUPTED (nobody is alive);
 *  - what the writer synced is there: a row whose last journal entry is a
 *    sync holds exactly the synced content, and an array with no write
 *    after its last sync passes mms_verify;
 *  - torn writes are detected: an array that fails mms_verify is
 *    INTERRUPTED (and stays so), one that passes becomes CLEAN;
 *  - publish and resize are atomic: the name has the old or the new
 *    version (or shape), never anything else, with the right generation.
 *
 * The journal. The writer records what it did in a file beside the store,
 * each record written with pwrite + fdatasync and checked by a trailing
 * XXH3-64, so a record torn by the kill is recognised and ignored (with
 * all after it). Intent records are written before the act, outcome
 * records after the call returns:
 *   WRITE (rows)          before writing rows: their content is unknown
 *                         from now until a SYNC covers them;
 *   SYNC (first, n, contents) after a sync or close returned: those rows
 *                         are durable with these contents;
 *   RESIZE_BEGIN (old, new) / RESIZE_DONE (new);
 *   STAGE (new id, contents) / PUBLISH (new id, generation).
 * A row's content is a 64-bit stamp: element j of row r is a hash of
 * (stamp, r, j), stamp 0 is all zeros. A BEGIN or STAGE without its DONE
 * or PUBLISH leaves the outcome open: the checker accepts either one and
 * learns which from mms_stat.
 *
 * After checking, the parent opens each array for writing to take the
 * range lock, and closes it: that syncs it, so every round starts from
 * durable data (INTERRUPTED stays until a later verify passes).
 *
 * The output ends with "RESULT: N passed, M failed" (N rounds that checked
 * out); the exit status is 0 only when every round did. The first round
 * that fails stops the run, keeps the store and journal, and says how to
 * rerun with the same seed.
 */
#define _GNU_SOURCE
#include <mmstore.h>

#include "rng.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "testutil.h"

/* ---- the arrays --------------------------------------------------------- */

#define NSLOTS 3
#define MAXROWS 1024
#define MINROWS 8
#define BLOCK_SIZE 4096
#define OP_LOCK "torture/op" /* the named lock the writer takes */

/* Rows of 512 bytes (8 per checksum block), of 4800 bytes and of 40 bytes
 * (both straddle block boundaries). */
static const struct slot_cfg {
    const char *name;
    uint64_t cols;
    uint64_t max_rows;
    uint64_t init_rows;
} cfg[NSLOTS] = {
    {"torture/a", 64, 512, 64},
    {"torture/b", 600, 96, 16},
    {"torture/c", 5, MAXROWS, 100},
};

#define STAMP_UNKNOWN UINT64_MAX

enum { P_NONE, P_RESIZE, P_PUBLISH };

/* What the journal says of one array. */
typedef struct slot_model {
    uint64_t id, gen, rows;
    uint64_t stamp[MAXROWS];  /* content of each row, or STAMP_UNKNOWN */
    bool clean[MAXROWS];      /* synced since its last write */
    int pending;              /* an act whose outcome is open */
    uint64_t p_old_rows, p_new_rows;
    uint64_t p_id, p_rows, p_stamp[MAXROWS];
} slot_model;

static slot_model model[NSLOTS];

/* ---- content ---------------------------------------------------------------- */

static int64_t cell(uint64_t stamp, uint64_t row, uint64_t col)
{
    if (stamp == 0)
        return 0;
    return (int64_t)mix64(stamp ^ mix64(row * UINT64_C(0x9e3779b97f4a7c15) +
                                        col + 1));
}

static void row_content(int64_t *dst, uint64_t cols, uint64_t row,
                        uint64_t stamp)
{
    for (uint64_t j = 0; j < cols; j++)
        dst[j] = cell(stamp, row, j);
}

/* First column of row that differs from stamp's content, or -1. */
static int64_t row_differs(const int64_t *src, uint64_t cols, uint64_t row,
                           uint64_t stamp)
{
    for (uint64_t j = 0; j < cols; j++)
        if (src[j] != cell(stamp, row, j))
            return (int64_t)j;
    return -1;
}

static uint64_t new_stamp(uint64_t *state)
{
    uint64_t s;
    do
        s = rng_next(state);
    while (s == 0 || s == STAMP_UNKNOWN);
    return s;
}

/* ---- the journal -------------------------------------------------------------- */

#define J_MAGIC 0x4e524a54u /* "TJRN" */

enum { J_WRITE = 1, J_SYNC, J_RESIZE_BEGIN, J_RESIZE_DONE, J_STAGE,
       J_PUBLISH, J_NTYPES };

static const char *const jname[J_NTYPES] = {
    "?", "WRITE", "SYNC", "RESIZE_BEGIN", "RESIZE_DONE", "STAGE", "PUBLISH",
};

typedef struct jhead {
    uint32_t magic, type, slot, count; /* count: u64 words of payload */
    uint64_t id, gen, a, b;
} jhead;
/* followed by uint64_t payload[count], then the XXH3-64 of all before */

#define J_MAX_WORDS MAXROWS

/* ---- the writer child ----------------------------------------------------------- */

static int jfd = -1;
static uint64_t joff;
static int wround;

__attribute__((format(printf, 1, 2), noreturn))
static void wfail(const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "torture: writer in round %d: %s\n", wround, msg);
    _exit(3);
}

static void wok(int rc, const char *what, int slot)
{
    if (rc != MMS_OK)
        wfail("%s on '%s' returned %d (%s): %s", what, cfg[slot].name, rc,
              mms_strerror(rc), mms_errmsg());
}

static void jwrite(int type, int slot, uint64_t id, uint64_t gen, uint64_t a,
                   uint64_t b, const uint64_t *payload, uint32_t count)
{
    static unsigned char buf[sizeof(jhead) + 8 * (J_MAX_WORDS + 1)];
    jhead h = {J_MAGIC, (uint32_t)type, (uint32_t)slot, count, id, gen, a, b};
    size_t len = sizeof h + 8 * (size_t)count;
    if (count > J_MAX_WORDS)
        wfail("journal record of %u words", count);
    memcpy(buf, &h, sizeof h);
    if (count)
        memcpy(buf + sizeof h, payload, 8 * (size_t)count);
    uint64_t hash = XXH3_64bits(buf, len);
    memcpy(buf + len, &hash, 8);
    len += 8;
    ssize_t n = pwrite(jfd, buf, len, (off_t)joff);
    if (n != (ssize_t)len || fdatasync(jfd) != 0)
        wfail("writing the journal: %s", n < 0 ? strerror(errno)
                                              : "short write or fdatasync");
    joff += len;
}

typedef struct writer {
    mms_store *store;
    mms_array *h[NSLOTS];
    slot_model *m; /* the child's copy of the model: stamps it knows */
    uint64_t rng;
    int64_t *rowbuf;
} writer;

static void wcheck_handle(writer *w, int s)
{
    mms_info info;
    wok(mms_array_info(w->h[s], &info), "mms_array_info", s);
    if (info.id != w->m[s].id || info.shape[0] != w->m[s].rows)
        wfail("'%s' has id %" PRIu64 " and %" PRIu64 " rows, the journal "
              "says id %" PRIu64 " and %" PRIu64 " rows", cfg[s].name,
              info.id, info.shape[0], w->m[s].id, w->m[s].rows);
}

static void jsync(writer *w, int s, uint64_t first, uint64_t n)
{
    jwrite(J_SYNC, s, w->m[s].id, w->m[s].gen, first, n,
           &w->m[s].stamp[first], (uint32_t)n);
}

static void op_write(writer *w, int s)
{
    slot_model *m = &w->m[s];
    uint64_t cols = cfg[s].cols, rows[8];
    uint32_t k = 1 + (uint32_t)rng_below(&w->rng, 8);
    uint64_t lo = UINT64_MAX, hi = 0;
    for (uint32_t i = 0; i < k; i++) {
        rows[i] = rng_below(&w->rng, m->rows);
        lo = rows[i] < lo ? rows[i] : lo;
        hi = rows[i] > hi ? rows[i] : hi;
    }
    jwrite(J_WRITE, s, m->id, m->gen, k, 0, rows, k);
    mms_lock *lock = NULL;
    wok(mms_lock_range(w->h[s], lo, hi - lo + 1, MMS_LOCK_EXCLUSIVE, -1,
                       &lock), "mms_lock_range", s);
    for (uint32_t i = 0; i < k; i++) {
        uint64_t r = rows[i], stamp = new_stamp(&w->rng);
        m->stamp[r] = stamp;
        if (rng_below(&w->rng, 2)) {
            int64_t *p = (int64_t *)mms_array_data(w->h[s]) + r * cols;
            row_content(p, cols, r, stamp);
        } else {
            row_content(w->rowbuf, cols, r, stamp);
            wok(mms_array_write(w->h[s], r * cols * 8, w->rowbuf, cols * 8),
                "mms_array_write", s);
        }
    }
    wok(mms_unlock(lock), "mms_unlock", s);
    switch (rng_below(&w->rng, 4)) {
    case 0:
        wok(mms_array_sync_range(w->h[s], lo, hi - lo + 1),
            "mms_array_sync_range", s);
        jsync(w, s, lo, hi - lo + 1);
        break;
    case 1:
        wok(mms_array_sync(w->h[s]), "mms_array_sync", s);
        jsync(w, s, 0, m->rows);
        break;
    default:
        break;
    }
}

static void op_sync_range(writer *w, int s)
{
    uint64_t rows = w->m[s].rows, first = rng_below(&w->rng, rows);
    uint64_t n = 1 + rng_below(&w->rng, rows - first);
    /* nrows 0 means "to the end" */
    bool to_end = rng_below(&w->rng, 4) == 0;
    wok(mms_array_sync_range(w->h[s], first, to_end ? 0 : n),
        "mms_array_sync_range", s);
    jsync(w, s, first, to_end ? rows - first : n);
}

static void op_sync(writer *w, int s)
{
    wok(mms_array_sync(w->h[s]), "mms_array_sync", s);
    jsync(w, s, 0, w->m[s].rows);
}

static void op_resize(writer *w, int s)
{
    slot_model *m = &w->m[s];
    uint64_t old = m->rows;
    uint64_t rows = MINROWS + rng_below(&w->rng, cfg[s].max_rows - MINROWS + 1);
    jwrite(J_RESIZE_BEGIN, s, m->id, m->gen, old, rows, NULL, 0);
    wok(mms_array_resize(w->h[s], rows), "mms_array_resize", s);
    for (uint64_t r = old; r < rows; r++)
        m->stamp[r] = 0; /* new rows read as zero */
    m->rows = rows;
    jwrite(J_RESIZE_DONE, s, m->id, m->gen, rows, 0, NULL, 0);
}

static void op_publish(writer *w, int s)
{
    slot_model *m = &w->m[s];
    uint64_t cols = cfg[s].cols;
    uint64_t rows = MINROWS + rng_below(&w->rng, cfg[s].max_rows - MINROWS + 1);
    uint64_t shape[2] = {rows, cols};
    uint64_t stamps[MAXROWS];
    mms_lock *lock = NULL;
    mms_array *st = NULL;
    mms_info info;

    wok(mms_lock_named(w->store, OP_LOCK, MMS_LOCK_EXCLUSIVE, -1, &lock),
        "mms_lock_named", s);
    wok(mms_array_create(w->store, cfg[s].name, MMS_INT64, 2, shape,
                         MMS_STAGED, &st), "staged mms_array_create", s);
    wok(mms_array_info(st, &info), "mms_array_info (staged)", s);
    for (uint64_t r = 0; r < rows; r++)
        stamps[r] = new_stamp(&w->rng);
    jwrite(J_STAGE, s, info.id, m->gen, rows, m->id, stamps, (uint32_t)rows);
    bool by_write = rng_below(&w->rng, 2);
    int64_t *p = mms_array_data(st);
    for (uint64_t r = 0; r < rows; r++) {
        if (by_write) {
            row_content(w->rowbuf, cols, r, stamps[r]);
            wok(mms_array_write(st, r * cols * 8, w->rowbuf, cols * 8),
                "mms_array_write (staged)", s);
        } else {
            row_content(p + r * cols, cols, r, stamps[r]);
        }
    }
    if (rng_below(&w->rng, 4) == 0)
        wok(mms_array_sync(st), "mms_array_sync (staged)", s);
    wok(mms_array_publish(st), "mms_array_publish", s);
    wok(mms_array_info(st, &info), "mms_array_info (published)", s);
    if (info.generation != m->gen + 1)
        wfail("publish of '%s' gave generation %" PRIu64 ", expected %"
              PRIu64, cfg[s].name, info.generation, m->gen + 1);
    jwrite(J_PUBLISH, s, info.id, info.generation, rows, 0, NULL, 0);
    int rc = mms_array_close(w->h[s]);
    if (rc != MMS_ERR_STALE)
        wfail("closing the superseded handle of '%s' returned %d (%s), "
              "expected MMS_ERR_STALE: %s", cfg[s].name, rc,
              mms_strerror(rc), mms_errmsg());
    w->h[s] = st;
    m->id = info.id;
    m->gen = info.generation;
    m->rows = rows;
    memcpy(m->stamp, stamps, rows * sizeof *stamps);
    wok(mms_unlock(lock), "mms_unlock (named)", s);
}

static void op_reopen(writer *w, int s)
{
    wok(mms_array_close(w->h[s]), "mms_array_close", s);
    w->h[s] = NULL;
    jsync(w, s, 0, w->m[s].rows); /* close syncs every row */
    wok(mms_array_open(w->store, cfg[s].name, MMS_RDWR, &w->h[s]),
        "mms_array_open", s);
    wcheck_handle(w, s);
}

static void op_hold_locks(writer *w, int s)
{
    mms_lock *named = NULL, *range = NULL;
    struct timespec t = {0, 500000};
    wok(mms_lock_named(w->store, OP_LOCK, MMS_LOCK_EXCLUSIVE, -1, &named),
        "mms_lock_named", s);
    wok(mms_lock_range(w->h[s], 0, 0, MMS_LOCK_EXCLUSIVE, -1, &range),
        "mms_lock_range (all rows)", s);
    nanosleep(&t, NULL);
    wok(mms_unlock(range), "mms_unlock (range)", s);
    wok(mms_unlock(named), "mms_unlock (named)", s);
}

__attribute__((noreturn))
static void writer_main(const char *store_path, int ready_fd, uint64_t seed)
{
    writer w = {.m = model, .rng = seed};
    w.rowbuf = malloc(MAXROWS * 8 > cfg[1].cols * 8 ? MAXROWS * 8
                                                    : cfg[1].cols * 8);
    if (!w.rowbuf)
        wfail("out of memory");
    wok(mms_store_open(store_path, 0, &w.store), "mms_store_open", 0);
    for (int s = 0; s < NSLOTS; s++) {
        wok(mms_array_open(w.store, cfg[s].name, MMS_RDWR, &w.h[s]),
            "mms_array_open", s);
        wcheck_handle(&w, s);
    }
    char c = 'R';
    if (write(ready_fd, &c, 1) != 1)
        wfail("telling the parent it is ready: %s", strerror(errno));
    for (;;) {
        int s = (int)rng_below(&w.rng, NSLOTS);
        uint64_t p = rng_below(&w.rng, 100);
        if (p < 45)
            op_write(&w, s);
        else if (p < 58)
            op_sync_range(&w, s);
        else if (p < 66)
            op_sync(&w, s);
        else if (p < 76)
            op_resize(&w, s);
        else if (p < 88)
            op_publish(&w, s);
        else if (p < 94)
            op_reopen(&w, s);
        else
            op_hold_locks(&w, s);
    }
}

/* ---- the parent: reading the journal ------------------------------------------ */

static struct stats {
    uint64_t records[J_NTYPES];
    uint64_t torn_journal_tails;
    uint64_t killed_before_ready;
    uint64_t verify_failures;      /* torn arrays, reported INTERRUPTED */
    uint64_t interrupted_seen;
    uint64_t resize_open, resize_committed;
    uint64_t publish_open, publish_committed;
    uint64_t rows_checked;
} stats;

static int violations;
static int round_no;

__attribute__((format(printf, 3, 4)))
static void violation(int slot, const char *rule, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "torture: VIOLATION in round %d: %s%s%s[%s] %s\n",
            round_no, slot >= 0 ? "array '" : "",
            slot >= 0 ? cfg[slot].name : "", slot >= 0 ? "': " : "", rule,
            msg);
    violations++;
}

/* A bug of this program, not of the library: stop at once. */
__attribute__((format(printf, 1, 2), noreturn))
static void internal_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "torture: internal error in round %d: ", round_no);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(99);
}

static void apply_publish(slot_model *m, uint64_t id, uint64_t gen)
{
    m->id = id;
    m->gen = gen;
    m->rows = m->p_rows;
    for (uint64_t r = 0; r < m->rows; r++) {
        m->stamp[r] = m->p_stamp[r];
        m->clean[r] = true; /* publish syncs every block */
    }
    m->pending = P_NONE;
}

static void apply_resize(slot_model *m)
{
    /* A committed resize synced and hashed the new (zero) rows. */
    for (uint64_t r = m->p_old_rows; r < m->p_new_rows; r++) {
        m->stamp[r] = 0;
        m->clean[r] = true;
    }
    m->rows = m->p_new_rows;
    m->pending = P_NONE;
}

static void apply_record(const jhead *h, const uint64_t *payload)
{
    if (h->slot >= NSLOTS)
        internal_error("journal record for slot %u", h->slot);
    slot_model *m = &model[h->slot];
    bool same = h->id == m->id;
    switch (h->type) {
    case J_WRITE:
        if (!same)
            internal_error("WRITE for id %" PRIu64 ", model has %" PRIu64,
                           h->id, m->id);
        for (uint32_t i = 0; i < h->count; i++) {
            if (payload[i] >= m->rows)
                internal_error("WRITE of row %" PRIu64 " of %" PRIu64,
                               payload[i], m->rows);
            m->stamp[payload[i]] = STAMP_UNKNOWN;
            m->clean[payload[i]] = false;
        }
        break;
    case J_SYNC:
        if (!same || h->a + h->b > m->rows || h->count != h->b)
            internal_error("SYNC of rows %" PRIu64 "+%" PRIu64 " of id %"
                           PRIu64 ", model has %" PRIu64 " rows of id %"
                           PRIu64, h->a, h->b, h->id, m->rows, m->id);
        for (uint64_t i = 0; i < h->b; i++) {
            /* The writer's stamp may be unknown: a row it inherited
             * unknown and never rewrote is durable, but unknown. */
            m->stamp[h->a + i] = payload[i];
            m->clean[h->a + i] = true;
        }
        break;
    case J_RESIZE_BEGIN:
        if (!same || h->a != m->rows)
            internal_error("RESIZE_BEGIN from %" PRIu64 " rows, model has %"
                           PRIu64, h->a, m->rows);
        m->pending = P_RESIZE;
        m->p_old_rows = h->a;
        m->p_new_rows = h->b;
        break;
    case J_RESIZE_DONE:
        if (!same || m->pending != P_RESIZE || h->a != m->p_new_rows)
            internal_error("RESIZE_DONE without its RESIZE_BEGIN");
        apply_resize(m);
        break;
    case J_STAGE:
        if (h->b != m->id || h->count != h->a || h->a > MAXROWS)
            internal_error("STAGE over id %" PRIu64 ", model has %" PRIu64,
                           h->b, m->id);
        m->pending = P_PUBLISH;
        m->p_id = h->id;
        m->p_rows = h->a;
        memcpy(m->p_stamp, payload, h->a * sizeof *payload);
        break;
    case J_PUBLISH:
        if (m->pending != P_PUBLISH || h->id != m->p_id)
            internal_error("PUBLISH without its STAGE");
        if (h->gen != m->gen + 1)
            internal_error("PUBLISH of generation %" PRIu64 " after %" PRIu64,
                           h->gen, m->gen);
        apply_publish(m, h->id, h->gen);
        break;
    default:
        internal_error("journal record of type %u", h->type);
    }
    stats.records[h->type]++;
}

/* Applies every intact record; stops at the first torn one. */
static void read_journal(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        internal_error("opening the journal %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0)
        internal_error("stat of the journal: %s", strerror(errno));
    size_t len = (size_t)st.st_size, off = 0;
    unsigned char *buf = malloc(len ? len : 1);
    if (!buf)
        internal_error("out of memory");
    if (len && pread(fd, buf, len, 0) != (ssize_t)len)
        internal_error("reading the journal: %s", strerror(errno));
    close(fd);
    while (off + sizeof(jhead) + 8 <= len) {
        jhead h;
        memcpy(&h, buf + off, sizeof h);
        if (h.magic != J_MAGIC || h.type == 0 || h.type >= J_NTYPES ||
            h.count > J_MAX_WORDS)
            break;
        size_t rlen = sizeof h + 8 * (size_t)h.count;
        if (off + rlen + 8 > len)
            break;
        uint64_t want;
        memcpy(&want, buf + off + rlen, 8);
        if (XXH3_64bits(buf + off, rlen) != want)
            break;
        uint64_t *payload = malloc(8 * (size_t)h.count + 8);
        if (!payload)
            internal_error("out of memory");
        memcpy(payload, buf + off + sizeof h, 8 * (size_t)h.count);
        apply_record(&h, payload);
        free(payload);
        off += rlen + 8;
    }
    if (off != len)
        stats.torn_journal_tails++;
    free(buf);
}

/* ---- the parent: checking the store ---------------------------------------------- */

static const char *state_name(mms_state s)
{
    switch (s) {
    case MMS_STATE_CLEAN: return "CLEAN";
    case MMS_STATE_WRITING: return "WRITING";
    case MMS_STATE_INTERRUPTED: return "INTERRUPTED";
    case MMS_STATE_STAGED: return "STAGED";
    }
    return "(not a state)";
}

typedef struct listing {
    int count;
    bool seen[NSLOTS];
} listing;

static int list_fn(const char *name, const mms_info *info, void *ctx)
{
    listing *l = ctx;
    int slot = -1;
    l->count++;
    for (int s = 0; s < NSLOTS; s++)
        if (strcmp(name, cfg[s].name) == 0)
            slot = s;
    if (slot < 0) {
        violation(-1, "list", "mms_list shows an unexpected array '%s'",
                  name);
        return 0;
    }
    if (l->seen[slot])
        violation(slot, "list", "mms_list shows it twice");
    l->seen[slot] = true;
    if (info->state != MMS_STATE_CLEAN &&
        info->state != MMS_STATE_INTERRUPTED)
        violation(slot, "no writer alive", "mms_list says state %s",
                  state_name(info->state));
    return 0;
}

static bool model_all_clean(const slot_model *m)
{
    for (uint64_t r = 0; r < m->rows; r++)
        if (!m->clean[r])
            return false;
    return true;
}

static int verify_fn(const char *name, uint64_t block, uint64_t first_row,
                     uint64_t nrows, void *ctx)
{
    (void)name;
    char *where = ctx;
    size_t used = strlen(where);
    if (used < 200)
        snprintf(where + used, 256 - used, "%sblock %" PRIu64 " (rows %"
                 PRIu64 "+%" PRIu64 ")", used ? ", " : "", block, first_row,
                 nrows);
    return 0;
}

static void check_slot(mms_store *store, int s)
{
    slot_model *m = &model[s];
    mms_info info;
    int rc = mms_stat(store, cfg[s].name, &info);
    if (rc != MMS_OK) {
        violation(s, "stat", "mms_stat returned %s: %s", mms_strerror(rc),
                  mms_errmsg());
        return;
    }
    mms_state before = info.state;
    if (before == MMS_STATE_INTERRUPTED)
        stats.interrupted_seen++;
    if (before != MMS_STATE_CLEAN && before != MMS_STATE_INTERRUPTED)
        violation(s, "no writer alive", "mms_stat says state %s, expected "
                  "CLEAN or INTERRUPTED", state_name(before));

    /* Resolve an act the writer began but did not report finished. */
    if (m->pending == P_PUBLISH) {
        stats.publish_open++;
        if (info.id == m->p_id) {
            stats.publish_committed++;
            apply_publish(m, m->p_id, m->gen + 1);
        } else if (info.id == m->id) {
            m->pending = P_NONE;
        } else {
            violation(s, "atomic publish", "the name has id %" PRIu64
                      ", neither the old version %" PRIu64 " nor the staged "
                      "one %" PRIu64, info.id, m->id, m->p_id);
            return;
        }
    } else if (m->pending == P_RESIZE) {
        stats.resize_open++;
        if (info.ndim == 2 && info.shape[0] == m->p_new_rows) {
            stats.resize_committed++;
            apply_resize(m);
        } else if (info.ndim == 2 && info.shape[0] == m->p_old_rows) {
            m->pending = P_NONE;
        } else {
            violation(s, "atomic resize", "the array has %" PRIu64 " rows, "
                      "neither the old %" PRIu64 " nor the new %" PRIu64,
                      info.shape[0], m->p_old_rows, m->p_new_rows);
            return;
        }
    }
    if (info.id != m->id || info.generation != m->gen ||
        info.dtype != MMS_INT64 || info.ndim != 2 ||
        info.shape[0] != m->rows || info.shape[1] != cfg[s].cols) {
        violation(s, "catalog matches the journal", "mms_stat says id %"
                  PRIu64 ", generation %" PRIu64 ", %d-d (%" PRIu64 ", %"
                  PRIu64 "); the journal says id %" PRIu64 ", generation %"
                  PRIu64 ", (%" PRIu64 ", %" PRIu64 ")", info.id,
                  info.generation, info.ndim, info.shape[0], info.shape[1],
                  m->id, m->gen, m->rows, cfg[s].cols);
        return;
    }

    /* Synced arrays verify; an array that fails is INTERRUPTED. */
    char where[256] = "";
    bool synced = model_all_clean(m);
    rc = mms_verify(store, cfg[s].name, verify_fn, where);
    if (rc == MMS_ERR_CHECKSUM) {
        stats.verify_failures++;
        if (synced)
            violation(s, "synced data verifies", "mms_verify fails (%s) "
                      "though every row was synced after its last write",
                      where);
        if (before != MMS_STATE_INTERRUPTED)
            violation(s, "torn writes are detected", "mms_verify fails (%s) "
                      "but the state was %s, not INTERRUPTED", where,
                      state_name(before));
        rc = mms_stat(store, cfg[s].name, &info);
        if (rc != MMS_OK || info.state != MMS_STATE_INTERRUPTED)
            violation(s, "torn writes are detected", "after a failed "
                      "verify mms_stat returns %s, state %s (expected "
                      "INTERRUPTED)", mms_strerror(rc),
                      state_name(info.state));
    } else if (rc == MMS_OK) {
        rc = mms_stat(store, cfg[s].name, &info);
        if (rc != MMS_OK || info.state != MMS_STATE_CLEAN)
            violation(s, "a passing verify clears INTERRUPTED", "after "
                      "mms_verify passed with no writer alive, mms_stat "
                      "returns %s, state %s (was %s)", mms_strerror(rc),
                      state_name(info.state), state_name(before));
    } else {
        violation(s, "verify", "mms_verify returned %s: %s",
                  mms_strerror(rc), mms_errmsg());
    }

    /* Every synced row holds what was synced. */
    mms_array *a = NULL;
    rc = mms_array_open(store, cfg[s].name, MMS_RDONLY, &a);
    if (rc != MMS_OK) {
        violation(s, "the array opens", "mms_array_open (read-only) "
                  "returned %s: %s", mms_strerror(rc), mms_errmsg());
        return;
    }
    const int64_t *data = mms_array_data(a);
    uint64_t cols = cfg[s].cols;
    for (uint64_t r = 0; r < m->rows; r++) {
        if (!m->clean[r] || m->stamp[r] == STAMP_UNKNOWN)
            continue;
        stats.rows_checked++;
        int64_t j = row_differs(data + r * cols, cols, r, m->stamp[r]);
        if (j >= 0) {
            violation(s, "synced data is never lost", "row %" PRIu64
                      " was synced (stamp %016" PRIx64 ") but column %"
                      PRId64 " holds %" PRId64 ", expected %" PRId64, r,
                      m->stamp[r], j, data[r * cols + (uint64_t)j],
                      cell(m->stamp[r], r, (uint64_t)j));
            break;
        }
    }
    mms_array_close(a);

    /* The dead writer's range locks are gone. Closing the writable handle
     * syncs every row: they are all durable from here on. */
    rc = mms_array_open(store, cfg[s].name, MMS_RDWR, &a);
    if (rc != MMS_OK) {
        violation(s, "the array opens", "mms_array_open (read-write) "
                  "returned %s: %s", mms_strerror(rc), mms_errmsg());
        return;
    }
    mms_lock *lock = NULL;
    rc = mms_lock_range(a, 0, 0, MMS_LOCK_EXCLUSIVE, 0, &lock);
    if (rc != MMS_OK)
        violation(s, "locks die with their holder", "an exclusive range "
                  "lock over all rows with timeout 0 returned %s: %s",
                  mms_strerror(rc), mms_errmsg());
    else if ((rc = mms_unlock(lock)) != MMS_OK)
        violation(s, "unlock", "mms_unlock returned %s: %s",
                  mms_strerror(rc), mms_errmsg());
    rc = mms_array_close(a);
    if (rc != MMS_OK) {
        violation(s, "close", "closing the checker's writable handle "
                  "returned %s: %s", mms_strerror(rc), mms_errmsg());
        return;
    }
    for (uint64_t r = 0; r < m->rows; r++)
        m->clean[r] = true;
}

static void check_store(const char *store_path)
{
    mms_store *store = NULL;
    int rc = mms_store_open(store_path, 0, &store);
    if (rc != MMS_OK) {
        violation(-1, "the store opens", "mms_store_open returned %s: %s",
                  mms_strerror(rc), mms_errmsg());
        return;
    }
    listing l = {0};
    rc = mms_list(store, NULL, list_fn, &l);
    if (rc != MMS_OK)
        violation(-1, "list", "mms_list returned %s: %s", mms_strerror(rc),
                  mms_errmsg());
    for (int s = 0; s < NSLOTS; s++)
        if (rc == MMS_OK && !l.seen[s])
            violation(s, "list", "mms_list does not show it");
    mms_lock *lock = NULL;
    rc = mms_lock_named(store, OP_LOCK, MMS_LOCK_EXCLUSIVE, 0, &lock);
    if (rc != MMS_OK)
        violation(-1, "locks die with their holder", "the named lock '%s' "
                  "with timeout 0 returned %s: %s", OP_LOCK, mms_strerror(rc),
                  mms_errmsg());
    else
        mms_unlock(lock);
    for (int s = 0; s < NSLOTS; s++)
        check_slot(store, s);
    rc = mms_store_close(store);
    if (rc != MMS_OK)
        violation(-1, "close", "mms_store_close returned %s: %s",
                  mms_strerror(rc), mms_errmsg());
}

/* ---- the parent: setting up and running rounds ------------------------------------ */

static void setup_store(const char *store_path)
{
    mms_store *store = NULL;
    int rc = mms_store_set_default_block_size(BLOCK_SIZE);
    if (rc == MMS_OK)
        rc = mms_store_open(store_path, MMS_CREATE, &store);
    if (rc != MMS_OK)
        internal_error("creating the store %s: %s: %s", store_path,
                       mms_strerror(rc), mms_errmsg());
    for (int s = 0; s < NSLOTS; s++) {
        uint64_t shape[2] = {cfg[s].init_rows, cfg[s].cols};
        mms_array *a = NULL;
        mms_info info;
        if ((rc = mms_array_create(store, cfg[s].name, MMS_INT64, 2, shape, 0,
                                   &a)) != MMS_OK ||
            (rc = mms_array_info(a, &info)) != MMS_OK ||
            (rc = mms_array_close(a)) != MMS_OK)
            internal_error("creating '%s': %s: %s", cfg[s].name,
                           mms_strerror(rc), mms_errmsg());
        slot_model *m = &model[s];
        m->id = info.id;
        m->gen = info.generation;
        m->rows = cfg[s].init_rows;
        for (uint64_t r = 0; r < m->rows; r++) {
            m->stamp[r] = 0;
            m->clean[r] = true;
        }
    }
    if ((rc = mms_store_close(store)) != MMS_OK)
        internal_error("closing the store: %s", mms_strerror(rc));
}

static void sleep_us(uint64_t us)
{
    struct timespec t = {(time_t)(us / 1000000), (long)(us % 1000000) * 1000};
    while (nanosleep(&t, &t) != 0 && errno == EINTR)
        ;
}

/* Waits up to timeout_ms for the ready byte: 1 when it came, 0 if the
 * child went away or said nothing in time. */
static int wait_ready(int fd, int timeout_ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int r;
    do
        r = poll(&p, 1, timeout_ms);
    while (r < 0 && errno == EINTR);
    char c;
    return r > 0 && read(fd, &c, 1) == 1;
}

static void run_round(const char *store_path, const char *journal,
                      uint64_t *rng, uint64_t seed)
{
    int jf = open(journal, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int pipefd[2];
    if (jf < 0)
        internal_error("opening the journal %s: %s", journal,
                       strerror(errno));
    if (pipe2(pipefd, O_CLOEXEC) != 0)
        internal_error("pipe: %s", strerror(errno));
    uint64_t child_seed = mix64(seed ^ mix64((uint64_t)round_no + 1));
    bool wait_for_ready = rng_below(rng, 8) != 0;
    uint64_t delay_us = rng_below(rng, 20001);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        internal_error("fork: %s", strerror(errno));
    if (pid == 0) {
        close(pipefd[0]);
        jfd = jf;
        joff = 0;
        wround = round_no;
        writer_main(store_path, pipefd[1], child_seed);
    }
    close(pipefd[1]);
    close(jf);
    if (wait_for_ready) {
        if (!wait_ready(pipefd[0], 60000))
            stats.killed_before_ready++; /* it died; waitpid tells why */
    } else {
        stats.killed_before_ready++;
    }
    sleep_us(delay_us);
    kill(pid, SIGKILL);
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            internal_error("waitpid: %s", strerror(errno));
    close(pipefd[0]);
    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL) {
        violation(-1, "the writer runs until killed", "the writer ended "
                  "by itself (status 0x%x); its message is above",
                  (unsigned)status);
        return;
    }
    read_journal(journal);
    check_store(store_path);
}

/* Files in STORE/data: the arrays plus what killed writers left (staged
 * versions never published, files between a commit and their unlink),
 * which 'mmstore check' reports. */
static int count_data_files(const char *store_path)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/data", store_path);
    DIR *d = opendir(path);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: torture [--kills N] [--seed S] [--store DIR]\n"
               "  --kills N    kill rounds (default 50)\n"
               "  --seed S     random seed (default: from the clock)\n"
               "  --store DIR  make the store there (must not exist); it is "
               "kept\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"kills", required_argument, NULL, 'k'},
        {"seed", required_argument, NULL, 's'},
        {"store", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    long kills = 50;
    uint64_t seed;
    bool have_seed = false;
    const char *store_arg = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        char *end;
        switch (c) {
        case 'k':
            errno = 0;
            kills = strtol(optarg, &end, 10);
            if (errno || *end || kills < 1) {
                fprintf(stderr, "torture: --kills wants a positive number\n");
                return 2;
            }
            break;
        case 's':
            errno = 0;
            seed = strtoull(optarg, &end, 0);
            if (errno || *end) {
                fprintf(stderr, "torture: --seed wants a number\n");
                return 2;
            }
            have_seed = true;
            break;
        case 'd':
            store_arg = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }
    if (!have_seed) {
        struct timespec t;
        clock_gettime(CLOCK_REALTIME, &t);
        seed = mix64((uint64_t)t.tv_nsec ^ ((uint64_t)t.tv_sec << 20) ^
                     (uint64_t)getpid());
    }

    const char *base = getenv("TMPDIR");
    char workdir[PATH_MAX], store_path[PATH_MAX + 16], journal[PATH_MAX + 16];
    snprintf(workdir, sizeof workdir, "%s/mmstore-torture-XXXXXX",
             base && *base ? base : "/tmp");
    if (!mkdtemp(workdir)) {
        fprintf(stderr, "torture: mkdtemp %s: %s\n", workdir,
                strerror(errno));
        return 99;
    }
    snprintf(store_path, sizeof store_path, "%s",
             store_arg ? store_arg : workdir);
    if (!store_arg)
        strncat(store_path, "/store", sizeof store_path - strlen(store_path) - 1);
    snprintf(journal, sizeof journal, "%s/journal", workdir);
    if (store_arg && access(store_arg, F_OK) == 0) {
        fprintf(stderr, "torture: %s exists; --store wants a new path\n",
                store_arg);
        tu_rmrf(workdir);
        return 2;
    }
    printf("torture: %ld kills, seed %" PRIu64 ", store %s\n", kills, seed,
           store_path);
    fflush(stdout);

    setup_store(store_path);
    uint64_t rng = seed;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    long passed = 0, failed = 0;
    for (round_no = 1; round_no <= kills; round_no++) {
        int before = violations;
        run_round(store_path, journal, &rng, seed);
        if (violations == before) {
            passed++;
        } else {
            failed++;
            break; /* the model no longer describes the store */
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) +
                  (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;

    printf("torture: %ld rounds in %.1f s\n", passed + failed, secs);
    printf("  journal records: ");
    for (int t = 1; t < J_NTYPES; t++)
        printf("%s %" PRIu64 "%s", jname[t], stats.records[t],
               t + 1 < J_NTYPES ? ", " : "\n");
    printf("  torn journal tails (killed while journaling): %" PRIu64 "\n",
           stats.torn_journal_tails);
    printf("  killed before the writer was ready: %" PRIu64 "\n",
           stats.killed_before_ready);
    printf("  arrays found INTERRUPTED: %" PRIu64 ", of which failing "
           "verify (torn, detected): %" PRIu64 "\n", stats.interrupted_seen,
           stats.verify_failures);
    printf("  resizes cut by the kill: %" PRIu64 " (%" PRIu64 " had "
           "committed)\n", stats.resize_open, stats.resize_committed);
    printf("  publishes cut by the kill: %" PRIu64 " (%" PRIu64 " had "
           "committed)\n", stats.publish_open, stats.publish_committed);
    printf("  synced rows checked: %" PRIu64 "\n", stats.rows_checked);
    printf("  files in data/: %d for %d arrays (the rest were left by "
           "killed staged versions or publishes)\n",
           count_data_files(store_path), NSLOTS);
    if (failed) {
        printf("torture: FAILED in round %d; the store and journal are kept "
               "in %s and %s; rerun with --seed %" PRIu64 "\n", round_no,
               store_path, journal, seed);
    } else {
        if (!store_arg)
            tu_rmrf(workdir);
        else {
            unlink(journal);
            rmdir(workdir);
        }
    }
    printf("RESULT: %ld passed, %ld failed\n", passed, failed);
    return failed ? 1 : 0;
}
