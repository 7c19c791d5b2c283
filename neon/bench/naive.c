// SPDX-License-Identifier: Apache-2.0
/* Naive C reference loops (the "plain C" column of the benchmarks): max pooling and int8
 * convolution exactly as the definitions read, no intrinsics. Compiled only into the benchmark
 * driver (-DEP_BENCH_NAIVE). */
#include <stdint.h>
#include <string.h>

#include "edgepool_neon.h"

int ep_naive_run(const int32_t *d, const void *const *in, void *out) {
    const int H = d[EP_D_H], W = d[EP_D_W], C = d[EP_D_C];
    const int kh = d[EP_D_KH], kw = d[EP_D_KW], sh = d[EP_D_SH], sw = d[EP_D_SW];
    const int pt = d[EP_D_PT], pl = d[EP_D_PL];
    if (d[EP_D_OP] == EP_OP_MAXPOOL && d[EP_D_DTYPE] == EP_I8) {
        int OH = ep_pool_output_size(H, kh, sh, pt, d[EP_D_PB], 1, 0);
        int OW = ep_pool_output_size(W, kw, sw, pl, d[EP_D_PR], 1, 0);
        const int8_t *x = (const int8_t *)in[0];
        int8_t *y = (int8_t *)out;
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++)
                for (int c = 0; c < C; c++) {
                    int8_t m = INT8_MIN;
                    for (int i = 0; i < kh; i++)
                        for (int j = 0; j < kw; j++) {
                            int iy = oy * sh - pt + i, ix = ox * sw - pl + j;
                            if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                            int8_t v = x[((size_t)iy * W + ix) * C + c];
                            if (v > m) m = v;
                        }
                    y[((size_t)oy * OW + ox) * C + c] = m;
                }
        return 0;
    }
    if (d[EP_D_OP] == EP_OP_CONV && d[EP_D_DTYPE] == EP_I8 && !d[EP_D_RQ]) {
        const int OC = d[EP_D_OC];
        int OH = ep_pool_output_size(H, kh, sh, pt, d[EP_D_PB], 1, 0);
        int OW = ep_pool_output_size(W, kw, sw, pl, d[EP_D_PR], 1, 0);
        const int8_t *x = (const int8_t *)in[0], *w = (const int8_t *)in[1];
        int32_t *y = (int32_t *)out;
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++)
                for (int o = 0; o < OC; o++) {
                    int32_t s = in[2] ? ((const int32_t *)in[2])[o] : 0;
                    for (int i = 0; i < kh; i++)
                        for (int j = 0; j < kw; j++) {
                            int iy = oy * sh - pt + i, ix = ox * sw - pl + j;
                            if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                            const int8_t *xp = x + ((size_t)iy * W + ix) * C;
                            const int8_t *wp = w + (((size_t)o * kh + i) * kw + j) * C;
                            for (int c = 0; c < C; c++) s += (int32_t)xp[c] * wp[c];
                        }
                    y[((size_t)oy * OW + ox) * OC + o] = s;
                }
        return 0;
    }
    return EP_EINVAL;
}
