// SPDX-License-Identifier: Apache-2.0
/* Vector requantization helpers shared by requant.c and the register-blocked kernels (which
 * requantize their accumulator tiles in registers before storing). */
#ifndef EP_RQ_VEC_H
#define EP_RQ_VEC_H

#include "ep_internal.h"

/* Saturating left shift by l in 0..31 (63). aarch64: sqshl. SIMDe's scalar emulation of vqshl
 * shifts negative values left (undefined behaviour in C), so elsewhere: unsigned shift + select. */
#if defined(__aarch64__)
#define qshl_s32(a, l) vqshlq_s32((a), vdupq_n_s32(l))
#define qshl_s64(a, l) vqshlq_s64((a), vdupq_n_s64(l))
#else
static inline int32x4_t qshl_s32(int32x4_t a, int l) {
    int32x4_t sh = vreinterpretq_s32_u32(vshlq_u32(vreinterpretq_u32_s32(a), vdupq_n_s32(l)));
    sh = vbslq_s32(vcgtq_s32(a, vdupq_n_s32(INT32_MAX >> l)), vdupq_n_s32(INT32_MAX), sh);
    return vbslq_s32(vcltq_s32(a, vdupq_n_s32(INT32_MIN >> l)), vdupq_n_s32(INT32_MIN), sh);
}
static inline int64x2_t qshl_s64(int64x2_t a, int l) {
    int64x2_t sh = vreinterpretq_s64_u64(vshlq_u64(vreinterpretq_u64_s64(a), vdupq_n_s64(l)));
    sh = vbslq_s64(vcgtq_s64(a, vdupq_n_s64(INT64_MAX >> l)), vdupq_n_s64(INT64_MAX), sh);
    return vbslq_s64(vcltq_s64(a, vdupq_n_s64(INT64_MIN >> l)), vdupq_n_s64(INT64_MIN), sh);
}
#endif

/* round-half-even arithmetic shift right by s in 1..31 */
static inline int32x4_t rshift_rne_s32(int32x4_t a, int32x4_t negs, int32x4_t mask,
                                       int32x4_t half) {
    int32x4_t q = vshlq_s32(a, negs);
    int32x4_t r = vandq_s32(a, mask);
    uint32x4_t up = vorrq_u32(vcgtq_s32(r, half),
                              vandq_u32(vceqq_s32(r, half), vtstq_s32(q, vdupq_n_s32(1))));
    return vsubq_s32(q, vreinterpretq_s32_u32(up));   /* up is all-ones (-1) where rounding up */
}

/* Stores 16 clamped int32 values (4 vectors) as the output type. */
static inline void store16(void *out, size_t i, int dtype, int32x4_t a, int32x4_t b,
                           int32x4_t c, int32x4_t d) {
    switch (dtype) {
    case EP_I8: {
        int16x8_t lo = vcombine_s16(vmovn_s32(a), vmovn_s32(b));
        int16x8_t hi = vcombine_s16(vmovn_s32(c), vmovn_s32(d));
        vst1q_s8((int8_t *)out + i, vcombine_s8(vmovn_s16(lo), vmovn_s16(hi)));
        break;
    }
    case EP_U8: {
        uint16x8_t lo = vcombine_u16(vmovn_u32(vreinterpretq_u32_s32(a)),
                                     vmovn_u32(vreinterpretq_u32_s32(b)));
        uint16x8_t hi = vcombine_u16(vmovn_u32(vreinterpretq_u32_s32(c)),
                                     vmovn_u32(vreinterpretq_u32_s32(d)));
        vst1q_u8((uint8_t *)out + i, vcombine_u8(vmovn_u16(lo), vmovn_u16(hi)));
        break;
    }
    case EP_I16:
        vst1q_s16((int16_t *)out + i, vcombine_s16(vmovn_s32(a), vmovn_s32(b)));
        vst1q_s16((int16_t *)out + i + 8, vcombine_s16(vmovn_s32(c), vmovn_s32(d)));
        break;
    case EP_U16:
        vst1q_u16((uint16_t *)out + i, vcombine_u16(vmovn_u32(vreinterpretq_u32_s32(a)),
                                                    vmovn_u32(vreinterpretq_u32_s32(b))));
        vst1q_u16((uint16_t *)out + i + 8, vcombine_u16(vmovn_u32(vreinterpretq_u32_s32(c)),
                                                        vmovn_u32(vreinterpretq_u32_s32(d))));
        break;
    default:
        vst1q_s32((int32_t *)out + i, a);
        vst1q_s32((int32_t *)out + i + 4, b);
        vst1q_s32((int32_t *)out + i + 8, c);
        vst1q_s32((int32_t *)out + i + 12, d);
        break;
    }
}

static inline int64x2_t rshift_rne_s64(int64x2_t a, int64x2_t negs, int64x2_t mask,
                                       int64x2_t half) {
    int64x2_t q = vshlq_s64(a, negs);
    int64x2_t r = vandq_s64(a, mask);
    uint64x2_t up = vorrq_u64(vcgtq_s64(r, half),
                              vandq_u64(vceqq_s64(r, half), vtstq_s64(q, vdupq_n_s64(1))));
    return vsubq_s64(q, vreinterpretq_s64_u64(up));
}

static inline int32x4_t clamp_narrow_s64(int64x2_t a, int64x2_t b, int64x2_t lo, int64x2_t hi) {
    a = vbslq_s64(vcgtq_s64(a, hi), hi, a);
    a = vbslq_s64(vcltq_s64(a, lo), lo, a);
    b = vbslq_s64(vcgtq_s64(b, hi), hi, b);
    b = vbslq_s64(vcltq_s64(b, lo), lo, b);
    return vcombine_s32(vmovn_s64(a), vmovn_s64(b));
}


/* Stores 8 clamped int32 values (2 vectors) as the output type. */
static inline void store8(void *out, size_t i, int dtype, int32x4_t a, int32x4_t b) {
    switch (dtype) {
    case EP_I8:
        vst1_s8((int8_t *)out + i, vmovn_s16(vcombine_s16(vmovn_s32(a), vmovn_s32(b))));
        break;
    case EP_U8:
        vst1_u8((uint8_t *)out + i, vmovn_u16(vcombine_u16(vmovn_u32(vreinterpretq_u32_s32(a)),
                                                           vmovn_u32(vreinterpretq_u32_s32(b)))));
        break;
    case EP_I16:
        vst1q_s16((int16_t *)out + i, vcombine_s16(vmovn_s32(a), vmovn_s32(b)));
        break;
    case EP_U16:
        vst1q_u16((uint16_t *)out + i, vcombine_u16(vmovn_u32(vreinterpretq_u32_s32(a)),
                                                    vmovn_u32(vreinterpretq_u32_s32(b))));
        break;
    default:
        vst1q_s32((int32_t *)out + i, a);
        vst1q_s32((int32_t *)out + i + 4, b);
        break;
    }
}

/* Requantization constants for a register tile: mode 0 = everything rounds to 0 (shift past
 * the accumulator width), 1 = round-half-even right shift, 2 = saturating left shift. */
typedef struct {
    int mode, l, out;
    int32x4_t negs, mask, half, lo, hi;
    int64x2_t negs64, mask64, half64, lo64, hi64;
} ep_rqv;

static inline void ep_rqv_init(ep_rqv *c, const ep_requant *rq, int acc_bits) {
    const int s = rq->shift;
    int32_t lo = rq->relu && rq->qmin < 0 ? 0 : rq->qmin;
    if (lo > rq->qmax) lo = rq->qmax;
    c->out = rq->out;
    c->lo = vdupq_n_s32(lo);
    c->hi = vdupq_n_s32(rq->qmax);
    c->lo64 = vdupq_n_s64(lo);
    c->hi64 = vdupq_n_s64(rq->qmax);
    c->l = 0;
    c->negs = vdupq_n_s32(0); c->mask = c->negs; c->half = c->negs;
    c->negs64 = vdupq_n_s64(0); c->mask64 = c->negs64; c->half64 = c->negs64;
    if (s >= acc_bits) {
        c->mode = 0;
    } else if (s > 0) {
        c->mode = 1;
        if (acc_bits == 32) {
            c->negs = vdupq_n_s32(-s);
            c->mask = vdupq_n_s32((int32_t)((1u << s) - 1u));
            c->half = vdupq_n_s32((int32_t)(1u << (s - 1)));
        } else {
            c->negs64 = vdupq_n_s64(-s);
            c->mask64 = vdupq_n_s64((int64_t)((1ull << s) - 1ull));
            c->half64 = vdupq_n_s64((int64_t)(1ull << (s - 1)));
        }
    } else {
        c->mode = 2;
        c->l = -s > acc_bits - 1 ? acc_bits - 1 : -s;
    }
}

/* int32 accumulators -> clamped int32 values (still to be narrowed by store8/store16) */
static inline int32x4_t ep_rqv_apply32(const ep_rqv *c, int32x4_t a) {
    if (c->mode == 1) a = rshift_rne_s32(a, c->negs, c->mask, c->half);
    else if (c->mode == 2) a = qshl_s32(a, c->l);
    else a = vdupq_n_s32(0);
    return vminq_s32(vmaxq_s32(a, c->lo), c->hi);
}

/* two int64 accumulator vectors -> 4 clamped int32 values */
static inline int32x4_t ep_rqv_apply64(const ep_rqv *c, int64x2_t a, int64x2_t b) {
    if (c->mode == 1) {
        a = rshift_rne_s64(a, c->negs64, c->mask64, c->half64);
        b = rshift_rne_s64(b, c->negs64, c->mask64, c->half64);
    } else if (c->mode == 2) {
        a = qshl_s64(a, c->l);
        b = qshl_s64(b, c->l);
    } else {
        a = vdupq_n_s64(0);
        b = a;
    }
    return clamp_narrow_s64(a, b, c->lo64, c->hi64);
}

#endif
