/* datafile.c - an array version's data file, STORE/data/<id>.npy: its
 * name (the id only: a user's name never reaches a path), opening without
 * following links, the unnamed file a create fills before the catalog may
 * name it, linking and unlinking, free space, and the writer byte.
 *
 * Writer presence is a shared OFD lock on byte 1 of the data file, held by
 * every writable handle; the catalog's DIRTY flag is set while any writer
 * exists. DIRTY with no lock holder means a writer died. */
#include "format.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

void mmsi_data_name(char *buf, size_t size, uint64_t id)
{
    snprintf(buf, size, "%016" PRIx64 ".npy", id);
}

char *mmsi_data_path(const char *store_path, uint64_t id)
{
    char name[32];
    mmsi_data_name(name, sizeof name, id);
    size_t len = strlen(store_path) + strlen(name) + 7;
    char *p = malloc(len);
    if (p)
        snprintf(p, len, "%s/data/%s", store_path, name);
    return p;
}

int mmsi_datafile_open(int datafd, uint64_t id, bool writable, int *fd)
{
    char name[32];
    mmsi_data_name(name, sizeof name, id);
    *fd = openat(datafd, name, (writable ? O_RDWR : O_RDONLY) |
                 O_CLOEXEC | O_NOFOLLOW);
    return *fd < 0 ? errno : 0;
}

int mmsi_datafile_unlink(int datafd, uint64_t id)
{
    char name[32];
    mmsi_data_name(name, sizeof name, id);
    if (unlinkat(datafd, name, 0) != 0 && errno != ENOENT)
        return errno;
    return 0;
}

/* Makes the unnamed data file: O_TMPFILE where the filesystem has it. */
int mmsi_datafile_make_temp(int datafd, bool shared_group,
                            const char *store_path, const char *name,
                            int *fd)
{
    mode_t mode = shared_group ? 0660 : 0600;
    *fd = openat(datafd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, mode);
    if (*fd < 0)
        return mmsi_errno(errno, "create '%s': cannot make an unnamed file "
                          "in %s/data (O_TMPFILE)", name, store_path);
    if (shared_group)
        fchmod(*fd, mode); /* umask must not narrow a shared store */
    return MMS_OK;
}

/* Links the anonymous (O_TMPFILE) file fd as data/<id>.npy. A name left by
 * a crashed, never-committed create of the same id is replaced. */
int mmsi_datafile_link(int datafd, int fd, uint64_t id)
{
    char name[32], proc[64];
    mmsi_data_name(name, sizeof name, id);
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    for (int attempt = 0; attempt < 2; attempt++) {
        if (linkat(AT_FDCWD, proc, datafd, name, AT_SYMLINK_FOLLOW) == 0)
            return 0;
        if (errno != EEXIST)
            return errno;
        /* Is the existing name already our file (a retried transaction)? */
        struct stat mine, there;
        if (fstat(fd, &mine) == 0 &&
            fstatat(datafd, name, &there, AT_SYMLINK_NOFOLLOW) == 0 &&
            mine.st_ino == there.st_ino && mine.st_dev == there.st_dev)
            return 0;
        /* Ids at or above next_id were never committed: the file is a
         * leftover of a crash between link and commit. */
        if (unlinkat(datafd, name, 0) != 0 && errno != ENOENT)
            return errno;
    }
    return EEXIST;
}

/* MMS_ERR_NOSPC when the store's filesystem has fewer than need bytes
 * free: checked before allocating, so that a request far too large fails at
 * once instead of filling the disk (which other processes share) first. */
int mmsi_check_free_space(int datafd, uint64_t need, const char *op,
                          const char *name, const char *store_path)
{
    struct statvfs vfs;
    if (fstatvfs(datafd, &vfs) != 0)
        return MMS_OK; /* posix_fallocate will still tell */
    uint64_t avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
    if (avail < need)
        return mmsi_err(MMS_ERR_NOSPC, "%s '%s': needs %" PRIu64 " bytes, "
                        "%s has %" PRIu64 " free", op, name, need,
                        store_path, avail);
    return MMS_OK;
}

int mmsi_writer_lock(int fd, short type, bool wait)
{
    struct flock fl = {.l_type = type, .l_whence = SEEK_SET,
                       .l_start = MMSI_WRITER_LOCK_OFFSET, .l_len = 1};
    int rc;
    do
        rc = fcntl(fd, wait ? F_OFD_SETLKW : F_OFD_SETLK, &fl);
    while (rc != 0 && errno == EINTR);
    return rc == 0 ? 0 : errno;
}

/* True when some open file description other than fd's holds the writer
 * byte (fd's own lock never conflicts with itself). */
int mmsi_writer_present(int fd, bool *present)
{
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET,
                       .l_start = MMSI_WRITER_LOCK_OFFSET, .l_len = 1};
    if (fcntl(fd, F_OFD_GETLK, &fl) != 0)
        return errno;
    *present = fl.l_type != F_UNLCK;
    return 0;
}

int mmsi_datafile_state(int datafd, const mmsi_record *rec, int fd,
                        mms_state *state)
{
    if (rec->flags & MMSI_REC_INTERRUPTED) {
        *state = MMS_STATE_INTERRUPTED;
        return MMS_OK;
    }
    if (!(rec->flags & MMSI_REC_DIRTY)) {
        *state = MMS_STATE_CLEAN;
        return MMS_OK;
    }
    int own = -1, e;
    if (fd < 0 && (e = mmsi_datafile_open(datafd, rec->id, false, &own)) != 0) {
        if (e == ENOENT) {
            /* A file removed under us: the record is gone or replaced. */
            *state = MMS_STATE_INTERRUPTED;
            return MMS_OK;
        }
        return mmsi_errno(e, "checking the writer lock of data file "
                          "%016" PRIx64 ".npy", rec->id);
    }
    bool present = false;
    e = mmsi_writer_present(fd >= 0 ? fd : own, &present);
    if (own >= 0)
        close(own);
    if (e != 0)
        return mmsi_errno(e, "checking the writer lock of data file "
                          "%016" PRIx64 ".npy", rec->id);
    *state = present ? MMS_STATE_WRITING : MMS_STATE_INTERRUPTED;
    return MMS_OK;
}
