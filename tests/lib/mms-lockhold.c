/*
 * mms-lockhold.c - holds a row-range lock for the CLI tests (`mmstore
 * locks` must see it from another process).
 *
 * usage: mms-lockhold STORE NAME FIRST_ROW NROWS shared|exclusive
 *
 * Opens NAME (read-write for an exclusive lock, read-only for a shared
 * one), locks rows [FIRST_ROW, FIRST_ROW + NROWS) (NROWS 0 = to the end),
 * prints "locked" on stdout, and then holds the lock until it is killed
 * or its standard input reaches end of file. Exit status 0 after a normal
 * release, 1 on failure, 2 on a usage error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mmstore.h>

static int fail(int rc, const char *what)
{
    const char *why = mms_errmsg();
    fprintf(stderr, "mms-lockhold: %s: %s\n", what,
            why[0] ? why : mms_strerror(rc));
    return 1;
}

int main(int argc, char **argv)
{
    if (argc != 6 || (strcmp(argv[5], "shared") != 0 &&
                      strcmp(argv[5], "exclusive") != 0)) {
        fprintf(stderr, "usage: mms-lockhold STORE NAME FIRST_ROW NROWS "
                        "shared|exclusive\n");
        return 2;
    }
    int exclusive = strcmp(argv[5], "exclusive") == 0;
    uint64_t first = strtoull(argv[3], NULL, 10);
    uint64_t nrows = strtoull(argv[4], NULL, 10);

    mms_store *store;
    mms_array *array;
    mms_lock *lock;
    int rc = mms_store_open(argv[1], 0, &store);
    if (rc != MMS_OK)
        return fail(rc, "open store");
    rc = mms_array_open(store, argv[2], exclusive ? MMS_RDWR : MMS_RDONLY,
                        &array);
    if (rc != MMS_OK)
        return fail(rc, "open array");
    rc = mms_lock_range(array, first, nrows,
                        exclusive ? MMS_LOCK_EXCLUSIVE : MMS_LOCK_SHARED, 0,
                        &lock);
    if (rc != MMS_OK)
        return fail(rc, "lock");
    printf("locked\n");
    fflush(stdout);

    char buf[64];
    while (read(STDIN_FILENO, buf, sizeof buf) > 0)
        ;
    mms_unlock(lock);
    mms_array_close(array);
    mms_store_close(store);
    return 0;
}
