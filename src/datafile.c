/* datafile.c - an array version's data file, STORE/data/<id>.npy: its
 * name (the id only: a user's name never reaches a path), opening without
 * following links, the unnamed file a create fills before the catalog may
 * name it, linking and unlinking, free space, and the writer slots: one
 * byte each in the header page, locked exclusively by each writable handle
 * (objects/presence.c keeps the protocol). */
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
    /* root working in another user's store must not leave files its owner
     * cannot open: a new file belongs to the owner of data/. */
    struct stat st;
    if (geteuid() == 0 && fstat(datafd, &st) == 0 && st.st_uid != 0 &&
        fchown(*fd, st.st_uid, st.st_gid) != 0) {
        int e = errno;
        close(*fd);
        *fd = -1;
        return mmsi_errno(e, "create '%s': giving the new data file to the "
                          "owner of %s/data", name, store_path);
    }
    return MMS_OK;
}

/* Links the anonymous (O_TMPFILE) file fd as data/<id>.npy. A name left by
 * a crashed, never-committed create of the same id is replaced. */
int mmsi_datafile_link(int datafd, int fd, uint64_t id)
{
    char name[32], proc[64];
    mmsi_data_name(name, sizeof name, id);
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
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
    /* Someone else's: never removed here. It may be a leftover of a crash
     * between link and commit, but also a live array's file when next_id
     * went back (a catalog restored from an older copy). */
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

/* One byte lock or query on the slot range. */
static int slot_fcntl(int fd, int cmd, short type, unsigned slot,
                      struct flock *out)
{
    struct flock fl = {.l_type = type, .l_whence = SEEK_SET,
                       .l_start = (off_t)(MMSI_SLOT_BASE + slot), .l_len = 1};
    int rc;
    do
        rc = fcntl(fd, cmd, &fl);
    while (rc != 0 && errno == EINTR);
    if (out)
        *out = fl;
    return rc == 0 ? 0 : errno;
}

int mmsi_slot_trylock(int fd, unsigned slot)
{
    int e = slot_fcntl(fd, F_OFD_SETLK, F_WRLCK, slot, NULL);
    return e == EACCES ? EAGAIN : e;
}

int mmsi_slot_unlock(int fd, unsigned slot)
{
    return slot_fcntl(fd, F_OFD_SETLK, F_UNLCK, slot, NULL);
}

int mmsi_slot_held(int fd, unsigned slot, bool *held)
{
    struct flock fl;
    int e = slot_fcntl(fd, F_OFD_GETLK, F_WRLCK, slot, &fl);
    if (e == 0)
        *held = fl.l_type != F_UNLCK;
    return e;
}
