/* invert.c - parallel image processing. An image imported with
 * `mmstore import photo.png photo` is a uint8 (H, W, 3) array (or (H, W)
 * for grey). WORKERS processes each lock their own band of rows, invert
 * it in place in the shared mapping (255 - value), make the band durable
 * and unlock. No pixel is copied between processes: each worker attaches
 * to the array by name and writes straight into the same pages.
 * usage: invert STORE_DIR NAME [WORKERS]   (WORKERS 1..64, default 4)
 * Then `mmstore export NAME inverted.png`.
 * build: cc -O2 -o invert invert.c $(pkg-config --cflags --libs mmstore)
 */
#include <mmstore.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int fail(const char *what, int rc)
{
    fprintf(stderr, "invert: %s: %s: %s\n", what, mms_strerror(rc),
            mms_errmsg());
    return 1;
}

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* Worker k of n: rows [first, first + count) of the image. It runs in a
 * forked child, so it opens its own store handle (the parent's cannot be
 * used after fork) and attaches to the array by name. */
static int worker(const char *dir, const char *name, int k, uint64_t first,
                  uint64_t count)
{
    mms_store *store = NULL;
    mms_array *image = NULL;
    mms_lock *lock = NULL;
    mms_info info;
    int rc, ret = 1;
    if ((rc = mms_store_open(dir, 0, &store)) != MMS_OK)
        return fail("worker: open store", rc);
    if ((rc = mms_array_open(store, name, MMS_RDWR, &image)) != MMS_OK) {
        fail("worker: open", rc);
        goto out;
    }
    mms_array_info(image, &info);
    /* Our band only: other workers lock theirs at the same time, and
     * anyone else who takes these rows (another invert, a reader with a
     * shared lock) waits until we are done. */
    double t0 = now_ms();
    if ((rc = mms_lock_range(image, first, count, MMS_LOCK_EXCLUSIVE, -1,
                             &lock)) != MMS_OK) {
        fail("worker: lock", rc);
        goto out;
    }
    double t1 = now_ms();
    uint64_t row_bytes = info.nbytes / info.shape[0];
    uint8_t *px = (uint8_t *)mms_array_data(image) + first * row_bytes;
    for (uint64_t i = 0; i < count * row_bytes; i++)
        px[i] = 255 - px[i];
    /* Durable before the lock goes: whoever takes the rows next finds
     * them inverted, on disk and with their checksums. */
    if ((rc = mms_array_sync_range(image, first, count)) != MMS_OK) {
        fail("worker: sync", rc);
        goto out;
    }
    printf("worker %d (pid %d): rows %3" PRIu64 "-%3" PRIu64 " inverted "
           "and synced in %.2f ms (%.2f ms waiting for the lock)\n", k,
           (int)getpid(), first, first + count - 1, now_ms() - t1, t1 - t0);
    fflush(stdout); /* the child ends with _exit, which does not flush */
    ret = 0;
out:
    if ((rc = mms_unlock(lock)) != MMS_OK)
        ret = fail("worker: unlock", rc);
    if ((rc = mms_array_close(image)) != MMS_OK)
        ret = fail("worker: close", rc);
    if ((rc = mms_store_close(store)) != MMS_OK)
        ret = fail("worker: close store", rc);
    return ret;
}

int main(int argc, char **argv)
{
    mms_store *store = NULL;
    mms_array *image = NULL;
    mms_info info;
    uint8_t *before = NULL;
    int rc, ret = 1;
    int workers = argc > 3 ? atoi(argv[3]) : 4;
    if (argc < 3 || argc > 4 || workers < 1 || workers > 64) {
        fprintf(stderr, "usage: invert STORE_DIR NAME [WORKERS 1..64]\n");
        return 2;
    }
    const char *dir = argv[1], *name = argv[2];
    if ((rc = mms_store_open(dir, 0, &store)) != MMS_OK)
        return fail("open store", rc);
    if ((rc = mms_array_open(store, name, MMS_RDONLY, &image)) != MMS_OK) {
        fail(name, rc);
        goto out;
    }
    mms_array_info(image, &info);
    if (info.dtype != MMS_UINT8 || info.ndim < 2 || info.ndim > 3 ||
        info.shape[0] == 0) {
        fprintf(stderr, "invert: %s is not an image: uint8 (H, W) or "
                        "(H, W, C) expected\n", name);
        goto out;
    }
    printf("%s: %" PRIu64 " x %" PRIu64 " pixels, %d channel(s), %d "
           "workers\n", name, info.shape[1], info.shape[0],
           info.ndim == 3 ? (int)info.shape[2] : 1, workers);
    /* A private copy, only to check the result at the end. */
    if (!(before = malloc(info.nbytes ? info.nbytes : 1))) {
        perror("invert: malloc");
        goto out;
    }
    memcpy(before, mms_array_data(image), info.nbytes);

    /* Bands of whole rows, as even as the height allows. */
    uint64_t h = info.shape[0], first = 0;
    pid_t pids[64];
    int started = 0, failed = 0;
    fflush(stdout);
    for (int k = 0; k < workers; k++) {
        uint64_t count = h / workers + ((uint64_t)k < h % workers);
        if (count == 0)
            continue;
        pid_t pid = fork();
        if (pid < 0) {
            perror("invert: fork");
            failed = 1;
            break;
        }
        if (pid == 0)
            _exit(worker(dir, name, k, first, count));
        pids[started++] = pid;
        first += count;
    }
    for (int i = 0; i < started; i++) {
        int status;
        if (waitpid(pids[i], &status, 0) != pids[i] || !WIFEXITED(status) ||
            WEXITSTATUS(status) != 0)
            failed = 1;
    }
    if (failed) {
        fprintf(stderr, "invert: a worker failed\n");
        goto out;
    }

    /* Our read-only mapping shows the workers' writes: the same pages. */
    const uint8_t *after = mms_array_data(image);
    for (uint64_t i = 0; i < info.nbytes; i++)
        if (after[i] != 255 - before[i]) {
            fprintf(stderr, "invert: byte %" PRIu64 " is %d, not 255 - %d\n",
                    i, after[i], before[i]);
            goto out;
        }
    printf("every one of the %" PRIu64 " bytes is 255 minus what it was: "
           "OK\n", info.nbytes);
    ret = 0;
out:
    free(before);
    if ((rc = mms_array_close(image)) != MMS_OK)
        ret = fail("close", rc);
    if ((rc = mms_store_close(store)) != MMS_OK)
        ret = fail("close store", rc);
    return ret;
}
