/* dtype.c - the element types and their NumPy spellings. */
#include "base.h"

#include <string.h>

static const struct dtype_info {
    const char *name;  /* NumPy name */
    const char *descr; /* NumPy descr, native little-endian */
    size_t size;
    /* Other accepted spellings, NULL-terminated. They follow NumPy on a
     * 64-bit Linux host: np.dtype("float") is float64 and np.dtype("int")
     * is int64 (C's long), not C's float and int. */
    const char *aliases[7];
} dtypes[] = {
    [MMS_BOOL] = {"bool", "|b1", 1, {"?", "b1", "bool_", "bool8", NULL}},
    [MMS_INT8] = {"int8", "|i1", 1, {"i1", "b", "byte", "schar", NULL}},
    [MMS_INT16] = {"int16", "<i2", 2, {"i2", "h", "short", NULL}},
    [MMS_INT32] = {"int32", "<i4", 4, {"i4", "i", "intc", NULL}},
    [MMS_INT64] = {"int64", "<i8", 8, {"i8", "l", "q", "int", "long", "longlong", NULL}},
    [MMS_UINT8] = {"uint8", "|u1", 1, {"u1", "B", "ubyte", "uchar", NULL}},
    [MMS_UINT16] = {"uint16", "<u2", 2, {"u2", "H", "ushort", NULL}},
    [MMS_UINT32] = {"uint32", "<u4", 4, {"u4", "I", "uintc", NULL}},
    [MMS_UINT64] = {"uint64", "<u8", 8, {"u8", "L", "Q", "uint", "ulong", "ulonglong", NULL}},
    [MMS_FLOAT16] = {"float16", "<f2", 2, {"f2", "e", "half", NULL}},
    [MMS_FLOAT32] = {"float32", "<f4", 4, {"f4", "f", "single", NULL}},
    [MMS_FLOAT64] = {"float64", "<f8", 8, {"f8", "d", "double", "float", "float_", NULL}},
    [MMS_COMPLEX64] = {"complex64", "<c8", 8, {"c8", "F", "csingle", NULL}},
    [MMS_COMPLEX128] = {"complex128", "<c16", 16,
                        {"c16", "D", "cdouble", "complex", "complex_", NULL}},
};

bool mmsi_dtype_valid(int dtype)
{
    return dtype >= MMS_BOOL && dtype <= MMS_COMPLEX128;
}

size_t mms_dtype_size(mms_dtype dtype)
{
    return mmsi_dtype_valid((int)dtype) ? dtypes[dtype].size : 0;
}

const char *mms_dtype_name(mms_dtype dtype)
{
    return mmsi_dtype_valid((int)dtype) ? dtypes[dtype].name : NULL;
}

const char *mms_dtype_descr(mms_dtype dtype)
{
    return mmsi_dtype_valid((int)dtype) ? dtypes[dtype].descr : NULL;
}

int mms_dtype_parse(const char *text, mms_dtype *out)
{
    if (!text || !out)
        return mmsi_err(MMS_ERR_INVAL, "dtype: NULL argument");
    const char *s = text;
    /* A byte-order mark: '<' and '=' mean native here (little-endian),
     * '|' means "not applicable" (one-byte types), '>' is refused. */
    char order = 0;
    if (*s == '<' || *s == '=' || *s == '|' || *s == '>')
        order = *s++;
    if (order == '>')
        return mmsi_err(MMS_ERR_DTYPE, "dtype '%s': big-endian data is not "
                        "stored (convert it to little-endian first)", text);
    for (int d = MMS_BOOL; d <= MMS_COMPLEX128; d++) {
        const struct dtype_info *t = &dtypes[d];
        bool match = !order && strcmp(s, t->name) == 0;
        /* With a byte-order mark only the short codes make sense. */
        if (strcmp(s, t->descr + 1) == 0)
            match = true;
        for (int i = 0; !match && t->aliases[i]; i++)
            if ((!order || strlen(t->aliases[i]) <= 3) &&
                strcmp(s, t->aliases[i]) == 0)
                match = true;
        if (match) {
            /* '|' is NumPy's mark for one-byte types only. */
            if (order == '|' && t->size != 1)
                break;
            *out = (mms_dtype)d;
            return MMS_OK;
        }
    }
    return mmsi_err(MMS_ERR_DTYPE, "dtype '%s': unknown or unsupported "
                    "(supported: bool, int8..int64, uint8..uint64, float16, "
                    "float32, float64, complex64, complex128)", text);
}
