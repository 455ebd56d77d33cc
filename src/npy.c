/* npy.c - the 4096-byte NumPy header at the start of every data file.
 *
 * We only ever write one form (format.md): version 1.0, the three keys in
 * NumPy's order, padded with spaces to a 4096-byte header so the data is
 * page-aligned. A file is checked by formatting the header we expect and
 * comparing bytes, so there is no parser here to get wrong: any other
 * content is a header that disagrees with the catalog. */
#include "format.h"

#include <errno.h>
#include <inttypes.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>

static const unsigned char magic[8] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0};

/* Writes the dict text (without padding); returns its length or -1. */
static int format_dict(char *out, size_t size, mms_dtype dtype, int ndim,
                       const uint64_t *shape)
{
    char dims[MMS_MAX_NDIM * 22 + 4];
    size_t n = 0;
    dims[n++] = '(';
    for (int i = 0; i < ndim; i++) {
        n += (size_t)snprintf(dims + n, sizeof dims - n, "%s%" PRIu64,
                              i ? ", " : "", shape[i]);
    }
    if (ndim == 1)
        dims[n++] = ',';
    dims[n++] = ')';
    dims[n] = '\0';
    int len = snprintf(out, size,
                       "{'descr': '%s', 'fortran_order': False, 'shape': %s, }",
                       mms_dtype_descr(dtype), dims);
    return (len < 0 || (size_t)len >= size) ? -1 : len;
}

int mmsi_npy_format(unsigned char *buf, mms_dtype dtype, int ndim,
                    const uint64_t *shape)
{
    char dict[MMSI_HEADER_SIZE];
    int len = format_dict(dict, sizeof dict, dtype, ndim, shape);
    /* 10 bytes of preamble and the final '\n' must fit: they always do for
     * ndim <= 32 (at most ~750 bytes), but never trust that silently. */
    if (len < 0 || (size_t)len + 11 > MMSI_HEADER_SIZE)
        return mmsi_err(MMS_ERR_TOOBIG, "npy header longer than %u bytes",
                        MMSI_HEADER_SIZE);
    memcpy(buf, magic, sizeof magic);
    mmsi_put_le16(buf + 8, (uint16_t)(MMSI_HEADER_SIZE - 10));
    memcpy(buf + 10, dict, (size_t)len);
    memset(buf + 10 + len, ' ', MMSI_HEADER_SIZE - 11 - (size_t)len);
    buf[MMSI_HEADER_SIZE - 1] = '\n';
    return MMS_OK;
}

/* Copies the printable dict text of a header, up to its padding. */
static void quote_dict(const unsigned char *hdr, char *out, size_t size)
{
    size_t i = 0;
    for (; i + 1 < size && 11 + i < MMSI_HEADER_SIZE; i++) {
        unsigned char c = hdr[10 + i];
        if (c < 0x20 || c >= 0x7f || (c == ' ' && hdr[11 + i] == ' '))
            break;
        out[i] = (char)c;
    }
    out[i] = '\0';
}

int mmsi_npy_check(const unsigned char *buf, size_t len, mms_dtype dtype,
                   int ndim, const uint64_t *shape)
{
    unsigned char want[MMSI_HEADER_SIZE];
    if (len < MMSI_HEADER_SIZE)
        return mmsi_err(MMS_ERR_CORRUPT, "data file is shorter than its "
                        "%u-byte header", MMSI_HEADER_SIZE);
    if (memcmp(buf, magic, 6) != 0)
        return mmsi_err(MMS_ERR_CORRUPT, "data file does not start with "
                        "the NumPy magic \\x93NUMPY");
    if (buf[6] != 1 || buf[7] != 0 ||
        mmsi_get_le16(buf + 8) != MMSI_HEADER_SIZE - 10)
        return mmsi_err(MMS_ERR_CORRUPT, "data file header is not a "
                        "version 1.0 header of %u bytes", MMSI_HEADER_SIZE);
    int rc = mmsi_npy_format(want, dtype, ndim, shape);
    if (rc != MMS_OK)
        return rc;
    if (memcmp(buf, want, MMSI_HEADER_SIZE) != 0) {
        /* Quote what the file says (up to the padding) next to what the
         * catalog says, so the message shows the disagreement. */
        char have[200], expect[200];
        quote_dict(buf, have, sizeof have);
        quote_dict(want, expect, sizeof expect);
        return mmsi_err(MMS_ERR_CORRUPT, "data file header %s disagrees with "
                        "the catalog %s", have, expect);
    }
    return MMS_OK;
}

int mmsi_npy_rewrite(int fd, const mmsi_record *rec)
{
    unsigned char hdr[MMSI_HEADER_SIZE];
    int rc = mmsi_npy_format(hdr, rec->dtype, rec->ndim, rec->shape);
    if (rc != MMS_OK)
        return rc;
    /* One page, one write: only its first few hundred bytes change, so a
     * torn sector write still leaves either the old or the new text. */
    if (pwrite(fd, hdr, sizeof hdr, 0) != (ssize_t)sizeof hdr ||
        fdatasync(fd) != 0)
        return mmsi_errno(errno, "rewriting a data file header");
    return MMS_OK;
}
