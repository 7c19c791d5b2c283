// SPDX-License-Identifier: Apache-2.0
/* Multi-threshold activation (edgepool.ir.kernels.threshold), channels last, int32 accumulators:
 *   y[p, c] = base + step * #{k : d_c * acc[p, c] >= T[k, c]}
 * (step 1 and base = type minimum; bipolar: base -1, step 2). Thresholds are stored k-major,
 * T[k * C + c], so one vector load brings the k-th threshold of 4 neighbouring channels.
 * Up to EP_THR_LINEAR_MAX thresholds: compare-and-count on vectors (vcge gives all-ones = -1
 * per crossed lane, subtracted from the count: no multiply). More (up to 255 for 8-bit codes):
 * a branch-free binary search per element over the channel's non-decreasing row. */
#include "ep_internal.h"

#define EP_THR_LINEAR_MAX 16

static inline int32_t thr_count_search(int32_t x, const int32_t *t, size_t n, size_t stride) {
    size_t lo = 0, len = n;
    while (len > 0) {                         /* invariant: count in [lo, lo + len] */
        size_t half = len / 2;
        int ge = x >= t[(lo + half) * stride];
        lo = ge ? lo + half + 1 : lo;
        len = ge ? len - half - 1 : half;
    }
    return (int32_t)lo;
}

static inline int32_t thr_count_linear(int32_t x, const int32_t *t, size_t n, size_t stride) {
    int32_t cnt = 0;
    for (size_t k = 0; k < n; k++) cnt += x >= t[k * stride];
    return cnt;
}

int ep_threshold_i32(const int32_t *acc, size_t pixels, size_t channels, const int32_t *thr,
                     size_t n, const int32_t *dir, int32_t base, int32_t step, int out_dtype,
                     void *out) {
    if (!acc || !thr || !out || channels == 0 || n == 0) return EP_EINVAL;
    if (out_dtype != EP_I8 && out_dtype != EP_U8 && out_dtype != EP_I16 && out_dtype != EP_U16 &&
        out_dtype != EP_I32)
        return EP_ETYPE;
    const size_t C = channels;
    const int linear = n <= EP_THR_LINEAR_MAX;
    for (size_t p = 0; p < pixels; p++) {
        const int32_t *a = acc + p * C;
        size_t c = 0;
        if (linear) {
            for (; c + 4 <= C; c += 4) {
                int32x4_t x = vld1q_s32(a + c);
                if (dir) x = vmulq_s32(x, vld1q_s32(dir + c));
                int32x4_t cnt = vdupq_n_s32(0);
                for (size_t k = 0; k < n; k++)
                    cnt = vsubq_s32(cnt, vreinterpretq_s32_u32(
                                             vcgeq_s32(x, vld1q_s32(thr + k * C + c))));
                int32_t y[4];
                vst1q_s32(y, vmlaq_n_s32(vdupq_n_s32(base), cnt, step));
                for (int l = 0; l < 4; l++) ep_rq_store(out, p * C + c + (size_t)l, out_dtype, y[l]);
            }
        }
        for (; c < C; c++) {                  /* channel tail, and the binary-search path */
            int32_t x = dir ? a[c] * dir[c] : a[c];
            int32_t cnt = linear ? thr_count_linear(x, thr + c, n, C)
                                 : thr_count_search(x, thr + c, n, C);
            ep_rq_store(out, p * C + c, out_dtype, (int64_t)base + (int64_t)step * cnt);
        }
    }
    return EP_OK;
}
