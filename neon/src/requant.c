// SPDX-License-Identifier: Apache-2.0
/* Requantization: accumulator -> output fixed point, power-of-two shift with round half to even,
 * optional ReLU, saturation to [qmin, qmax]; int32 and int64 accumulators. */
#include "ep_internal.h"
#include "rq_vec.h"

size_t ep_dtype_size(ep_dtype t) {
    switch (t) {
    case EP_I8: case EP_U8: return 1;
    case EP_I16: case EP_U16: return 2;
    case EP_I32: case EP_F32: return 4;
    case EP_I64: return 8;
    }
    return 0;
}

int ep_rq_check(const ep_requant *rq) {
    int64_t lo, hi;
    if (!rq) return EP_EINVAL;
    switch (rq->out) {
    case EP_I8: lo = INT8_MIN; hi = INT8_MAX; break;
    case EP_U8: lo = 0; hi = UINT8_MAX; break;
    case EP_I16: lo = INT16_MIN; hi = INT16_MAX; break;
    case EP_U16: lo = 0; hi = UINT16_MAX; break;
    case EP_I32: lo = INT32_MIN; hi = INT32_MAX; break;
    default: return EP_ETYPE;
    }
    if (rq->qmin < lo || rq->qmax > hi || rq->qmin > rq->qmax) return EP_EINVAL;
    return EP_OK;
}

int64_t ep_rq_scalar(int64_t acc, const ep_requant *rq) {
    int64_t y = ep_shift_round_s64(acc, rq->shift);
    int64_t lo = rq->relu && rq->qmin < 0 ? 0 : rq->qmin;
    if (rq->relu && lo > rq->qmax) lo = rq->qmax;
    if (y < lo) y = lo;
    if (y > rq->qmax) y = rq->qmax;
    return y;
}

void ep_rq_store(void *out, size_t i, int dtype, int64_t v) {
    switch (dtype) {
    case EP_I8: ((int8_t *)out)[i] = (int8_t)v; break;
    case EP_U8: ((uint8_t *)out)[i] = (uint8_t)v; break;
    case EP_I16: ((int16_t *)out)[i] = (int16_t)v; break;
    case EP_U16: ((uint16_t *)out)[i] = (uint16_t)v; break;
    default: ((int32_t *)out)[i] = (int32_t)v; break;
    }
}

int ep_requantize_i32(const int32_t *acc, size_t n, const ep_requant *rq, void *out) {
    int rc = ep_rq_check(rq);
    if (rc) return rc;
    const int s = rq->shift;
    int32_t lo = rq->relu && rq->qmin < 0 ? 0 : rq->qmin;
    if (lo > rq->qmax) lo = rq->qmax;
    const int32x4_t vlo = vdupq_n_s32(lo), vhi = vdupq_n_s32(rq->qmax);
    size_t i = 0;
    if (s >= 32) {
        /* |acc| * 2**-s < 0.5 (ties at -2**31 >> 32 = -0.5 go to the even 0) */
        int32_t z = 0 < lo ? lo : (0 > rq->qmax ? rq->qmax : 0);
        for (; i < n; i++) ep_rq_store(out, i, rq->out, z);
        return EP_OK;
    }
    if (s > 0) {
        const int32x4_t negs = vdupq_n_s32(-s);
        const int32x4_t mask = vdupq_n_s32((int32_t)((1u << s) - 1u));
        const int32x4_t half = vdupq_n_s32((int32_t)(1u << (s - 1)));
        for (; i + 16 <= n; i += 16) {
            int32x4_t a = rshift_rne_s32(vld1q_s32(acc + i), negs, mask, half);
            int32x4_t b = rshift_rne_s32(vld1q_s32(acc + i + 4), negs, mask, half);
            int32x4_t c = rshift_rne_s32(vld1q_s32(acc + i + 8), negs, mask, half);
            int32x4_t d = rshift_rne_s32(vld1q_s32(acc + i + 12), negs, mask, half);
            store16(out, i, rq->out, vminq_s32(vmaxq_s32(a, vlo), vhi),
                    vminq_s32(vmaxq_s32(b, vlo), vhi), vminq_s32(vmaxq_s32(c, vlo), vhi),
                    vminq_s32(vmaxq_s32(d, vlo), vhi));
        }
    } else {
        /* exact left shift, saturating (saturation then clamp == clamp of the exact value) */
        const int l = -s > 31 ? 31 : -s;
        for (; i + 16 <= n; i += 16) {
            int32x4_t a = qshl_s32(vld1q_s32(acc + i), l);
            int32x4_t b = qshl_s32(vld1q_s32(acc + i + 4), l);
            int32x4_t c = qshl_s32(vld1q_s32(acc + i + 8), l);
            int32x4_t d = qshl_s32(vld1q_s32(acc + i + 12), l);
            store16(out, i, rq->out, vminq_s32(vmaxq_s32(a, vlo), vhi),
                    vminq_s32(vmaxq_s32(b, vlo), vhi), vminq_s32(vmaxq_s32(c, vlo), vhi),
                    vminq_s32(vmaxq_s32(d, vlo), vhi));
        }
    }
    for (; i < n; i++) ep_rq_store(out, i, rq->out, ep_rq_scalar(acc[i], rq));
    return EP_OK;
}

int ep_requantize_i64(const int64_t *acc, size_t n, const ep_requant *rq, void *out) {
    int rc = ep_rq_check(rq);
    if (rc) return rc;
    const int s = rq->shift;
    int64_t lo = rq->relu && rq->qmin < 0 ? 0 : rq->qmin;
    if (lo > rq->qmax) lo = rq->qmax;
    const int64x2_t vlo = vdupq_n_s64(lo), vhi = vdupq_n_s64(rq->qmax);
    size_t i = 0;
    if (s > 0 && s < 64) {
        const int64x2_t negs = vdupq_n_s64(-s);
        const int64x2_t mask = vdupq_n_s64((int64_t)((1ull << s) - 1ull));
        const int64x2_t half = vdupq_n_s64((int64_t)(1ull << (s - 1)));
        for (; i + 16 <= n; i += 16) {
            int32x4_t v[4];
            for (int k = 0; k < 4; k++) {
                int64x2_t a = rshift_rne_s64(vld1q_s64(acc + i + 4 * k), negs, mask, half);
                int64x2_t b = rshift_rne_s64(vld1q_s64(acc + i + 4 * k + 2), negs, mask, half);
                v[k] = clamp_narrow_s64(a, b, vlo, vhi);
            }
            store16(out, i, rq->out, v[0], v[1], v[2], v[3]);
        }
    } else if (s <= 0) {
        const int l = -s > 63 ? 63 : -s;
        for (; i + 16 <= n; i += 16) {
            int32x4_t v[4];
            for (int k = 0; k < 4; k++) {
                int64x2_t a = qshl_s64(vld1q_s64(acc + i + 4 * k), l);
                int64x2_t b = qshl_s64(vld1q_s64(acc + i + 4 * k + 2), l);
                v[k] = clamp_narrow_s64(a, b, vlo, vhi);
            }
            store16(out, i, rq->out, v[0], v[1], v[2], v[3]);
        }
    }
    for (; i < n; i++) ep_rq_store(out, i, rq->out, ep_rq_scalar(acc[i], rq));
    return EP_OK;
}
