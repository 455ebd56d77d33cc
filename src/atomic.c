/* atomic.c - atomics and futex wait/wake on elements of a mapped array.
 *
 * The elements live in a MAP_SHARED file mapping, so plain CPU atomics are
 * atomic between processes, and a futex on such an address is keyed by the
 * file and offset (not the process), so FUTEX_WAIT in one process is ended
 * by FUTEX_WAKE in another: the shared futex, never FUTEX_PRIVATE_FLAG. */
#include "objects.h"

#include <errno.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* The address of element index, checked for dtype, bounds and (for
 * writes) a writable handle. Inlined, with a shift rather than a 64-bit
 * division for the element count: it sits on every atomic operation, whose
 * own cost is a few nanoseconds. */
static inline __attribute__((always_inline)) int
element(mms_array *a, uint64_t index, int bits, bool write, void **p,
        const char *what)
{
    *p = NULL;
    if (!a)
        return mmsi_err(MMS_ERR_INVAL, "%s: array is NULL", what);
    mms_dtype d = a->rec.dtype;
    bool ok = bits == 64 ? (d == MMS_INT64 || d == MMS_UINT64)
                         : (d == MMS_INT32 || d == MMS_UINT32);
    if (!ok)
        return mmsi_err(MMS_ERR_DTYPE, "%s on '%s': needs an int%d or "
                        "uint%d array, not %s", what, a->name, bits, bits,
                        mms_dtype_name(d));
    uint64_t n = a->geo.nbytes >> (bits == 64 ? 3 : 2);
    if (index >= n)
        return mmsi_err(MMS_ERR_RANGE, "%s on '%s': element %llu of %llu",
                        what, a->name, (unsigned long long)index,
                        (unsigned long long)n);
    if (write && !a->writable)
        return mmsi_err(MMS_ERR_RDONLY, "%s on '%s': the handle is "
                        "read-only", what, a->name);
    *p = (unsigned char *)a->map + index * (uint64_t)(bits / 8);
    return MMS_OK;
}

#define DEFINE_ATOMICS(N, T, U, BITS)                                              \
    int mms_atomic_load_##N(mms_array *a, uint64_t i, T *value)          \
    {                                                                        \
        void *p;                                                             \
        int rc = element(a, i, BITS, false, &p, "atomic load");              \
        if (rc == MMS_OK && !value)                                          \
            rc = mmsi_err(MMS_ERR_INVAL, "atomic load: value is NULL");     \
        if (rc == MMS_OK)                                                    \
            *value = __atomic_load_n((T *)p, __ATOMIC_SEQ_CST);          \
        return rc;                                                           \
    }                                                                        \
    int mms_atomic_store_##N(mms_array *a, uint64_t i, T value)          \
    {                                                                        \
        void *p;                                                             \
        int rc = element(a, i, BITS, true, &p, "atomic store");              \
        if (rc == MMS_OK)                                                    \
            __atomic_store_n((T *)p, value, __ATOMIC_SEQ_CST);           \
        return rc;                                                           \
    }                                                                        \
    int mms_atomic_add_##N(mms_array *a, uint64_t i, T delta,            \
                           T *old)                                       \
    {                                                                        \
        void *p;                                                             \
        int rc = element(a, i, BITS, true, &p, "atomic add");                \
        if (rc == MMS_OK) {                                                  \
            /* Two's complement wrap-around, as NumPy integers do. */        \
            T v = (T)__atomic_fetch_add((U *)p,               \
                                                (U)delta,             \
                                                __ATOMIC_SEQ_CST);           \
            if (old)                                                         \
                *old = v;                                                    \
        }                                                                    \
        return rc;                                                           \
    }                                                                        \
    int mms_atomic_cas_##N(mms_array *a, uint64_t i, T expected,         \
                           T desired, T *old)                        \
    {                                                                        \
        void *p;                                                             \
        int rc = element(a, i, BITS, true, &p, "atomic compare-exchange");   \
        if (rc == MMS_OK) {                                                  \
            T e = expected;                                              \
            __atomic_compare_exchange_n((T *)p, &e, desired, false,      \
                                        __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST); \
            if (old)                                                         \
                *old = e;                                                    \
        }                                                                    \
        return rc;                                                           \
    }

DEFINE_ATOMICS(i64, int64_t, uint64_t, 64)
DEFINE_ATOMICS(i32, int32_t, uint32_t, 32)

static long futex(uint32_t *addr, int op, uint32_t val,
                  const struct timespec *timeout, uint32_t val3)
{
    return syscall(SYS_futex, addr, op, val, timeout, NULL, val3);
}

int mms_wait_u32(mms_array *array, uint64_t index, uint32_t expected,
                 int timeout_ms)
{
    void *p;
    int rc = element(array, index, 32, false, &p, "wait");
    if (rc != MMS_OK)
        return rc;
    if (timeout_ms < -1)
        return mmsi_err(MMS_ERR_INVAL, "wait on '%s': timeout %d ms",
                        array->name, timeout_ms);
    uint32_t *word = p;
    struct timespec deadline;
    if (timeout_ms > 0) {
        clock_gettime(CLOCK_MONOTONIC, &deadline);
        deadline.tv_sec += timeout_ms / 1000;
        deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
        if (deadline.tv_nsec >= 1000000000L) {
            deadline.tv_sec++;
            deadline.tv_nsec -= 1000000000L;
        }
    }
    for (;;) {
        if (__atomic_load_n(word, __ATOMIC_SEQ_CST) != expected)
            return MMS_OK;
        if (timeout_ms == 0)
            break;
        /* FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC deadline,
         * so retries after spurious wake-ups never stretch the timeout. */
        long r = futex(word, FUTEX_WAIT_BITSET, expected,
                       timeout_ms > 0 ? &deadline : NULL,
                       FUTEX_BITSET_MATCH_ANY);
        if (r == 0 || errno == EAGAIN || errno == EINTR)
            continue; /* woken, changed, or a signal: look again */
        if (errno == ETIMEDOUT)
            break;
        return mmsi_errno(errno, "wait on '%s'", array->name);
    }
    if (__atomic_load_n(word, __ATOMIC_SEQ_CST) != expected)
        return MMS_OK;
    return mmsi_err(MMS_ERR_TIMEOUT, "wait on '%s' element %llu: still %u "
                    "after %d ms", array->name, (unsigned long long)index,
                    expected, timeout_ms);
}

int mms_wake(mms_array *array, uint64_t index, int count)
{
    void *p;
    int rc = element(array, index, 32, false, &p, "wake");
    if (rc != MMS_OK)
        return rc;
    if (futex(p, FUTEX_WAKE, count <= 0 ? INT32_MAX : (uint32_t)count, NULL,
              0) < 0)
        return mmsi_errno(errno, "wake on '%s'", array->name);
    return MMS_OK;
}
