/* attach.c - create an array by name, attach to it from another process,
 * and find it again after both have gone.
 *   attach STORE_DIR create   makes "attach/numbers", int64 (1000,) holding
 *                             0, 10, 20, ..., syncs it, then watches
 *                             element 0 in its own mapping until another
 *                             process changes it (up to 60 s)
 *   attach STORE_DIR change   a separately started process: attaches by
 *                             name, reads the values, sets element 0 to 42
 *   attach STORE_DIR read     later, after both have exited (or after a
 *                             reboot): the data is still there
 * build: cc -O2 -o attach attach.c $(pkg-config --cflags --libs mmstore)
 */
#include <mmstore.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NAME "attach/numbers"
#define N 1000

static int fail(const char *what, int rc)
{
    fprintf(stderr, "attach: %s: %s: %s\n", what, mms_strerror(rc),
            mms_errmsg());
    return 1;
}

/* Elements 1..N-1 hold 10 * i, as create wrote them. */
static int check_rest(const int64_t *x)
{
    for (int i = 1; i < N; i++)
        if (x[i] != 10 * (int64_t)i) {
            fprintf(stderr, "attach: element %d is %" PRId64 ", not %d\n",
                    i, x[i], 10 * i);
            return 1;
        }
    return 0;
}

static int create(mms_store *store)
{
    const uint64_t shape[1] = {N};
    mms_array *a = NULL;
    int rc, ret = 1;
    rc = mms_remove(store, NAME); /* a fresh start each run */
    if (rc != MMS_OK && rc != MMS_ERR_NOTFOUND)
        return fail("remove", rc);
    if ((rc = mms_array_create(store, NAME, MMS_INT64, 1, shape, 0, &a)) !=
        MMS_OK)
        return fail("create", rc);
    int64_t *x = mms_array_data(a); /* the file's pages, shared */
    for (int i = 0; i < N; i++)
        x[i] = 10 * (int64_t)i;
    if ((rc = mms_array_sync(a)) != MMS_OK) {
        fail("sync", rc);
        goto out;
    }
    printf("create (pid %d): '%s' = 0, 10, 20, ..., %d, synced; watching "
           "element 0\n", (int)getpid(), NAME, 10 * (N - 1));
    fflush(stdout);
    /* No reopen, no read(): the other process's store lands in these
     * very pages. An atomic load keeps the compiler from caching it. */
    int64_t v = 0;
    for (int ms = 0; ms < 60000 && v == 0; ms++) {
        struct timespec tick = {0, 1000000};
        nanosleep(&tick, NULL);
        mms_atomic_load_i64(a, 0, &v);
    }
    if (v == 0) {
        fprintf(stderr, "attach: nobody changed element 0 in 60 s\n");
        goto out;
    }
    printf("create (pid %d): element 0 is now %" PRId64 ": another "
           "process's write, seen in my own mapping\n", (int)getpid(), v);
    ret = check_rest(x);
out:
    if ((rc = mms_array_close(a)) != MMS_OK)
        ret = fail("close", rc);
    return ret;
}

static int change(mms_store *store)
{
    mms_array *a = NULL;
    mms_info info;
    int rc, ret = 1;
    if ((rc = mms_array_open(store, NAME, MMS_RDWR, &a)) != MMS_OK)
        return fail("open " NAME, rc);
    mms_array_info(a, &info);
    int64_t *x = mms_array_data(a);
    printf("change (pid %d): attached to '%s', %s (%" PRIu64 "), "
           "x[1] = %" PRId64 ", x[%d] = %" PRId64 "\n", (int)getpid(), NAME,
           mms_dtype_name(info.dtype), info.shape[0], x[1], N - 1, x[N - 1]);
    if (check_rest(x) != 0)
        goto out;
    mms_atomic_store_i64(a, 0, 42);
    /* Durable too, so that the third process finds it after a reboot. */
    if ((rc = mms_array_sync_range(a, 0, 1)) != MMS_OK) {
        fail("sync", rc);
        goto out;
    }
    printf("change (pid %d): set element 0 to 42 and synced it\n",
           (int)getpid());
    ret = 0;
out:
    if ((rc = mms_array_close(a)) != MMS_OK)
        ret = fail("close", rc);
    return ret;
}

static int read_back(mms_store *store)
{
    mms_array *a = NULL;
    int rc, ret = 1;
    if ((rc = mms_array_open(store, NAME, MMS_RDONLY, &a)) != MMS_OK)
        return fail("open " NAME, rc);
    const int64_t *x = mms_array_data(a);
    printf("read (pid %d): '%s' is still here: x[0] = %" PRId64 ", x[1] = "
           "%" PRId64 ", x[%d] = %" PRId64 "\n", (int)getpid(), NAME, x[0],
           x[1], N - 1, x[N - 1]);
    if (x[0] != 42)
        fprintf(stderr, "attach: element 0 is %" PRId64 ", not 42\n", x[0]);
    else
        ret = check_rest(x);
    if ((rc = mms_array_close(a)) != MMS_OK)
        ret = fail("close", rc);
    return ret;
}

int main(int argc, char **argv)
{
    mms_store *store = NULL;
    int rc, ret;
    if (argc != 3 || (strcmp(argv[2], "create") != 0 &&
                      strcmp(argv[2], "change") != 0 &&
                      strcmp(argv[2], "read") != 0)) {
        fprintf(stderr, "usage: attach STORE_DIR create|change|read\n");
        return 2;
    }
    /* Only the creator may create the store; the others attach to it. */
    unsigned flags = strcmp(argv[2], "create") == 0 ? MMS_CREATE : 0;
    if ((rc = mms_store_open(argv[1], flags, &store)) != MMS_OK)
        return fail("open store", rc);
    if (strcmp(argv[2], "create") == 0)
        ret = create(store);
    else if (strcmp(argv[2], "change") == 0)
        ret = change(store);
    else
        ret = read_back(store);
    if ((rc = mms_store_close(store)) != MMS_OK)
        ret = fail("close store", rc);
    return ret;
}
