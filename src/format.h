/* format.h - the format layer of libmmstore (src/README.md): how things
 * are laid out on disk, with no catalog transaction and no handle: the
 * catalog record codec and an array's geometry (record.c), the .npy header
 * (npy.c), and the data file: its name, opening, allocation, linking and
 * the writer byte (datafile.c). Includes only base.h. Never installed. */
#ifndef MMS_FORMAT_H
#define MMS_FORMAT_H

#include "base.h"

/* ---- the catalog record (record.c) ------------------------------------ */
#define MMSI_REC_FIXED 72u
#define MMSI_REC_DIRTY 0x1u
#define MMSI_REC_INTERRUPTED 0x2u
/* A resize committed its new shape and may not have rewritten the data
 * file's header yet (a crash can leave it so): the catalog's shape is the
 * truth and the header is rewritten from it. */
#define MMSI_REC_RESIZING 0x4u
#define MMSI_REC_KNOWN_FLAGS (MMSI_REC_DIRTY | MMSI_REC_INTERRUPTED | \
                              MMSI_REC_RESIZING)

typedef struct mmsi_record {
    uint64_t id;
    mms_dtype dtype;
    int ndim;
    uint32_t flags;
    uint64_t shape[MMS_MAX_NDIM];
    uint64_t capacity_rows;
    uint64_t block_size;
    uint64_t root;
    uint64_t generation;
    int64_t created_ns;
    int64_t modified_ns;
} mmsi_record;

/* Derived sizes of a record (all overflow-checked by mmsi_rec_geometry). */
typedef struct mmsi_geometry {
    uint64_t itemsize;
    uint64_t rows;       /* shape[0], or 1 for 0-d */
    uint64_t row_bytes;  /* bytes per row of axis 0 (itemsize for 0-d) */
    uint64_t nbytes;     /* rows * row_bytes */
    uint64_t nblocks;    /* ceil(nbytes / block_size) */
    uint64_t file_size;  /* header + data capacity, page-rounded */
} mmsi_geometry;

/* Computes the geometry for rec (using capacity_rows for file_size).
 * MMS_ERR_TOOBIG on overflow (message names what overflows). */
int mmsi_rec_geometry(const mmsi_record *rec, mmsi_geometry *g);
size_t mmsi_rec_size(int ndim);
void mmsi_rec_encode(const mmsi_record *rec, unsigned char *buf);
/* Decodes and validates a record; MMS_ERR_CORRUPT naming name otherwise. */
int mmsi_rec_decode(const char *name, const void *data, size_t len,
                    mmsi_record *rec);
void mmsi_rec_to_info(const mmsi_record *rec, mms_info *info);

/* Block checksum keys and root terms. */
void mmsi_block_key(unsigned char key[16], uint64_t id, uint64_t block);
uint64_t mmsi_root_term(uint64_t block, uint64_t hash);

/* ---- the .npy data file (npy.c) ---------------------------------------- */
#define MMSI_HEADER_SIZE 4096u   /* data starts here: page-aligned */
#define MMSI_PAGE 4096u

/* Formats the 4096-byte .npy header for dtype/ndim/shape into buf. */
int mmsi_npy_format(unsigned char *buf, mms_dtype dtype, int ndim,
                    const uint64_t *shape);
/* Checks that buf (4096 bytes read from a data file) is the header
 * mmsi_npy_format would write for dtype/ndim/shape. On mismatch returns
 * MMS_ERR_CORRUPT with a message saying what differs. */
int mmsi_npy_check(const unsigned char *buf, size_t len, mms_dtype dtype,
                   int ndim, const uint64_t *shape);

/* Rewrites the 4096-byte header of data file fd from rec, durably. */
int mmsi_npy_rewrite(int fd, const mmsi_record *rec);

/* ---- the data file (datafile.c) ---------------------------------------
 * Data files live in STORE/data/ and are named by their id only
 * ("<16 hex digits>.npy"): a user's name never reaches a path. Functions
 * taking datafd work relative to that directory. */

/* "<id>.npy" into buf (>= 32 bytes). */
void mmsi_data_name(char *buf, size_t size, uint64_t id);
/* store_path + "/data/<id>.npy", malloc'd; NULL when out of memory. */
char *mmsi_data_path(const char *store_path, uint64_t id);
/* Opens data/<id>.npy (O_RDWR when writable, else O_RDONLY; never
 * following a symlink). 0 or an errno value. */
int mmsi_datafile_open(int datafd, uint64_t id, bool writable, int *fd);
/* Unlinks data/<id>.npy; a file already gone is success. 0 or errno. */
int mmsi_datafile_unlink(int datafd, uint64_t id);
/* Makes an unnamed (O_TMPFILE) file in data/ with mode 0660 for a shared
 * group store, else 0600. name and store_path are for the message. */
int mmsi_datafile_make_temp(int datafd, bool shared_group,
                            const char *store_path, const char *name,
                            int *fd);
/* Links the unnamed file fd as data/<id>.npy. 0 (also when that name is
 * already fd's file), EEXIST when another file has the name (never
 * removed: the caller takes another id), or another errno value. */
int mmsi_datafile_link(int datafd, int fd, uint64_t id);
/* MMS_ERR_NOSPC when the filesystem of datafd has fewer than need bytes
 * free (op, name and store_path make the message). */
int mmsi_check_free_space(int datafd, uint64_t need, const char *op,
                          const char *name, const char *store_path);

/* Writer slots (format.md, "Locks"): every writable handle holds an
 * exclusive OFD lock on one byte of [MMSI_SLOT_BASE, MMSI_SLOT_BASE +
 * MMSI_SLOTS) of its data file, and the catalog registers that slot while
 * the handle may have unsynced writes. A registered slot nobody holds is a
 * writer that died. The range lies in the header page, below the row locks
 * (4096 + row). */
#define MMSI_SLOT_BASE 2048u
#define MMSI_SLOTS 2048u
/* Takes slot (exclusive, without waiting): 0, EAGAIN when another open
 * file description holds it, or another errno value. */
int mmsi_slot_trylock(int fd, unsigned slot);
/* Releases slot; 0 or an errno value. */
int mmsi_slot_unlock(int fd, unsigned slot);
/* Whether an open file description other than fd's holds slot; 0 or an
 * errno value. */
int mmsi_slot_held(int fd, unsigned slot, bool *held);

#endif
