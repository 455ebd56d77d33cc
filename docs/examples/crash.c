/* crash.c - surviving crashes. A writer process fills a float64 (ROWS,
 * COLS) table: it syncs a first batch of rows, then starts on a second
 * batch and is killed with SIGKILL half-way through it. Afterwards the
 * array is INTERRUPTED, mms_verify names the blocks written since the last
 * sync, and every synced row still holds its values.
 * usage: crash STORE_DIR        run the writer, kill it, check the damage
 *        crash STORE_DIR redo   what a user does next: write the second
 *                               batch again and sync it
 * Then `mmstore verify` passes and the array is clean again.
 * build: cc -O2 -o crash crash.c $(pkg-config --cflags --libs mmstore)
 */
#include <mmstore.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define NAME "crash/table"
#define ROWS 65536              /* 32 MiB: 2048 rows per 1 MiB block */
#define COLS 64
#define BATCH1 16384            /* rows 0 .. 16383: written and synced */
#define BATCH2 16384            /* rows 16384 .. 32767: the interrupted one */

static int fail(const char *what, int rc)
{
    fprintf(stderr, "crash: %s: %s: %s\n", what, mms_strerror(rc),
            mms_errmsg());
    return 1;
}

static double value(uint64_t row, int col)
{
    return (double)row + col / 1000.0;
}

static void write_rows(double *x, uint64_t first, uint64_t n)
{
    for (uint64_t r = first; r < first + n; r++)
        for (int c = 0; c < COLS; c++)
            x[r * COLS + c] = value(r, c);
}

/* The writer, in a child process with its own store handle. It tells the
 * parent through fd when it is half-way through the second batch, then
 * waits, as if the next rows took long to compute: the parent kills it. */
static int writer(const char *dir, int fd)
{
    mms_store *store = NULL;
    mms_array *table = NULL;
    int rc;
    if ((rc = mms_store_open(dir, 0, &store)) != MMS_OK)
        return fail("writer: open store", rc);
    if ((rc = mms_array_open(store, NAME, MMS_RDWR, &table)) != MMS_OK)
        return fail("writer: open", rc);
    double *x = mms_array_data(table);
    write_rows(x, 0, BATCH1);
    if ((rc = mms_array_sync_range(table, 0, BATCH1)) != MMS_OK)
        return fail("writer: sync", rc);
    printf("writer %d: rows 0-%d written and synced\n", (int)getpid(),
           BATCH1 - 1);
    write_rows(x, BATCH1, BATCH2 / 2);
    printf("writer %d: rows %d-%d written, not synced; rows %d-%d to go\n",
           (int)getpid(), BATCH1, BATCH1 + BATCH2 / 2 - 1,
           BATCH1 + BATCH2 / 2, BATCH1 + BATCH2 - 1);
    fflush(stdout);
    if (write(fd, "m", 1) != 1)         /* "I am mid-way" */
        return 1;
    for (;;)
        pause();
}

/* mms_verify's callback: each mismatching block must lie inside the rows
 * the writer touched after its last sync. */
struct tally {
    int blocks, outside;
};

static int on_mismatch(const char *name, uint64_t block, uint64_t first,
                       uint64_t nrows, void *ctx)
{
    struct tally *t = ctx;
    int inside = first >= BATCH1 && first + nrows <= BATCH1 + BATCH2;
    printf("mms_verify: %s: rows %" PRIu64 "-%" PRIu64 " (block %" PRIu64
           ") do not match%s\n", name, first, first + nrows - 1, block,
           inside ? "" : "  <- OUTSIDE the unsynced rows!");
    t->blocks++;
    t->outside += !inside;
    return 0;
}

/* The user's next step: the update was lost half-way, so do it again. */
static int redo(mms_store *store)
{
    mms_array *table = NULL;
    int rc;
    if ((rc = mms_array_open(store, NAME, MMS_RDWR, &table)) != MMS_OK)
        return fail("open", rc);
    write_rows(mms_array_data(table), BATCH1, BATCH2);
    if ((rc = mms_array_sync_range(table, BATCH1, BATCH2)) != MMS_OK) {
        mms_array_close(table);
        return fail("sync", rc);
    }
    if ((rc = mms_array_close(table)) != MMS_OK)
        return fail("close", rc);
    printf("redo: rows %d-%d written again and synced\n", BATCH1,
           BATCH1 + BATCH2 - 1);
    return 0;
}

int main(int argc, char **argv)
{
    const uint64_t shape[2] = {ROWS, COLS};
    mms_store *store = NULL;
    mms_array *table = NULL;
    mms_info info;
    int rc, p[2], status, ret = 1;
    struct tally bad = {0, 0};
    char byte;

    if (argc == 3 && strcmp(argv[2], "redo") == 0) {
        if ((rc = mms_store_open(argv[1], 0, &store)) != MMS_OK)
            return fail("open store", rc);
        ret = redo(store);
        if ((rc = mms_store_close(store)) != MMS_OK)
            ret = fail("close store", rc);
        return ret;
    }
    if (argc != 2) {
        fprintf(stderr, "usage: crash STORE_DIR [redo]\n");
        return 2;
    }
    if ((rc = mms_store_open(argv[1], MMS_CREATE, &store)) != MMS_OK)
        return fail("open store", rc);
    if ((rc = mms_remove(store, NAME)) != MMS_OK && rc != MMS_ERR_NOTFOUND) {
        fail("remove the previous run's table", rc);
        goto out;
    }
    if ((rc = mms_array_create(store, NAME, MMS_FLOAT64, 2, shape, 0,
                               &table)) != MMS_OK ||
        (rc = mms_array_close(table)) != MMS_OK) {
        fail("create", rc);
        goto out;
    }
    table = NULL;

    /* Start the writer and kill it when it says it is mid-way. */
    if (pipe(p) != 0) {
        perror("crash: pipe");
        goto out;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        perror("crash: fork");
        goto out;
    }
    if (pid == 0) {
        close(p[0]);
        _exit(writer(argv[1], p[1]));
    }
    close(p[1]);
    if (read(p[0], &byte, 1) != 1) {
        fprintf(stderr, "crash: the writer died before its second batch\n");
        goto out;
    }
    kill(pid, SIGKILL);
    if (waitpid(pid, &status, 0) != pid || !WIFSIGNALED(status) ||
        WTERMSIG(status) != SIGKILL) {
        fprintf(stderr, "crash: the writer was not killed by SIGKILL\n");
        goto out;
    }
    printf("parent: killed writer %d with SIGKILL in mid-update\n", (int)pid);

    /* The kernel dropped the dead writer's lock: the catalog still says
     * "dirty" and nobody holds the lock, so the array is INTERRUPTED. */
    if ((rc = mms_stat(store, NAME, &info)) != MMS_OK) {
        fail("stat", rc);
        goto out;
    }
    printf("state of '%s': %s\n", NAME, info.state == MMS_STATE_INTERRUPTED
                                            ? "interrupted" : "NOT interrupted");
    rc = mms_verify(store, NAME, on_mismatch, &bad);
    if (rc != MMS_ERR_CHECKSUM && rc != MMS_OK) {
        fail("verify", rc);
        goto out;
    }
    if (info.state != MMS_STATE_INTERRUPTED || bad.blocks == 0 ||
        bad.outside != 0) {
        fprintf(stderr, "crash: expected an interrupted array with "
                        "mismatches only in rows %d-%d\n", BATCH1,
                BATCH1 + BATCH2 - 1);
        goto out;
    }
    printf("%d blocks differ, all inside rows %d-%d (written after the last "
           "sync): OK\n", bad.blocks, BATCH1, BATCH1 + BATCH2 - 1);

    /* What was synced before the crash is intact. */
    if ((rc = mms_array_open(store, NAME, MMS_RDONLY, &table)) != MMS_OK) {
        fail("open", rc);
        goto out;
    }
    const double *x = mms_array_data(table);
    for (uint64_t r = 0; r < BATCH1; r++)
        for (int c = 0; c < COLS; c++)
            if (x[r * COLS + c] != value(r, c)) {
                fprintf(stderr, "crash: synced row %" PRIu64 " changed\n", r);
                goto out;
            }
    printf("rows 0-%d, synced before the crash, hold their values: OK\n",
           BATCH1 - 1);
    printf("next: mmstore check; then redo the update (crash STORE redo) "
           "and mmstore verify\n");
    ret = 0;
out:
    if ((rc = mms_array_close(table)) != MMS_OK)
        ret = fail("close", rc);
    if ((rc = mms_store_close(store)) != MMS_OK)
        ret = fail("close store", rc);
    return ret;
}
