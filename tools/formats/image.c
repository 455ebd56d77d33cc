/* image.c - what the PNG and JPEG formats (png.c, jpeg.c) share: the
 * size and staging of an imported image, and the check that an array is
 * an image a format can hold before anything is exported. */
#include <stdlib.h>

#include "format.h"

bool cli_image_size(uint64_t h, uint64_t w, uint64_t c, uint64_t bytes,
                    uint64_t *out)
{
    uint64_t n = bytes;
    const uint64_t f[3] = {c, w, h};
    for (int i = 0; i < 3; i++) {
        if (f[i] && n > UINT64_MAX / f[i])
            return false;
        n *= f[i];
    }
    if (n > SIZE_MAX)
        return false;
    *out = n;
    return true;
}

int cli_image_stage(mms_store *store, const char *name, mms_dtype dtype,
                    uint64_t h, uint64_t w, uint64_t c, bool replace,
                    mms_array **out)
{
    uint64_t shape[3] = {h, w, c};
    return cli_stage(store, name, dtype, c == 1 ? 2 : 3, shape, replace, out);
}

/* The accepted shapes are spelled out in the message because a user who
 * exports a float array as PNG needs to know what would work. */
int cli_image_check_export(const char *name, const mms_info *info, bool jpeg,
                           uint64_t max_side, int *channels)
{
    const char *accepts =
        jpeg ? "JPEG holds uint8 arrays of shape (H, W), (H, W, 1) or "
               "(H, W, 3), H and W 1 to 65500"
             : "PNG holds uint8 or uint16 arrays of shape (H, W) or "
               "(H, W, C) with C 1 to 4, H and W 1 to 2147483647";
    char why[128] = "";
    uint64_t c = info->ndim == 3 ? info->shape[2] : 1;
    bool dtype_ok = info->dtype == MMS_UINT8 ||
                    (!jpeg && info->dtype == MMS_UINT16);
    if (!dtype_ok)
        snprintf(why, sizeof why, "its dtype is %s",
                 mms_dtype_name(info->dtype));
    else if (info->ndim != 2 && info->ndim != 3)
        snprintf(why, sizeof why, "it has %d axes", info->ndim);
    else if (c < 1 || c > 4 || (jpeg && c != 1 && c != 3))
        snprintf(why, sizeof why, "it has %llu channels",
                 (unsigned long long)c);
    else if (info->shape[1] > max_side)
        snprintf(why, sizeof why, "its width %llu is more than %llu",
                 (unsigned long long)info->shape[1],
                 (unsigned long long)max_side);
    else if (info->shape[0] > max_side)
        snprintf(why, sizeof why, "its height %llu is more than %llu",
                 (unsigned long long)info->shape[0],
                 (unsigned long long)max_side);
    else if (info->shape[0] == 0 || info->shape[1] == 0)
        snprintf(why, sizeof why, "it has no pixels");
    if (why[0]) {
        char shp[CLI_SHAPE_MAX];
        return cli_error("export '%s': cannot write %s %s as %s: %s (%s)",
                         name, mms_dtype_name(info->dtype),
                         cli_format_shape(info->ndim, info->shape, shp,
                                          sizeof shp),
                         jpeg ? "JPEG" : "PNG", why, accepts);
    }
    *channels = (int)c;
    return CLI_OK;
}

