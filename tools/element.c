/* element.c - one array element of any dtype: read and widened, and
 * float16 to and from double, bit by bit. The CSV format (reading and
 * writing cells) and the NumPy-style printer share this one copy, so that
 * what `show` prints and what `export` writes read the same values. */
#include <string.h>

#include "cli.h"

double cli_half_to_double(uint16_t h)
{
    uint64_t sign = (uint64_t)(h >> 15) << 63;
    unsigned e = (h >> 10) & 0x1f, m = h & 0x3ff;
    uint64_t bits;
    if (e == 0) {
        double v = (double)m * 0x1p-24; /* exact */
        return h >> 15 ? -v : v;
    }
    if (e == 31)
        bits = sign | (uint64_t)0x7ff << 52 | (uint64_t)m << 42;
    else
        bits = sign | (uint64_t)(e - 15 + 1023) << 52 | (uint64_t)m << 42;
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

uint16_t cli_double_to_half(double d)
{
    uint64_t b;
    memcpy(&b, &d, sizeof b);
    uint16_t sign = (uint16_t)((b >> 63) << 15);
    int exp = (int)((b >> 52) & 0x7ff);
    uint64_t mant = b & (((uint64_t)1 << 52) - 1);
    if (exp == 0x7ff)
        return sign | (mant ? 0x7e00 : 0x7c00);
    int e = exp - 1023;
    if (e > 15)
        return sign | 0x7c00;
    uint64_t q, rest, half;
    if (e >= -14) { /* normal: keep 10 bits of mantissa */
        q = (uint64_t)(e + 15) << 10 | mant >> 42;
        rest = mant & (((uint64_t)1 << 42) - 1);
        half = (uint64_t)1 << 41;
    } else if (e >= -25) { /* subnormal: count units of 2^-24 */
        int shift = 28 - e;
        uint64_t full = mant | (uint64_t)1 << 52;
        q = full >> shift;
        rest = full & (((uint64_t)1 << shift) - 1);
        half = (uint64_t)1 << (shift - 1);
    } else {
        return sign;
    }
    if (rest > half || (rest == half && (q & 1)))
        q++; /* a carry moves on to the next exponent, or to infinity */
    return sign | (uint16_t)q;
}

cli_kind cli_kind_of(mms_dtype t)
{
    switch (t) {
    case MMS_BOOL:
        return CLI_K_BOOL;
    case MMS_INT8: case MMS_INT16: case MMS_INT32: case MMS_INT64:
        return CLI_K_INT;
    case MMS_UINT8: case MMS_UINT16: case MMS_UINT32: case MMS_UINT64:
        return CLI_K_UINT;
    case MMS_COMPLEX64: case MMS_COMPLEX128:
        return CLI_K_COMPLEX;
    default:
        return CLI_K_FLOAT;
    }
}

cli_value cli_read_value(const void *p, mms_dtype t)
{
    cli_value v = {0};
    union {
        int8_t i8; int16_t i16; int32_t i32; int64_t i64;
        uint8_t u8; uint16_t u16; uint32_t u32; uint64_t u64;
        float f[2]; double d[2];
    } x;
    memcpy(&x, p, mms_dtype_size(t));
    switch (t) {
    case MMS_BOOL: v.b = x.u8 != 0; break;
    case MMS_INT8: v.i = x.i8; break;
    case MMS_INT16: v.i = x.i16; break;
    case MMS_INT32: v.i = x.i32; break;
    case MMS_INT64: v.i = x.i64; break;
    case MMS_UINT8: v.u = x.u8; break;
    case MMS_UINT16: v.u = x.u16; break;
    case MMS_UINT32: v.u = x.u32; break;
    case MMS_UINT64: v.u = x.u64; break;
    case MMS_FLOAT16: v.re = cli_half_to_double(x.u16); break;
    case MMS_FLOAT32: v.re = x.f[0]; break;
    case MMS_FLOAT64: v.re = x.d[0]; break;
    case MMS_COMPLEX64: v.re = x.f[0]; v.im = x.f[1]; break;
    case MMS_COMPLEX128: v.re = x.d[0]; v.im = x.d[1]; break;
    }
    return v;
}
