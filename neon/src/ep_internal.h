// SPDX-License-Identifier: Apache-2.0
/* Internal helpers shared by the kernel sources: the NEON include (native on aarch64, SIMDe
 * elsewhere), scratch carving, scalar reference rounding. */
#ifndef EP_INTERNAL_H
#define EP_INTERNAL_H

#if defined(__aarch64__)
#include <arm_neon.h>
#else
#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/arm/neon.h>
#endif

/* SIMDe lacks a few aarch64 intrinsics; map them to equivalents. */
#if defined(__aarch64__)
#define ep_vqdmulhq_s32 vqdmulhq_s32
#define ep_vdivq_f64 vdivq_f64
#define ep_vcvt_high_f64_f32 vcvt_high_f64_f32
#else
static inline float64x2_t ep_vdivq_f64(float64x2_t a, float64x2_t b) {
    return vsetq_lane_f64(vgetq_lane_f64(a, 1) / vgetq_lane_f64(b, 1),
                          vdupq_n_f64(vgetq_lane_f64(a, 0) / vgetq_lane_f64(b, 0)), 1);
}
/* SIMDe's sqdmulh left-shifts negative products (UB); (a * b) >> 31 is the same value when it
 * does not saturate (never both operands INT32_MIN) */
static inline int32x4_t ep_vqdmulhq_s32(int32x4_t a, int32x4_t b) {
    return vcombine_s32(vshrn_n_s64(vmull_s32(vget_low_s32(a), vget_low_s32(b)), 31),
                        vshrn_n_s64(vmull_s32(vget_high_s32(a), vget_high_s32(b)), 31));
}
static inline float64x2_t ep_vcvt_high_f64_f32(float32x4_t a) {
    return vcvt_f64_f32(vget_high_f32(a));
}
#endif

#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "edgepool_neon.h"

/* Every scratch region gets EP_SLACK bytes before and after it, so vector loops may run a
 * partial vector past either end of a row without bounds checks (the extra lanes are never
 * used). Regions start 64-byte aligned. */
#define EP_SLACK 64
#define EP_ALIGN(x) (((x) + 63u) & ~(size_t)63u)

static inline size_t ep_region_bytes(size_t bytes) { return EP_ALIGN(bytes + 2 * EP_SLACK); }

/* Bump allocator over a scratch buffer; with base == NULL it only measures. */
typedef struct {
    char *base;
    size_t off;
} ep_carver;

static inline void ep_carver_init(ep_carver *c, void *scratch) {
    c->base = (char *)scratch;
    c->off = 0;
    if (c->base) {
        size_t mis = (size_t)((uintptr_t)c->base & 63u);
        c->off = mis ? 64 - mis : 0;
    } else {
        c->off = 64;   /* worst-case alignment loss */
    }
}

/* A region of ``bytes`` usable bytes (plus slack both sides); returns NULL when measuring. */
static inline void *ep_carve(ep_carver *c, size_t bytes) {
    size_t at = c->off + EP_SLACK;
    c->off += ep_region_bytes(bytes);
    return c->base ? (void *)(c->base + at) : NULL;
}

static inline size_t ep_carver_size(const ep_carver *c) { return c->off; }

static inline int ep_imax(int a, int b) { return a > b ? a : b; }
static inline int ep_imin(int a, int b) { return a < b ? a : b; }
static inline int ep_round_up(int x, int m) { return (x + m - 1) / m * m; }
/* floor division for any sign of a, b > 0 */
static inline int ep_floordiv(int a, int b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
static inline int ep_ceildiv(int a, int b) { return -ep_floordiv(-a, b); }

/* Scalar round-half-to-even shift (edgepool.ir.kernels.shift_round) for one value. */
static inline int64_t ep_shift_round_s64(int64_t x, int shift) {
    if (shift <= 0) {
        int l = -shift;
        if (x == 0) return 0;
        if (l >= 63) return x > 0 ? INT64_MAX : INT64_MIN;
        if (x > (INT64_MAX >> l)) return INT64_MAX;
        if (x < (INT64_MIN >> l)) return INT64_MIN;
        return (int64_t)((uint64_t)x << l);
    }
    if (shift >= 64) return 0;   /* |x| / 2**64 < 0.5, ties (x = -2**63 at 64) round to 0 */
    int64_t q = x >> shift;   /* arithmetic: floor */
    uint64_t r = (uint64_t)x & ((shift == 63) ? (uint64_t)INT64_MAX : ((1ull << shift) - 1));
    uint64_t half = 1ull << (shift - 1);
    int up = r > half || (r == half && (q & 1));
    return q + up;
}

/* Scalar div_round: num / den (den > 0) rounded half to even. */
static inline int64_t ep_div_round_s64(int64_t num, int64_t den) {
    int64_t q = num / den, r = num % den;
    if (r < 0) { q -= 1; r += den; }
    int64_t twice = 2 * r;
    if (twice > den || (twice == den && (q & 1))) q += 1;
    return q;
}

/* Threads (threads.c): fn(ctx, tid, lo, hi) over balanced contiguous ranges of [0, n_items). */
typedef void (*ep_task_fn)(void *ctx, int tid, int lo, int hi);
int ep_threads_for(int threads, int n_items);
void ep_parallel(int nthreads, int n_items, ep_task_fn fn, void *ctx);

/* smlal2 by lane (SIMDe lacks vmlal_high_laneq_s16: same product on the high half) */
#if defined(__aarch64__)
#define ep_vmlal_high_laneq_s16(a, b, v, l) vmlal_high_laneq_s16((a), (b), (v), (l))
#else
#define ep_vmlal_high_laneq_s16(a, b, v, l) vmlal_laneq_s16((a), vget_high_s16(b), (v), (l))
#endif

/* The max-pool engine (pool.c) over rows from produce(ctx, y, dst): ep_maxpool and every fused
 * conv -> max pool (conv.c, conv_rb.c, conv_dw.c). */
typedef void (*ep_row_fn)(void *ctx, int y, void *dst);
int ep__max_engine(const ep_pool_params *p, ep_dtype t, ep_row_fn produce, void *ctx, void *out,
                   void *scratch);
size_t ep__max_engine_scratch(const ep_pool_params *p, ep_dtype t);

/* Whether conv's accumulator provably fits its container for these weights / bias (conv_rb.c):
 * every conv kernel checks it before running. */
int ep__conv_bound_ok(const ep_conv_params *p, ep_dtype t, const void *bias);

int ep_rq_check(const ep_requant *rq);
int64_t ep_rq_scalar(int64_t acc, const ep_requant *rq);
void ep_rq_store(void *out, size_t i, int dtype, int64_t v);

#endif
