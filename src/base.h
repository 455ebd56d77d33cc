/* base.h - the lowest layer of libmmstore (src/README.md): errors, dtypes,
 * names, arithmetic and byte-order helpers, and the process state that
 * fork() changes (the fork generation, descriptors that hold locks, and
 * descriptor pools). Includes nothing of the library but <mmstore.h>.
 * Never installed. Internal functions carry the mmsi_ prefix, which
 * cannot be mistaken for public API. */
#ifndef MMS_BASE_H
#define MMS_BASE_H

#include "config.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "mmstore.h"

/* ---- errors (error.c) ---------------------------------------------------
 * Every failure sets the thread's message through one of these and returns
 * the code, so "return mmsi_err(...)" is the idiom. */
int mmsi_err(int rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* As mmsi_err, appending ": strerror(errnum)" and choosing the code from
 * errnum (ENOSPC -> NOSPC, EACCES/EPERM -> PERM, ENOMEM -> NOMEM, EROFS ->
 * RDONLY, ENOENT -> NOTFOUND, EEXIST -> EXISTS, EFBIG -> TOOBIG, else IO). */
int mmsi_errno(int errnum, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The code mmsi_errno would choose for errnum. */
int mmsi_errno_code(int errnum);
/* As mmsi_err for an LMDB return code (MDB_NOTFOUND -> NOTFOUND,
 * MDB_CORRUPTED/MDB_INVALID/MDB_PAGE_NOTFOUND -> CORRUPT, errno values as
 * mmsi_errno). */
int mmsi_err_lmdb(int mdb_rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prefixes the current message with "what: " (for adding context on the way
 * up) and returns rc unchanged. */
int mmsi_err_context(int rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void mmsi_err_clear(void);

/* ---- dtypes (dtype.c) -------------------------------------------------- */
bool mmsi_dtype_valid(int dtype);

/* ---- names (name.c) ---------------------------------------------------- */
/* MMS_OK or MMS_ERR_INVAL with a message saying what is wrong with it:
 * 1..MMS_NAME_MAX bytes of UTF-8, no control character, no leading '/'.
 * what is "name", "attribute key", "lock key"... */
int mmsi_check_name(const char *name, const char *what);
/* text (at most max_in bytes of it, "..." after when cut) made safe for a
 * terminal into out: C0, DEL, C1 controls, backslash and bytes that are not
 * UTF-8 become \xNN. Never an untrusted byte raw in a message. */
void mmsi_escape(const char *text, size_t max_in, char *out, size_t size);

/* ---- overflow-checked arithmetic --------------------------------------- */
static inline bool mmsi_mul_overflow(uint64_t a, uint64_t b, uint64_t *out)
{
    return __builtin_mul_overflow(a, b, out);
}
static inline bool mmsi_add_overflow(uint64_t a, uint64_t b, uint64_t *out)
{
    return __builtin_add_overflow(a, b, out);
}

/* ---- little/big-endian codecs ------------------------------------------ */
static inline void mmsi_put_le64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}
static inline uint64_t mmsi_get_le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}
static inline void mmsi_put_le32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}
static inline uint32_t mmsi_get_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}
static inline void mmsi_put_le16(unsigned char *p, uint16_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}
static inline uint16_t mmsi_get_le16(const unsigned char *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}
static inline void mmsi_put_be64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (56 - 8 * i));
}
static inline uint64_t mmsi_get_be64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

/* ---- descriptors that hold locks (proc.c) ------------------------------
 * fork() shares open file descriptions, and with them OFD locks: a child
 * that outlived its parent would keep the parent's locks (and writer
 * bytes) alive. Every descriptor holding a lock is registered here, and the
 * fork child handler closes them all in the child (setting them to -1),
 * so locks still vanish when their holder dies. */
typedef struct mmsi_held {
    int *fd;
    bool linked;
    struct mmsi_held *prev, *next;
} mmsi_held;
void mmsi_held_add(mmsi_held *h, int *fd);
void mmsi_held_remove(mmsi_held *h);

/* ---- fork and time (proc.c) --------------------------------------------- */
/* A number bumped in every forked child (the fork child handler also closes
 * every registered held descriptor): a handle that saved it at open can
 * tell with one load that it is being used in a child. */
unsigned long mmsi_fork_generation(void);
int64_t mmsi_now_ns(void);


/* ---- descriptor pools for locks (proc.c) ------------------------------- */
#define MMSI_FDPOOL_SIZE 16
typedef struct mmsi_fdpool {
    pthread_mutex_t mu;
    int source;      /* the descriptor whose file is reopened */
    bool writable;
    int n;
    int fds[MMSI_FDPOOL_SIZE]; /* descriptors holding no lock */
} mmsi_fdpool;
void mmsi_fdpool_init(mmsi_fdpool *pool, int fd, bool writable);
void mmsi_fdpool_destroy(mmsi_fdpool *pool);
/* A descriptor with an open file description of its own on pool->source
 * (reopened through /proc/self/fd), or -1 with errno set. */
int mmsi_fdpool_get(mmsi_fdpool *pool);
/* Gives back a descriptor that holds no lock. */
void mmsi_fdpool_put(mmsi_fdpool *pool, int fd);

#endif
