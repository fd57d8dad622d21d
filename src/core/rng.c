/* rng.c: xoshiro256** (Blackman & Vigna, "Scrambled linear pseudorandom number generators",
 * 2021) seeded through splitmix64, and the distributions the library needs. Everything here is
 * deterministic given the seed: no global state, no caching of spare variates. */
#include "touchpoint/core.h"

#include <math.h>

__extension__ typedef unsigned __int128 u128;

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static inline uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void tp_rng_seed(tp_rng *r, uint64_t seed) {
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
    // All-zero is the one forbidden state; splitmix64 never yields four zeros, but be explicit.
    if (!(r->s[0] | r->s[1] | r->s[2] | r->s[3])) r->s[0] = 1;
}

/* Each state word combines one splitmix64 sequence started at the seed and one started at a
 * hash of the stream id, so (seed, stream) pairs cannot cancel the way seed ^ stream would. */
void tp_rng_seed_stream(tp_rng *r, uint64_t seed, uint64_t stream) {
    uint64_t x = seed;
    uint64_t y = tp_hash_u64(stream ^ 0x6a09e667f3bcc909ULL); // sqrt(2) bits: stream 0 != seed()
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x) ^ rotl(splitmix64(&y), 17);
    if (!(r->s[0] | r->s[1] | r->s[2] | r->s[3])) r->s[0] = 1;
}

uint64_t tp_rng_u64(tp_rng *r) {
    uint64_t *s = r->s;
    uint64_t out = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

double tp_rng_uniform(tp_rng *r) { return (double)(tp_rng_u64(r) >> 11) * 0x1.0p-53; }

// Lemire, "Fast random integer generation in an interval", ACM TOMACS 2019: multiply-shift with
// a rejection step only in the (n / 2^64)-probable biased zone.
uint64_t tp_rng_below(tp_rng *r, uint64_t n) {
    TP_ASSERT(n > 0);
    u128 m = (u128)tp_rng_u64(r) * n;
    uint64_t lo = (uint64_t)m;
    if (lo < n) {
        uint64_t t = (0 - n) % n; // 2^64 mod n
        while (lo < t) {
            m = (u128)tp_rng_u64(r) * n;
            lo = (uint64_t)m;
        }
    }
    return (uint64_t)(m >> 64);
}

// Marsaglia polar method; the second variate of each pair is dropped to keep no hidden state.
double tp_rng_normal(tp_rng *r) {
    for (;;) {
        double u = 2.0 * tp_rng_uniform(r) - 1.0;
        double v = 2.0 * tp_rng_uniform(r) - 1.0;
        double s = u * u + v * v;
        if (s > 0.0 && s < 1.0) return u * sqrt(-2.0 * log(s) / s);
    }
}

double tp_rng_exponential(tp_rng *r, double rate) {
    TP_ASSERT(rate > 0);
    return -log1p(-tp_rng_uniform(r)) / rate; // 1 - u in (0, 1], so the log is finite
}

// Inversion by sequential search: exact, and cheap while the mean is small.
static uint32_t poisson_inversion(tp_rng *r, double mean) {
    double u = tp_rng_uniform(r);
    double p = exp(-mean), cdf = p;
    uint32_t k = 0;
    while (u > cdf) {
        k++;
        p *= mean / k;
        if (p <= 0.0) break; // the tail has underflowed: u fell in rounding error above the cdf
        cdf += p;
    }
    return k;
}

/* PTRS, transformed rejection with squeeze: W. Hörmann, "The transformed rejection method for
 * generating Poisson random variables", Insurance: Mathematics and Economics 12 (1993). */
static uint32_t poisson_ptrs(tp_rng *r, double mean) {
    double slam = sqrt(mean), loglam = log(mean);
    double b = 0.931 + 2.53 * slam;
    double a = -0.059 + 0.02483 * b;
    double inv_alpha = 1.1239 + 1.1328 / (b - 3.4);
    double vr = 0.9277 - 3.6224 / (b - 2.0);
    for (;;) {
        double u = tp_rng_uniform(r) - 0.5;
        double v = tp_rng_uniform(r);
        double us = 0.5 - fabs(u);
        double k = floor((2.0 * a / us + b) * u + mean + 0.43);
        if (us >= 0.07 && v <= vr) return k >= (double)UINT32_MAX ? UINT32_MAX : (uint32_t)k;
        if (k < 0.0 || (us < 0.013 && v > us)) continue;
        int sign;
        double lhs = log(v) + log(inv_alpha) - log(a / (us * us) + b);
        double rhs = -mean + k * loglam - lgamma_r(k + 1.0, &sign); // lgamma_r: no global signgam
        if (lhs <= rhs) return k >= (double)UINT32_MAX ? UINT32_MAX : (uint32_t)k;
    }
}

uint32_t tp_rng_poisson(tp_rng *r, double mean) {
    TP_ASSERT(mean >= 0.0 && isfinite(mean));
    if (mean == 0.0) return 0;
    return mean < 10.0 ? poisson_inversion(r, mean) : poisson_ptrs(r, mean);
}

void tp_rng_shuffle_i64(tp_rng *r, int64_t *a, size_t n) {
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)tp_rng_below(r, i);
        int64_t t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}
