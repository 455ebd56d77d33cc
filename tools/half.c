/* half.c - float16 to and from double, bit by bit, for the CSV format
 * (reading and writing cells) and the NumPy-style printer: one copy, so
 * that what `show` prints and what `export` writes round the same way. */
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
