/* hello.c - two processes share one array, with no copy: the parent
 * creates a float64 (4, 3) array and fills it; a forked child attaches by
 * name and doubles [0, 0]; the parent sees it through its own mapping.
 * usage: hello STORE_DIR
 * build: cc -o hello hello.c $(pkg-config --cflags --libs mmstore)
 */
#include <mmstore.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

static int fail(const char *what, int rc)
{
    fprintf(stderr, "hello: %s: %s: %s\n", what, mms_strerror(rc),
            mms_errmsg());
    return 1;
}

/* After fork() the parent's store handle is not usable: open a new one. */
static int child(const char *dir)
{
    mms_store *store = NULL;
    mms_array *array = NULL;
    int rc, ret = 0;

    if ((rc = mms_store_open(dir, 0, &store)) != MMS_OK)
        return fail("child: open store", rc);
    if ((rc = mms_array_open(store, "hello", MMS_RDWR, &array)) != MMS_OK)
        ret = fail("child: open array", rc);
    else
        ((double *)mms_array_data(array))[0] *= 2;    /* element [0, 0] */
    if ((rc = mms_array_close(array)) != MMS_OK)      /* syncs the writes */
        ret = fail("child: close array", rc);
    if ((rc = mms_store_close(store)) != MMS_OK)
        ret = fail("child: close store", rc);
    return ret;
}

int main(int argc, char **argv)
{
    const uint64_t shape[2] = {4, 3};
    mms_store *store = NULL;
    mms_array *array = NULL;
    int rc, status, ret = 1;

    if (argc != 2) {
        fprintf(stderr, "usage: hello STORE_DIR\n");
        return 2;
    }
    if ((rc = mms_store_open(argv[1], MMS_CREATE, &store)) != MMS_OK)
        return fail("open store", rc);
    if ((rc = mms_array_create(store, "hello", MMS_FLOAT64, 2, shape, 0,
                               &array)) != MMS_OK) {
        fail("create array", rc);
        goto out;
    }
    double *x = mms_array_data(array);
    for (int i = 0; i < 4 * 3; i++)
        x[i] = i + 1;
    if ((rc = mms_array_sync(array)) != MMS_OK) {
        fail("sync", rc);
        goto out;
    }
    printf("parent: x[0,0] = %g, mapped at %p\n", x[0], (void *)x);

    fflush(stdout);                     /* else the child prints it again */
    pid_t pid = fork();
    if (pid < 0) {
        perror("hello: fork");
        goto out;
    }
    if (pid == 0)
        _exit(child(argv[1]));
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0) {
        fprintf(stderr, "hello: the child process failed\n");
        goto out;
    }
    if (x[0] != 2.0) {
        fprintf(stderr, "hello: the parent does not see the child's write\n");
        goto out;
    }
    printf("child %d doubled it; parent: x[0,0] = %g, same mapping %p\n",
           (int)pid, x[0], (void *)x);
    printf("data file: %s\n", mms_array_path(array));
    ret = 0;
out:
    if ((rc = mms_array_close(array)) != MMS_OK)
        ret = fail("close array", rc);
    if ((rc = mms_store_close(store)) != MMS_OK)
        ret = fail("close store", rc);
    return ret;
}
