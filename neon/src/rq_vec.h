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
    int32x4_t negs, mask, half, lo, hi, one;
    int32x4_t bit;               /* mode 1: 1 << s, the parity bit of a >> s */
    int64x2_t negs64, mask64, half64, lo64, hi64;
    int8x16_t lo8, hi8;          /* the clamp in the output type (after saturating narrows) */
    uint8x16_t lou8, hiu8;
    int16x8_t lo16, hi16;
    uint16x8_t lou16, hiu16;
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
    c->one = vdupq_n_s32(1);
    /* ep_rq_check keeps [lo, qmax] inside the output type, so these casts are exact */
    c->lo8 = vdupq_n_s8((int8_t)(rq->out == EP_I8 ? lo : 0));
    c->hi8 = vdupq_n_s8((int8_t)(rq->out == EP_I8 ? rq->qmax : 0));
    c->lou8 = vdupq_n_u8((uint8_t)(rq->out == EP_U8 ? lo : 0));
    c->hiu8 = vdupq_n_u8((uint8_t)(rq->out == EP_U8 ? rq->qmax : 0));
    c->lo16 = vdupq_n_s16((int16_t)(rq->out == EP_I16 ? lo : 0));
    c->hi16 = vdupq_n_s16((int16_t)(rq->out == EP_I16 ? rq->qmax : 0));
    c->lou16 = vdupq_n_u16((uint16_t)(rq->out == EP_U16 ? lo : 0));
    c->hiu16 = vdupq_n_u16((uint16_t)(rq->out == EP_U16 ? rq->qmax : 0));
    c->l = 0;
    c->negs = vdupq_n_s32(0); c->mask = c->negs; c->half = c->negs; c->bit = c->negs;
    c->negs64 = vdupq_n_s64(0); c->mask64 = c->negs64; c->half64 = c->negs64;
    if (s >= acc_bits) {
        c->mode = 0;
    } else if (s > 0) {
        c->mode = 1;
        if (acc_bits == 32) {
            c->negs = vdupq_n_s32(-s);
            c->mask = vdupq_n_s32((int32_t)((1u << s) - 1u));
            c->half = vdupq_n_s32((int32_t)(1u << (s - 1)));
            c->bit = vdupq_n_s32((int32_t)(1u << s));
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

/* round half to even of a * 2^-s (mode 1, 1 <= s <= 31). aarch64, 4 operations: with
 * q = a >> s, round-half-up (srshl, exact: it rounds in extra precision) of a - 1 when q is
 * even, of a when q is odd, is round half to even -- a tie then rounds down to the even q, a
 * remainder of 0 gives q either way (2^s - 1 + 2^(s-1) carries); q's parity is bit s of a
 * (cmtst), and a - 1 saturates at INT32_MIN (remainder 0 there). Elsewhere (SIMDe's srshl
 * wraps near INT32_MAX) in 6: q = a >> s (floor), the remainder r = a & (2^s - 1); round up
 * when r + (q & 1) > 2^(s-1), compared unsigned (r + 1 <= 2^31 cannot wrap) -- r > half, or
 * r == half with q odd. */
static inline int32x4_t ep_rqv_shift32(const ep_rqv *c, int32x4_t a) {
    if (c->mode == 1) {
#if defined(__aarch64__)
        const int32x4_t even = vreinterpretq_s32_u32(vmvnq_u32(vtstq_s32(a, c->bit)));
        return vrshlq_s32(vqaddq_s32(a, even), c->negs);
#else
        const int32x4_t q = vshlq_s32(a, c->negs);
        const uint32x4_t r = vreinterpretq_u32_s32(vaddq_s32(vandq_s32(a, c->mask),
                                                             vandq_s32(q, c->one)));
        return vsubq_s32(q, vreinterpretq_s32_u32(vcgtq_u32(r, vreinterpretq_u32_s32(c->half))));
#endif
    }
    if (c->mode == 2) return qshl_s32(a, c->l);
    return vdupq_n_s32(0);
}

/* requantize 16 int32 accumulators and store them in the output type: saturating narrows to
 * the output type, then the [lo, qmax] clamp there (16 lanes per operation for 8-bit outputs
 * instead of 4 in int32) -- the same values as clamping first, since [lo, qmax] lies inside
 * the output type */
static inline __attribute__((always_inline)) void ep_rqv_store16(const ep_rqv *c, void *dst, int32x4_t a, int32x4_t b,
                                  int32x4_t d, int32x4_t e) {
    a = ep_rqv_shift32(c, a);
    b = ep_rqv_shift32(c, b);
    d = ep_rqv_shift32(c, d);
    e = ep_rqv_shift32(c, e);
    switch (c->out) {
    case EP_I8: {
        int8x16_t v = vcombine_s8(vqmovn_s16(vcombine_s16(vqmovn_s32(a), vqmovn_s32(b))),
                                  vqmovn_s16(vcombine_s16(vqmovn_s32(d), vqmovn_s32(e))));
        vst1q_s8((int8_t *)dst, vminq_s8(vmaxq_s8(v, c->lo8), c->hi8));
        break;
    }
    case EP_U8: {
        uint8x16_t v = vcombine_u8(vqmovn_u16(vcombine_u16(vqmovun_s32(a), vqmovun_s32(b))),
                                   vqmovn_u16(vcombine_u16(vqmovun_s32(d), vqmovun_s32(e))));
        vst1q_u8((uint8_t *)dst, vminq_u8(vmaxq_u8(v, c->lou8), c->hiu8));
        break;
    }
    case EP_I16:
        vst1q_s16((int16_t *)dst, vminq_s16(vmaxq_s16(vcombine_s16(vqmovn_s32(a), vqmovn_s32(b)),
                                                      c->lo16), c->hi16));
        vst1q_s16((int16_t *)dst + 8,
                  vminq_s16(vmaxq_s16(vcombine_s16(vqmovn_s32(d), vqmovn_s32(e)), c->lo16),
                            c->hi16));
        break;
    case EP_U16:
        vst1q_u16((uint16_t *)dst,
                  vminq_u16(vmaxq_u16(vcombine_u16(vqmovun_s32(a), vqmovun_s32(b)), c->lou16),
                            c->hiu16));
        vst1q_u16((uint16_t *)dst + 8,
                  vminq_u16(vmaxq_u16(vcombine_u16(vqmovun_s32(d), vqmovun_s32(e)), c->lou16),
                            c->hiu16));
        break;
    default:
        vst1q_s32((int32_t *)dst, vminq_s32(vmaxq_s32(a, c->lo), c->hi));
        vst1q_s32((int32_t *)dst + 4, vminq_s32(vmaxq_s32(b, c->lo), c->hi));
        vst1q_s32((int32_t *)dst + 8, vminq_s32(vmaxq_s32(d, c->lo), c->hi));
        vst1q_s32((int32_t *)dst + 12, vminq_s32(vmaxq_s32(e, c->lo), c->hi));
        break;
    }
}

/* 16 int32 accumulators of one pixel: requantized by ``c`` (NULL: stored as int32), the first
 * ``valid`` (<= 16) channels of ``oes``-byte elements written to ``dst`` (a tail goes through a
 * buffer) */
static inline __attribute__((always_inline)) void ep_store16_tail(const ep_rqv *c, size_t oes,
                                                                  char *dst, int valid,
                                                                  int32x4_t v0, int32x4_t v1,
                                                                  int32x4_t v2, int32x4_t v3) {
    int32_t tmp[16];
    char *to = valid == 16 ? dst : (char *)tmp;
    if (c) ep_rqv_store16(c, to, v0, v1, v2, v3);
    else store16(to, 0, EP_I32, v0, v1, v2, v3);
    if (valid < 16) memcpy(dst, tmp, (size_t)valid * oes);
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
