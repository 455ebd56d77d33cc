/* proc.c - process state that fork() changes: the fork generation, the
 * registry of descriptors that hold locks, descriptor pools; and the
 * clock.
 *
 * fork() shares open file descriptions, and with them OFD locks: a child
 * that outlived its parent would keep the parent's locks (and writer
 * bytes) alive. Every descriptor holding a lock is registered here, and the
 * fork child handler closes them all in the child (setting them to -1), so
 * locks still vanish when their holder dies. */
#include "base.h"

#include <fcntl.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t held_lock = PTHREAD_MUTEX_INITIALIZER;
static mmsi_held *held_list;

void mmsi_held_add(mmsi_held *h, int *fd)
{
    pthread_mutex_lock(&held_lock);
    h->fd = fd;
    h->prev = NULL;
    h->next = held_list;
    if (held_list)
        held_list->prev = h;
    held_list = h;
    h->linked = true;
    pthread_mutex_unlock(&held_lock);
}

void mmsi_held_remove(mmsi_held *h)
{
    pthread_mutex_lock(&held_lock);
    if (h->linked) {
        if (h->prev)
            h->prev->next = h->next;
        else
            held_list = h->next;
        if (h->next)
            h->next->prev = h->prev;
        h->linked = false;
    }
    pthread_mutex_unlock(&held_lock);
}

/* Runs in the child right after fork(), with only the forking thread. */
static void held_close_in_child(void)
{
    for (mmsi_held *h = held_list; h; h = h->next) {
        if (*h->fd >= 0)
            close(*h->fd); /* the parent's reference keeps its lock */
        *h->fd = -1;
        h->linked = false;
    }
    held_list = NULL;
    pthread_mutex_init(&held_lock, NULL);
}

/* Bumped in every forked child, so a handle made before the fork can tell
 * (with one load, no getpid system call) that it is being used in one. */
static unsigned long fork_generation;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void in_child(void)
{
    fork_generation++;
    held_close_in_child();
}

static void register_atfork(void)
{
    pthread_atfork(NULL, NULL, in_child);
}

unsigned long mmsi_fork_generation(void)
{
    pthread_once(&atfork_once, register_atfork);
    return __atomic_load_n(&fork_generation, __ATOMIC_RELAXED);
}

int64_t mmsi_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void mmsi_fdpool_init(mmsi_fdpool *pool, int fd, bool writable)
{
    pthread_mutex_init(&pool->mu, NULL);
    pool->source = fd;
    pool->writable = writable;
    pool->n = 0;
}

void mmsi_fdpool_destroy(mmsi_fdpool *pool)
{
    for (int i = 0; i < pool->n; i++)
        close(pool->fds[i]);
    pool->n = 0;
    pthread_mutex_destroy(&pool->mu);
}

int mmsi_fdpool_get(mmsi_fdpool *pool)
{
    pthread_mutex_lock(&pool->mu);
    int fd = pool->n > 0 ? pool->fds[--pool->n] : -1;
    pthread_mutex_unlock(&pool->mu);
    if (fd >= 0)
        return fd;
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", pool->source);
    fd = open(proc, (pool->writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
    return fd;
}

void mmsi_fdpool_put(mmsi_fdpool *pool, int fd)
{
    pthread_mutex_lock(&pool->mu);
    if (pool->n < MMSI_FDPOOL_SIZE) {
        pool->fds[pool->n++] = fd;
        fd = -1;
    }
    pthread_mutex_unlock(&pool->mu);
    if (fd >= 0)
        close(fd);
}
