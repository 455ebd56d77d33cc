/* record.c - the catalog record of an array (format.md, "arrays"): its
 * fixed little-endian encoding with a trailing XXH3 of the body, a decoder
 * that trusts nothing it reads, and the sizes derived from a record, every
 * one overflow-checked. Also the keys and root terms of block checksums. */
#include "format.h"

#include <stdint.h>
#include <string.h>
#include <xxhash.h>

static const unsigned char rec_magic[4] = {'M', 'M', 'S', 'A'};

size_t mmsi_rec_size(int ndim)
{
    return MMSI_REC_FIXED + 8u * (size_t)ndim + 8u;
}

void mmsi_rec_encode(const mmsi_record *rec, unsigned char *buf)
{
    memcpy(buf, rec_magic, 4);
    mmsi_put_le16(buf + 4, 1);
    mmsi_put_le16(buf + 6, (uint16_t)rec->ndim);
    mmsi_put_le32(buf + 8, (uint32_t)rec->dtype);
    mmsi_put_le32(buf + 12, rec->flags);
    mmsi_put_le64(buf + 16, rec->id);
    mmsi_put_le64(buf + 24, rec->capacity_rows);
    mmsi_put_le64(buf + 32, rec->block_size);
    mmsi_put_le64(buf + 40, rec->root);
    mmsi_put_le64(buf + 48, rec->generation);
    mmsi_put_le64(buf + 56, (uint64_t)rec->created_ns);
    mmsi_put_le64(buf + 64, (uint64_t)rec->modified_ns);
    for (int i = 0; i < rec->ndim; i++)
        mmsi_put_le64(buf + MMSI_REC_FIXED + 8 * i, rec->shape[i]);
    size_t body = MMSI_REC_FIXED + 8u * (size_t)rec->ndim;
    mmsi_put_le64(buf + body, XXH3_64bits(buf, body));
}

int mmsi_rec_decode(const char *name, const void *data, size_t len,
                    mmsi_record *rec)
{
    const unsigned char *p = data;
    memset(rec, 0, sizeof *rec);
    if (len < MMSI_REC_FIXED + 8 || memcmp(p, rec_magic, 4) != 0)
        return mmsi_err(MMS_ERR_CORRUPT, "catalog record of '%s' is not an "
                        "array record (%zu bytes)", name, len);
    if (mmsi_get_le16(p + 4) != 1)
        return mmsi_err(MMS_ERR_VERSION, "catalog record of '%s' has "
                        "version %u, newer than this library", name,
                        mmsi_get_le16(p + 4));
    unsigned ndim = mmsi_get_le16(p + 6);
    if (ndim > MMS_MAX_NDIM || len != mmsi_rec_size((int)ndim))
        return mmsi_err(MMS_ERR_CORRUPT, "catalog record of '%s': ndim %u "
                        "does not fit its %zu bytes", name, ndim, len);
    size_t body = MMSI_REC_FIXED + 8u * ndim;
    if (XXH3_64bits(p, body) != mmsi_get_le64(p + body))
        return mmsi_err(MMS_ERR_CORRUPT, "catalog record of '%s' fails its "
                        "checksum", name);
    rec->ndim = (int)ndim;
    uint32_t dtype = mmsi_get_le32(p + 8);
    rec->flags = mmsi_get_le32(p + 12);
    rec->id = mmsi_get_le64(p + 16);
    rec->capacity_rows = mmsi_get_le64(p + 24);
    rec->block_size = mmsi_get_le64(p + 32);
    rec->root = mmsi_get_le64(p + 40);
    rec->generation = mmsi_get_le64(p + 48);
    rec->created_ns = (int64_t)mmsi_get_le64(p + 56);
    rec->modified_ns = (int64_t)mmsi_get_le64(p + 64);
    for (unsigned i = 0; i < ndim; i++)
        rec->shape[i] = mmsi_get_le64(p + MMSI_REC_FIXED + 8 * i);
    if (!mmsi_dtype_valid((int)dtype))
        return mmsi_err(MMS_ERR_CORRUPT, "catalog record of '%s' has "
                        "unknown dtype code %u", name, dtype);
    rec->dtype = (mms_dtype)dtype;
    if (rec->id == 0 || (rec->flags & ~MMSI_REC_KNOWN_FLAGS))
        return mmsi_err(MMS_ERR_CORRUPT, "catalog record of '%s' has a bad "
                        "id or flags", name);
    if (rec->block_size < 4096 || rec->block_size > (1u << 30) ||
        (rec->block_size & (rec->block_size - 1)))
        return mmsi_err(MMS_ERR_CORRUPT, "catalog record of '%s' has bad "
                        "block size %llu", name,
                        (unsigned long long)rec->block_size);
    mmsi_geometry g;
    if (mmsi_rec_geometry(rec, &g) != MMS_OK)
        return mmsi_err(MMS_ERR_CORRUPT, "catalog record of '%s' has a "
                        "shape or capacity whose size overflows", name);
    if (rec->ndim > 0 && rec->capacity_rows < rec->shape[0])
        return mmsi_err(MMS_ERR_CORRUPT, "catalog record of '%s' has "
                        "capacity below its shape", name);
    return MMS_OK;
}

int mmsi_rec_geometry(const mmsi_record *rec, mmsi_geometry *g)
{
    memset(g, 0, sizeof *g);
    g->itemsize = mms_dtype_size(rec->dtype);
    g->row_bytes = g->itemsize;
    for (int i = 1; i < rec->ndim; i++)
        if (mmsi_mul_overflow(g->row_bytes, rec->shape[i], &g->row_bytes))
            return mmsi_err(MMS_ERR_TOOBIG, "shape overflows 64 bits");
    g->rows = rec->ndim ? rec->shape[0] : 1;
    uint64_t cap_rows = rec->ndim ? rec->capacity_rows : 1, cap_bytes;
    if (mmsi_mul_overflow(g->rows, g->row_bytes, &g->nbytes) ||
        mmsi_mul_overflow(cap_rows, g->row_bytes, &cap_bytes))
        return mmsi_err(MMS_ERR_TOOBIG, "array size overflows 64 bits");
    /* Round the data capacity up to whole pages, at least one, and leave
     * room for the header; the result must also fit off_t and size_t. */
    uint64_t pages = cap_bytes / MMSI_PAGE + (cap_bytes % MMSI_PAGE != 0);
    if (pages == 0)
        pages = 1;
    if (pages > ((uint64_t)INT64_MAX - MMSI_HEADER_SIZE) / MMSI_PAGE ||
        pages * MMSI_PAGE > SIZE_MAX / 2)
        return mmsi_err(MMS_ERR_TOOBIG, "array size exceeds the largest "
                        "file or mapping this system supports");
    g->file_size = MMSI_HEADER_SIZE + pages * MMSI_PAGE;
    g->nblocks = rec->block_size ? g->nbytes / rec->block_size +
                                       (g->nbytes % rec->block_size != 0)
                                 : 0;
    return MMS_OK;
}

void mmsi_rec_to_info(const mmsi_record *rec, mms_info *info)
{
    mmsi_geometry g;
    memset(info, 0, sizeof *info);
    mmsi_rec_geometry(rec, &g); /* validated when the record was made */
    info->dtype = rec->dtype;
    info->ndim = rec->ndim;
    memcpy(info->shape, rec->shape, sizeof(uint64_t) * (size_t)rec->ndim);
    info->nbytes = g.nbytes;
    info->itemsize = g.itemsize;
    info->generation = rec->generation;
    info->id = rec->id;
    info->capacity_rows = rec->ndim ? rec->capacity_rows : 1;
    info->block_size = rec->block_size;
    info->checksum = rec->root;
    info->created_ns = rec->created_ns;
    info->modified_ns = rec->modified_ns;
    info->state = MMS_STATE_CLEAN;
}

void mmsi_block_key(unsigned char key[16], uint64_t id, uint64_t block)
{
    mmsi_put_be64(key, id);
    mmsi_put_be64(key + 8, block);
}

uint64_t mmsi_root_term(uint64_t block, uint64_t hash)
{
    unsigned char b[8];
    mmsi_put_le64(b, hash);
    return XXH3_64bits_withSeed(b, sizeof b, block);
}
