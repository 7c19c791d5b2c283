// SPDX-License-Identifier: Apache-2.0
/* Fully connected layer, batch 1: y = W x + b, W (m, n) row-major. Four output rows share every
 * input load; widening MAC: smull/smull2 (vmull_s8 / vmull_high_s8) + sadalp (vpadalq_s16) into
 * int32 for int8, smull + sadalp into int64 for int16, fmla for float. */
#include "ep_internal.h"

static void fc_rows_i8(int n, const int8_t *x, const int8_t *w, int r0, int nr, int32_t *acc) {
    int32x4_t a[4] = {vdupq_n_s32(0), vdupq_n_s32(0), vdupq_n_s32(0), vdupq_n_s32(0)};
    int k = 0;
    for (; k + 16 <= n; k += 16) {
        const int8x16_t xv = vld1q_s8(x + k);
        for (int r = 0; r < nr; r++) {
            const int8x16_t wv = vld1q_s8(w + (size_t)(r0 + r) * n + k);
            a[r] = vpadalq_s16(a[r], vmull_s8(vget_low_s8(wv), vget_low_s8(xv)));
            a[r] = vpadalq_s16(a[r], vmull_high_s8(wv, xv));
        }
    }
    for (; k + 8 <= n; k += 8) {
        const int8x8_t xv = vld1_s8(x + k);
        for (int r = 0; r < nr; r++)
            a[r] = vpadalq_s16(a[r], vmull_s8(vld1_s8(w + (size_t)(r0 + r) * n + k), xv));
    }
    for (int r = 0; r < nr; r++) {
        int32_t s = vaddvq_s32(a[r]);
        for (int j = k; j < n; j++) s += (int32_t)x[j] * w[(size_t)(r0 + r) * n + j];
        acc[r] += s;
    }
}

static void fc_rows_i16(int n, const int16_t *x, const int16_t *w, int r0, int nr, int64_t *acc) {
    int64x2_t a[4] = {vdupq_n_s64(0), vdupq_n_s64(0), vdupq_n_s64(0), vdupq_n_s64(0)};
    int k = 0;
    for (; k + 8 <= n; k += 8) {
        const int16x8_t xv = vld1q_s16(x + k);
        for (int r = 0; r < nr; r++) {
            const int16x8_t wv = vld1q_s16(w + (size_t)(r0 + r) * n + k);
            a[r] = vpadalq_s32(a[r], vmull_s16(vget_low_s16(wv), vget_low_s16(xv)));
            a[r] = vpadalq_s32(a[r], vmull_high_s16(wv, xv));
        }
    }
    for (int r = 0; r < nr; r++) {
        int64_t s = vaddvq_s64(a[r]);
        for (int j = k; j < n; j++) s += (int64_t)x[j] * w[(size_t)(r0 + r) * n + j];
        acc[r] += s;
    }
}

static void fc_rows_f32(int n, const float *x, const float *w, int r0, int nr, float *acc) {
    float32x4_t a[4] = {vdupq_n_f32(0), vdupq_n_f32(0), vdupq_n_f32(0), vdupq_n_f32(0)};
    int k = 0;
    for (; k + 4 <= n; k += 4) {
        const float32x4_t xv = vld1q_f32(x + k);
        for (int r = 0; r < nr; r++)
            a[r] = vfmaq_f32(a[r], vld1q_f32(w + (size_t)(r0 + r) * n + k), xv);
    }
    for (int r = 0; r < nr; r++) {
        float s = vaddvq_f32(a[r]);
        for (int j = k; j < n; j++) s += x[j] * w[(size_t)(r0 + r) * n + j];
        acc[r] += s;
    }
}

int ep_fc(int n, int m, ep_dtype t, const void *x, const void *w, const void *bias,
          const ep_requant *rq, void *out) {
    if (n < 1 || m < 1 || !x || !w || !out) return EP_EINVAL;
    if (t != EP_I8 && t != EP_I16 && t != EP_F32) return EP_ETYPE;
    if (rq && t != EP_F32) {
        int rc = ep_rq_check(rq);
        if (rc) return rc;
    }
    for (int r0 = 0; r0 < m; r0 += 4) {
        const int nr = m - r0 < 4 ? m - r0 : 4;
        if (t == EP_I8) {
            int32_t acc[4] = {0, 0, 0, 0};
            if (bias) memcpy(acc, (const int32_t *)bias + r0, (size_t)nr * 4);
            fc_rows_i8(n, (const int8_t *)x, (const int8_t *)w, r0, nr, acc);
            if (rq) for (int r = 0; r < nr; r++) ep_rq_store(out, (size_t)r0 + r, rq->out,
                                                             ep_rq_scalar(acc[r], rq));
            else memcpy((int32_t *)out + r0, acc, (size_t)nr * 4);
        } else if (t == EP_I16) {
            int64_t acc[4] = {0, 0, 0, 0};
            if (bias) memcpy(acc, (const int64_t *)bias + r0, (size_t)nr * 8);
            fc_rows_i16(n, (const int16_t *)x, (const int16_t *)w, r0, nr, acc);
            if (rq) for (int r = 0; r < nr; r++) ep_rq_store(out, (size_t)r0 + r, rq->out,
                                                             ep_rq_scalar(acc[r], rq));
            else memcpy((int64_t *)out + r0, acc, (size_t)nr * 8);
        } else {
            float acc[4] = {0, 0, 0, 0};
            if (bias) memcpy(acc, (const float *)bias + r0, (size_t)nr * 4);
            fc_rows_f32(n, (const float *)x, (const float *)w, r0, nr, acc);
            for (int r = 0; r < nr; r++)
                ((float *)out)[r0 + r] = rq && rq->relu && acc[r] < 0 ? 0.0f : acc[r];
        }
    }
    return EP_OK;
}
