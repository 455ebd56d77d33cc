/* ring.c - a producer and a consumer passing records through a bounded
 * ring buffer that lives in the store, so that it outlives them.
 *
 * Three arrays: "ring/ctl", uint32 (2,): HEAD, the number of records ever
 * written, and TAIL, the number ever consumed (they only grow; slot i %
 * SLOTS holds record i); "ring/slots", uint64 (SLOTS, 2): the records,
 * (sequence number, payload); "ring/out", uint64 (COUNT,): where the
 * consumer delivers record i's payload, at index i.
 *
 * No semaphores: a side that cannot go on sleeps in mms_wait_u32 on the
 * other side's counter (a futex on the shared mapping), and the other side
 * calls mms_wake after moving its counter, when the ring was empty (or
 * full) before. The producer is the only writer of HEAD, the consumer the
 * only writer of TAIL.
 *
 * Exactly once, even if the consumer is killed: delivering record i means
 * writing its payload to out[i], then advancing TAIL. A consumer killed
 * between the two leaves out[TAIL] already written; the next consumer
 * sees that and moves TAIL on without delivering it again. Any other
 * already-delivered record would be a duplicate, and is reported.
 *
 *   ring STORE_DIR init COUNT          (re)make the three arrays, empty
 *   ring STORE_DIR produce COUNT       write records 0 .. COUNT-1 (resumes
 *                                      at HEAD if restarted)
 *   ring STORE_DIR consume COUNT [--die-after N]
 *                                      deliver until TAIL = COUNT; with
 *                                      --die-after, SIGKILL itself after
 *                                      delivering N records, before
 *                                      advancing TAIL past the last
 *   ring STORE_DIR check COUNT         every record delivered once, in order
 *   ring STORE_DIR [COUNT]             the whole story (default 100000): a
 *                                      producer, a consumer that is killed,
 *                                      a new consumer that resumes, check
 * build: cc -O2 -o ring ring.c $(pkg-config --cflags --libs mmstore)
 */
#include <mmstore.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CTL "ring/ctl"
#define SLOTS_NAME "ring/slots"
#define OUT "ring/out"
#define SLOTS 64
enum { HEAD, TAIL };

static int fail(const char *what, int rc)
{
    fprintf(stderr, "ring: %s: %s: %s\n", what, mms_strerror(rc),
            mms_errmsg());
    return 1;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/* Record i's payload: never 0 (0 in out[] means "not delivered"). */
static uint64_t payload(uint64_t i)
{
    return (i + 1) * 0x9E3779B97F4A7C15ull | 1;
}

static uint32_t load(mms_array *ctl, int which)
{
    int32_t v;
    mms_atomic_load_i32(ctl, which, &v);
    return (uint32_t)v;
}

/* The three arrays, each opened read-write only by the role that writes
 * it: the producer writes slots, the consumer out, both ctl (each its own
 * counter). A reader's handle is MMS_RDONLY: the mapping is read-only, and
 * the process does not count as a writer of the array. */
struct ring {
    mms_store *store;
    mms_array *ctl, *slots, *out;
    uint64_t count;
};
enum role { PRODUCER, CONSUMER, CHECKER };

static int ring_open(const char *dir, uint64_t count, enum role role,
                     struct ring *r)
{
    int rc;
    mms_info info;
    unsigned ctl_mode = role == CHECKER ? MMS_RDONLY : MMS_RDWR;
    unsigned slots_mode = role == PRODUCER ? MMS_RDWR : MMS_RDONLY;
    unsigned out_mode = role == CONSUMER ? MMS_RDWR : MMS_RDONLY;
    *r = (struct ring){.count = count};
    if ((rc = mms_store_open(dir, 0, &r->store)) != MMS_OK)
        return fail("open store", rc);
    if ((rc = mms_array_open(r->store, CTL, ctl_mode, &r->ctl)) != MMS_OK ||
        (rc = mms_array_open(r->store, SLOTS_NAME, slots_mode, &r->slots)) !=
            MMS_OK ||
        (rc = mms_array_open(r->store, OUT, out_mode, &r->out)) != MMS_OK)
        return fail("open the ring (run 'ring STORE init COUNT' first)", rc);
    mms_array_info(r->out, &info);
    if (info.shape[0] != count) {
        fprintf(stderr, "ring: the ring was made for %" PRIu64 " records, "
                        "not %" PRIu64 "\n", info.shape[0], count);
        return 1;
    }
    return 0;
}

static int ring_close(struct ring *r)
{
    int rc, ret = 0;
    mms_array *a[3] = {r->ctl, r->slots, r->out};
    for (int i = 0; i < 3; i++)
        if ((rc = mms_array_close(a[i])) != MMS_OK)
            ret = fail("close", rc);
    if ((rc = mms_store_close(r->store)) != MMS_OK)
        ret = fail("close store", rc);
    return ret;
}

static int init(const char *dir, uint64_t count)
{
    const char *names[3] = {CTL, SLOTS_NAME, OUT};
    const mms_dtype dtypes[3] = {MMS_UINT32, MMS_UINT64, MMS_UINT64};
    const uint64_t shapes[3][2] = {{2, 0}, {SLOTS, 2}, {count, 0}};
    const int ndims[3] = {1, 2, 1};
    mms_store *store;
    int rc, ret = 0;
    if ((rc = mms_store_open(dir, MMS_CREATE, &store)) != MMS_OK)
        return fail("open store", rc);
    for (int i = 0; i < 3 && ret == 0; i++) {
        mms_array *a;
        rc = mms_remove(store, names[i]);
        if (rc != MMS_OK && rc != MMS_ERR_NOTFOUND)
            ret = fail("remove", rc);
        else if ((rc = mms_array_create(store, names[i], dtypes[i], ndims[i],
                                        shapes[i], 0, &a)) != MMS_OK ||
                 (rc = mms_array_close(a)) != MMS_OK)
            ret = fail("create", rc);
    }
    if ((rc = mms_store_close(store)) != MMS_OK)
        ret = fail("close store", rc);
    if (ret == 0)
        printf("init: an empty ring of %d slots for %" PRIu64 " records\n",
               SLOTS, count);
    return ret;
}

static int produce(const char *dir, uint64_t count)
{
    struct ring r;
    if (ring_open(dir, count, PRODUCER, &r) != 0) {
        ring_close(&r);
        return 1;
    }
    uint64_t (*slot)[2] = mms_array_data(r.slots);
    uint32_t head = load(r.ctl, HEAD), first = head;
    uint64_t wakes = 0;
    double t0 = now();
    while (head < count) {
        uint32_t tail = load(r.ctl, TAIL);
        if (head - tail == SLOTS) { /* full: sleep until TAIL moves */
            mms_wait_u32(r.ctl, TAIL, tail, -1);
            continue;
        }
        slot[head % SLOTS][0] = head;
        slot[head % SLOTS][1] = payload(head);
        /* Publish it: the atomic store orders the slot's writes before
         * the new HEAD for whoever loads HEAD. */
        mms_atomic_store_i32(r.ctl, HEAD, (int32_t)++head);
        /* The consumer sleeps only on an empty ring (HEAD == TAIL). So a
         * wake (a system call) is needed only if the ring was empty
         * before this record: TAIL, loaded after our store, equals the
         * old HEAD. Both sides store, then load the other's counter, all
         * sequentially consistent: one of them always sees the other. */
        if (load(r.ctl, TAIL) == head - 1) {
            mms_wake(r.ctl, HEAD, 1);
            wakes++;
        }
    }
    printf("producer (pid %d): wrote records %" PRIu32 "-%" PRIu64 " in "
           "%.3f s (%" PRIu64 " wake calls)\n", (int)getpid(), first,
           count - 1, now() - t0, wakes);
    return ring_close(&r);
}

static int consume(const char *dir, uint64_t count, uint64_t die_after)
{
    struct ring r;
    if (ring_open(dir, count, CONSUMER, &r) != 0) {
        ring_close(&r);
        return 1;
    }
    const uint64_t (*slot)[2] = mms_array_data(r.slots);
    uint64_t *out = mms_array_data(r.out);
    uint32_t tail = load(r.ctl, TAIL), first = tail;
    uint64_t delivered = 0, wakes = 0;
    int ret = 1;
    double t0 = now();
    printf("consumer (pid %d): %s at record %" PRIu32 "\n", (int)getpid(),
           tail ? "resuming" : "starting", tail);
    /* A consumer killed after delivering out[tail] but before moving TAIL
     * on: that record was delivered; do not deliver it again. */
    if (tail < count && out[tail] != 0) {
        printf("consumer (pid %d): record %" PRIu32 " was delivered before "
               "the last consumer died; not again\n", (int)getpid(), tail);
        mms_atomic_store_i32(r.ctl, TAIL, (int32_t)++tail);
        mms_wake(r.ctl, TAIL, 1);
    }
    fflush(stdout);
    while (tail < count) {
        uint32_t head = load(r.ctl, HEAD);
        if (head == tail) { /* empty: sleep until HEAD moves */
            mms_wait_u32(r.ctl, HEAD, head, -1);
            continue;
        }
        const uint64_t *rec = slot[tail % SLOTS];
        if (rec[0] != tail || rec[1] != payload(tail)) {
            fprintf(stderr, "ring: slot %u holds record %" PRIu64 ", "
                    "expected %" PRIu32 ": out of order\n", tail % SLOTS,
                    rec[0], tail);
            goto out;
        }
        if (out[tail] != 0) {
            fprintf(stderr, "ring: record %" PRIu32 " delivered twice\n",
                    tail);
            goto out;
        }
        out[tail] = rec[1]; /* deliver */
        if (++delivered == die_after) {
            printf("consumer (pid %d): delivered records %" PRIu32 "-%"
                   PRIu32 "; killed (SIGKILL) before moving TAIL past %"
                   PRIu32 "\n", (int)getpid(), first, tail, tail);
            fflush(stdout);
            raise(SIGKILL);
        }
        mms_atomic_store_i32(r.ctl, TAIL, (int32_t)++tail);
        /* The producer sleeps only on a full ring: wake it only if the
         * ring was full before this record left it. */
        if (load(r.ctl, HEAD) == tail - 1 + SLOTS) {
            mms_wake(r.ctl, TAIL, 1);
            wakes++;
        }
    }
    printf("consumer (pid %d): delivered %" PRIu64 " records, up to %"
           PRIu64 ", in %.3f s (%" PRIu64 " wake calls)\n", (int)getpid(),
           delivered, count - 1, now() - t0, wakes);
    /* Durable before we say so: a consumer that stops for good syncs. */
    int rc;
    if ((rc = mms_array_sync(r.out)) != MMS_OK ||
        (rc = mms_array_sync_range(r.ctl, TAIL, 1)) != MMS_OK) {
        fail("sync", rc);
        goto out;
    }
    ret = 0;
out:
    if (ring_close(&r) != 0)
        ret = 1;
    return ret;
}

static int check(const char *dir, uint64_t count)
{
    struct ring r;
    int ret = 1;
    if (ring_open(dir, count, CHECKER, &r) != 0)
        goto out;
    const uint64_t *out = mms_array_data(r.out);
    uint32_t head = load(r.ctl, HEAD), tail = load(r.ctl, TAIL);
    if (head != count || tail != count) {
        fprintf(stderr, "ring: HEAD %" PRIu32 ", TAIL %" PRIu32 ", expected "
                "%" PRIu64 " for both\n", head, tail, count);
        goto out;
    }
    for (uint64_t i = 0; i < count; i++)
        if (out[i] != payload(i)) {
            fprintf(stderr, "ring: out[%" PRIu64 "] is %#" PRIx64 ", not "
                    "record %" PRIu64 "'s payload\n", i, out[i], i);
            goto out;
        }
    printf("check: all %" PRIu64 " records delivered once, in order, "
           "HEAD = TAIL = %" PRIu64 ": OK\n", count, count);
    ret = 0;
out:
    if (ring_close(&r) != 0)
        ret = 1;
    return ret;
}

/* Runs this program's fn in a child; returns its pid. */
static pid_t spawn(int (*fn)(const char *, uint64_t, uint64_t),
                   const char *dir, uint64_t count, uint64_t arg)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        int rc = fn(dir, count, arg);
        fflush(stdout); /* _exit does not flush */
        _exit(rc);
    }
    return pid;
}

static int produce3(const char *dir, uint64_t count, uint64_t unused)
{
    (void)unused;
    return produce(dir, count);
}

static int waited(pid_t pid, const char *who, int want_signal)
{
    int status;
    if (pid < 0 || waitpid(pid, &status, 0) != pid) {
        fprintf(stderr, "ring: %s: fork or wait failed\n", who);
        return 1;
    }
    if (want_signal ? WIFSIGNALED(status) && WTERMSIG(status) == want_signal
                    : WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    fprintf(stderr, "ring: %s ended unexpectedly (status %#x)\n", who,
            status);
    return 1;
}

/* The whole story, in child processes that share nothing but the store. */
static int story(const char *dir, uint64_t count)
{
    if (init(dir, count) != 0)
        return 1;
    pid_t producer = spawn(produce3, dir, count, 0);
    pid_t consumer = spawn(consume, dir, count, count / 3);
    if (waited(consumer, "first consumer", SIGKILL) != 0)
        return 1;
    printf("parent: the consumer is dead; the producer fills the ring and "
           "waits\n");
    struct timespec pause = {0, 200000000};
    nanosleep(&pause, NULL); /* a while with nobody consuming */
    consumer = spawn(consume, dir, count, 0);
    if (waited(consumer, "second consumer", 0) != 0 ||
        waited(producer, "producer", 0) != 0)
        return 1;
    return check(dir, count);
}

static uint64_t number(const char *s)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    return *s && !*end && v > 0 && v < 4000000000ull ? v : 0;
}

int main(int argc, char **argv)
{
    const char *usage =
        "usage: ring STORE_DIR [COUNT]\n"
        "       ring STORE_DIR init|produce|check COUNT\n"
        "       ring STORE_DIR consume COUNT [--die-after N]\n";
    if (argc == 2 || (argc == 3 && number(argv[2])))
        return story(argv[1], argc == 3 ? number(argv[2]) : 100000);
    uint64_t count = argc >= 4 ? number(argv[3]) : 0;
    if (count == 0) {
        fputs(usage, stderr);
        return 2;
    }
    if (argc == 4 && strcmp(argv[2], "init") == 0)
        return init(argv[1], count);
    if (argc == 4 && strcmp(argv[2], "produce") == 0)
        return produce(argv[1], count);
    if (argc == 4 && strcmp(argv[2], "check") == 0)
        return check(argv[1], count);
    if (strcmp(argv[2], "consume") == 0) {
        if (argc == 4)
            return consume(argv[1], count, 0);
        if (argc == 6 && strcmp(argv[4], "--die-after") == 0 &&
            number(argv[5]))
            return consume(argv[1], count, number(argv[5]));
    }
    fputs(usage, stderr);
    return 2;
}
