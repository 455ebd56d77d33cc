/* rng.h - the seeded pseudo-random numbers of the torture and soak tests
 * (splitmix64): a run is replayed from its printed seed. */
#ifndef MMS_TEST_RNG_H
#define MMS_TEST_RNG_H

#include <stdint.h>

/* splitmix64's finaliser: a bijective mix of 64 bits. */
static inline uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= UINT64_C(0xbf58476d1ce4e5b9);
    x ^= x >> 27;
    x *= UINT64_C(0x94d049bb133111eb);
    x ^= x >> 31;
    return x;
}

/* The next number of the sequence whose state is *state. */
static inline uint64_t rng_next(uint64_t *state)
{
    *state += UINT64_C(0x9e3779b97f4a7c15);
    return mix64(*state);
}

/* A number in [0, n) (0 when n is 0). */
static inline uint64_t rng_below(uint64_t *state, uint64_t n)
{
    return n ? rng_next(state) % n : 0;
}

#endif
