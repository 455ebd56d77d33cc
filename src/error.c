/* error.c - result codes, their messages, and the per-thread detail. */
#include "base.h"

#include <lmdb.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Long enough for two paths and a reason; longer messages are cut. */
static __thread char errmsg[1024];

const char *mms_strerror(int rc)
{
    switch (rc) {
#define MMS_ERROR_CASE_(name, value, message) case value: return message;
        MMS_ERROR_TABLE(MMS_ERROR_CASE_)
#undef MMS_ERROR_CASE_
    }
    return "unknown error";
}

const char *mms_errmsg(void)
{
    return errmsg;
}

const char *mms_version(void)
{
    return MMS_VERSION_STRING;
}

void mmsi_err_clear(void)
{
    errmsg[0] = '\0';
}

static int vset(int rc, const char *fmt, va_list ap, const char *reason)
{
    int n = vsnprintf(errmsg, sizeof errmsg, fmt, ap);
    if (reason && n >= 0 && (size_t)n < sizeof errmsg)
        snprintf(errmsg + n, sizeof errmsg - (size_t)n, ": %s", reason);
    return rc;
}

int mmsi_err(int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vset(rc, fmt, ap, NULL);
    va_end(ap);
    return rc;
}

int mmsi_errno_code(int errnum)
{
    switch (errnum) {
    case ENOSPC:
    case EDQUOT:
        return MMS_ERR_NOSPC;
    case EACCES:
    case EPERM:
        return MMS_ERR_PERM;
    case ENOMEM:
        return MMS_ERR_NOMEM;
    case EROFS:
        return MMS_ERR_RDONLY;
    case ENOENT:
        return MMS_ERR_NOTFOUND;
    case EEXIST:
        return MMS_ERR_EXISTS;
    case EFBIG:
    case EOVERFLOW:
        return MMS_ERR_TOOBIG;
    case EINVAL:
        return MMS_ERR_INVAL;
    case EAGAIN:
    case EBUSY:
        return MMS_ERR_BUSY;
    case ELOOP:
        return MMS_ERR_CORRUPT; /* O_NOFOLLOW met a symlink in the store */
    default:
        return MMS_ERR_IO;
    }
}

int mmsi_errno(int errnum, const char *fmt, ...)
{
    char reason[128];
    /* strerror_r is the GNU variant here (returns the string). */
    const char *r = strerror_r(errnum, reason, sizeof reason);
    va_list ap;
    va_start(ap, fmt);
    vset(0, fmt, ap, r);
    va_end(ap);
    return mmsi_errno_code(errnum);
}

int mmsi_err_lmdb(int mdb_rc, const char *fmt, ...)
{
    int rc;
    switch (mdb_rc) {
    case MDB_NOTFOUND:
        rc = MMS_ERR_NOTFOUND;
        break;
    case MDB_CORRUPTED:
    case MDB_INVALID:
    case MDB_PAGE_NOTFOUND:
    case MDB_VERSION_MISMATCH:
    case MDB_INCOMPATIBLE:
        rc = MMS_ERR_CORRUPT;
        break;
    case MDB_READERS_FULL:
    case MDB_TLS_FULL:
    case MDB_TXN_FULL:
    case MDB_CURSOR_FULL:
    case MDB_DBS_FULL:
        rc = MMS_ERR_BUSY;
        break;
    case MDB_MAP_FULL:
        rc = MMS_ERR_NOSPC;
        break;
    default:
        rc = mdb_rc > 0 ? mmsi_errno_code(mdb_rc) : MMS_ERR_IO;
        break;
    }
    va_list ap;
    va_start(ap, fmt);
    vset(0, fmt, ap, mdb_strerror(mdb_rc));
    va_end(ap);
    return rc;
}

int mmsi_err_context(int rc, const char *fmt, ...)
{
    char old[sizeof errmsg];
    memcpy(old, errmsg, sizeof old);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(errmsg, sizeof errmsg, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < sizeof errmsg && old[0])
        snprintf(errmsg + n, sizeof errmsg - (size_t)n, ": %s", old);
    return rc;
}
