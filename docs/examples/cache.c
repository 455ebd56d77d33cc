/* cache.c - a cache shared by services. Two separately started "service"
 * processes ask for the same array with mms_array_get_or_create: the first
 * computes it (a Mandelbrot image, about a second of work), the other waits
 * and attaches; restarted, both find it and attach at once. Then a new
 * version is published while a reader keeps the old one mapped, until it
 * calls mms_array_refresh.
 * usage: cache STORE_DIR              run the whole scenario (below)
 *        cache STORE_DIR service NAME one service: get or compute, report
 *        cache STORE_DIR publish      compute a new version and publish it
 * build: cc -O2 -o cache cache.c $(pkg-config --cflags --libs mmstore)
 */
#include <mmstore.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NAME "cache/mandelbrot"
#define ROWS 1024
#define COLS 1536
static const uint64_t shape[2] = {ROWS, COLS};

static int fail(const char *what, int rc)
{
    fprintf(stderr, "cache: %s: %s: %s\n", what, mms_strerror(rc),
            mms_errmsg());
    return 1;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The "expensive computation": escape times of the Mandelbrot set over a
 * window of the given width centred on (cx, cy), one uint16 per pixel. */
struct view {
    double cx, cy, width;
    int computed;           /* set by fill: this process did the work */
};

static int fill(mms_array *array, void *ctx)
{
    struct view *v = ctx;
    uint16_t *img = mms_array_data(array);
    const int max_iter = 1000;
    for (int r = 0; r < ROWS; r++)
        for (int c = 0; c < COLS; c++) {
            double x0 = v->cx + v->width * ((double)c / COLS - 0.5);
            double y0 = v->cy + v->width * ((double)r / COLS - 0.5 * ROWS / COLS);
            double x = 0, y = 0;
            int i = 0;
            for (; i < max_iter && x * x + y * y <= 4; i++) {
                double xt = x * x - y * y + x0;
                y = 2 * x * y + y0;
                x = xt;
            }
            img[(size_t)r * COLS + c] = (uint16_t)i;
        }
    v->computed = 1;
    return 0;               /* 0: publish it */
}

/* A checksum of the image as this handle maps it now. */
static uint64_t image_sum(const mms_array *array)
{
    const uint16_t *img = mms_array_data(array);
    uint64_t s = 0;
    for (size_t i = 0; i < (size_t)ROWS * COLS; i++)
        s += img[i];
    return s;
}

/* One service: get the image, computing it only if nobody has. Prints one
 * line: "service A: computed|attached in T s, generation G, sum S". */
static int service(const char *dir, const char *who)
{
    struct view v = {-0.5, 0.0, 3.0, 0};
    mms_store *store = NULL;
    mms_array *img = NULL;
    mms_info info;
    int rc, ret = 1;
    double t = now();

    if ((rc = mms_store_open(dir, MMS_CREATE, &store)) != MMS_OK)
        return fail("open store", rc);
    rc = mms_array_get_or_create(store, NAME, MMS_UINT16, 2, shape,
                                 MMS_RDONLY, fill, &v, 60000, &img);
    if (rc != MMS_OK || (rc = mms_array_info(img, &info)) != MMS_OK) {
        fail("get or create " NAME, rc);
        goto out;
    }
    t = now() - t;          /* from start to the image mapped: the cost */
    printf("service %s: %s in %.4f s, generation %" PRIu64 ", sum %" PRIu64
           "\n", who, v.computed ? "computed" : "attached", t,
           info.generation, image_sum(img));
    ret = 0;
out:
    if ((rc = mms_array_close(img)) != MMS_OK)
        ret = fail("close array", rc);
    if ((rc = mms_store_close(store)) != MMS_OK)
        ret = fail("close store", rc);
    return ret;
}

/* A new version (a close-up of the set) built invisibly with MMS_STAGED,
 * then published in one step: readers see the old image or the new one,
 * never a mix. Prints "publish: generation G, sum S". */
static int publish(const char *dir)
{
    struct view v = {-0.7453, 0.1127, 0.0065, 0};
    mms_store *store = NULL;
    mms_array *img = NULL;
    mms_info info;
    int rc, ret = 1;

    if ((rc = mms_store_open(dir, 0, &store)) != MMS_OK)
        return fail("open store", rc);
    rc = mms_array_create(store, NAME, MMS_UINT16, 2, shape, MMS_STAGED, &img);
    if (rc != MMS_OK) {
        fail("create a staged version", rc);
        goto out;
    }
    fill(img, &v);
    if ((rc = mms_array_publish(img)) != MMS_OK ||
        (rc = mms_array_info(img, &info)) != MMS_OK) {
        fail("publish", rc);
        goto out;
    }
    printf("publish: generation %" PRIu64 ", sum %" PRIu64 "\n",
           info.generation, image_sum(img));
    ret = 0;
out:
    if ((rc = mms_array_close(img)) != MMS_OK)
        ret = fail("close array", rc);
    if ((rc = mms_store_close(store)) != MMS_OK)
        ret = fail("close store", rc);
    return ret;
}

/* Starts "cache DIR ROLE ARG" as a new process (this very program, run
 * again), with its standard output on a pipe whose read end goes to *fd. */
static pid_t spawn(const char *dir, const char *role, const char *arg, int *fd)
{
    int p[2];
    pid_t pid;
    *fd = -1;
    if (pipe(p) != 0)
        return -1;
    fflush(stdout);
    if ((pid = fork()) == 0) {
        dup2(p[1], STDOUT_FILENO);
        close(p[0]);
        close(p[1]);
        execl("/proc/self/exe", "cache", dir, role, arg, (char *)NULL);
        perror("cache: exec /proc/self/exe");
        _exit(127);
    }
    close(p[1]);
    *fd = p[0];
    return pid;
}

/* Reads the line a spawned process prints, shows it, and waits for it to
 * exit: 0 if it printed a line and exited with status 0. */
static int collect(pid_t pid, int fd, char *line, int size)
{
    FILE *f = fdopen(fd, "r");
    int status, ok = f != NULL && fgets(line, size, f) != NULL;
    if (f != NULL)
        fclose(f);
    else
        close(fd);
    if (ok)
        printf("  %s", line);
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0) {
        fprintf(stderr, "cache: a spawned process failed\n");
        return -1;
    }
    return ok ? 0 : -1;
}

/* Starts services A and B at the same moment; returns how many of them
 * computed the image (-1 on failure) and the sum both must report. */
static int start_services(const char *dir, uint64_t *sum)
{
    const char *who[2] = {"A", "B"};
    int fd[2], computed = 0;
    pid_t pid[2];
    char line[256], how[16];
    uint64_t gen, s[2];

    for (int i = 0; i < 2; i++)
        pid[i] = spawn(dir, "service", who[i], &fd[i]);
    for (int i = 0; i < 2; i++) {
        if (collect(pid[i], fd[i], line, sizeof line) != 0 ||
            sscanf(line, "service %*s %15s in %*f s, generation %" SCNu64
                   ", sum %" SCNu64, how, &gen, &s[i]) != 3)
            computed = -1;
        else if (computed >= 0 && strcmp(how, "computed") == 0)
            computed++;
    }
    if (computed >= 0 && s[0] != s[1]) {
        fprintf(stderr, "cache: the two services see different images\n");
        return -1;
    }
    *sum = s[0];
    return computed;
}

int main(int argc, char **argv)
{
    mms_store *store = NULL;
    mms_array *reader = NULL;
    mms_info old, now_info;
    uint64_t sum1, sum2, gen2, s;
    char line[256];
    int rc, fd, n, ret = 1;

    if (argc == 4 && strcmp(argv[2], "service") == 0)
        return service(argv[1], argv[3]);
    if (argc == 3 && strcmp(argv[2], "publish") == 0)
        return publish(argv[1]);
    if (argc != 2) {
        fprintf(stderr, "usage: cache STORE_DIR [service NAME | publish]\n");
        return 2;
    }
    if ((rc = mms_store_open(argv[1], MMS_CREATE, &store)) != MMS_OK)
        return fail("open store", rc);
    if ((rc = mms_remove(store, NAME)) != MMS_OK && rc != MMS_ERR_NOTFOUND) {
        fail("remove the previous run's image", rc);   /* start cold */
        goto out;
    }

    printf("1. cold cache: services A and B start together\n");
    if ((n = start_services(argv[1], &sum1)) != 1) {
        fprintf(stderr, "cache: %d services computed the image, not 1\n", n);
        goto out;
    }
    printf("   exactly one computed, the other waited and attached: OK\n");

    printf("2. both restart: the cache is warm\n");
    if ((n = start_services(argv[1], &s)) != 0 || s != sum1) {
        fprintf(stderr, "cache: after a restart %d services computed\n", n);
        goto out;
    }
    printf("   nobody computed, both attached to the same image: OK\n");

    printf("3. a reader keeps generation 1 while a new version is published\n");
    if ((rc = mms_array_open(store, NAME, MMS_RDONLY, &reader)) != MMS_OK ||
        (rc = mms_array_info(reader, &old)) != MMS_OK) {
        fail("reader: open", rc);
        goto out;
    }
    printf("  reader: generation %" PRIu64 ", sum %" PRIu64 "\n",
           old.generation, image_sum(reader));
    pid_t pid = spawn(argv[1], "publish", NULL, &fd);
    if (collect(pid, fd, line, sizeof line) != 0 ||
        sscanf(line, "publish: generation %" SCNu64 ", sum %" SCNu64, &gen2,
               &sum2) != 2)
        goto out;
    /* The old file is unlinked, but this mapping of it stays valid. */
    s = image_sum(reader);
    printf("  reader, still mapping the old version: sum %" PRIu64 "\n", s);
    if (s != sum1) {
        fprintf(stderr, "cache: the reader's old view changed\n");
        goto out;
    }
    if ((rc = mms_array_refresh(reader)) != MMS_OK ||
        (rc = mms_array_info(reader, &now_info)) != MMS_OK) {
        fail("reader: refresh", rc);
        goto out;
    }
    s = image_sum(reader);
    printf("  reader, after mms_array_refresh: generation %" PRIu64
           ", sum %" PRIu64 "\n", now_info.generation, s);
    if (now_info.generation != old.generation + 1 ||
        now_info.generation != gen2 || s != sum2 || sum2 == sum1) {
        fprintf(stderr, "cache: the refreshed reader does not see the new "
                        "version\n");
        goto out;
    }
    printf("   old view kept until refresh, then the new version: OK\n");
    ret = 0;
out:
    if ((rc = mms_array_close(reader)) != MMS_OK)
        ret = fail("close reader", rc);
    if ((rc = mms_store_close(store)) != MMS_OK)
        ret = fail("close store", rc);
    return ret;
}
