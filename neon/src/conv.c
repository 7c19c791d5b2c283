// SPDX-License-Identifier: Apache-2.0
/* Convolution: sliding-window (Snytsar) and im2col + GEMM on one shared micro-kernel, depthwise,
 * grouped; fused conv -> requantize (+ReLU) -> max pool. Channels last, batch 1.
 *
 * Micro-kernel (int8): weights packed as [ic pair][oc][2]; one int8x16 load holds 8 output
 * channels x 2 input channels; the input pair (x[ic], x[ic+1]) is broadcast to 8 bytes; vmull_s8
 * gives 8 exact int16 products and vpadalq_s16 adds the pairs into 4 int32 accumulators (the A53
 * has no sdot; every product of two int8 fits int16, so this is exact for any weights). int16:
 * the same with vmull_s16 + vpadalq_s32 into int64. float: vfmaq_n_f32. 4 output pixels x 8
 * output channels per register block. */
#include "ep_internal.h"


#define AI static inline __attribute__((always_inline))

/* register-blocked kernels (conv_rb.c) */
int ep__rb_applicable(const ep_conv_params *p, ep_dtype t);
size_t ep__rb_packed_bytes(const ep_conv_params *p, ep_dtype t);
int ep__rb_pack(const ep_conv_params *p, ep_dtype t, const void *w, void *packed);
size_t ep__rb_scratch_bytes(const ep_conv_params *p, ep_dtype t);
int ep__rb_conv(const ep_conv_params *p, ep_dtype t, const void *x, const void *packed,
                const void *bias, const ep_requant *rq, void *out, void *scratch);
size_t ep__rb_maxpool_scratch_bytes(const ep_conv_params *p, ep_dtype t,
                                    const ep_pool_params *pp, const ep_requant *rq);
int ep__rb_conv_maxpool(const ep_conv_params *p, ep_dtype t, const void *x, const void *packed,
                        const void *bias, const ep_requant *rq, const ep_pool_params *pp,
                        void *out, void *scratch);

/* Winograd F(2x2, 3x3) (conv_wino.c) */
int ep__wino_applicable(const ep_conv_params *p, ep_dtype t);
size_t ep__wino_packed_bytes(const ep_conv_params *p, ep_dtype t);
int ep__wino_pack(const ep_conv_params *p, ep_dtype t, const void *w, void *packed);
size_t ep__wino_scratch_bytes(const ep_conv_params *p, ep_dtype t);
int ep__wino_conv(const ep_conv_params *p, ep_dtype t, const void *x, const void *packed,
                  const void *bias, const ep_requant *rq, void *out, void *scratch);
size_t ep__wino_maxpool_scratch_bytes(const ep_conv_params *p, ep_dtype t,
                                      const ep_pool_params *pp, const ep_requant *rq);
int ep__wino_conv_maxpool(const ep_conv_params *p, ep_dtype t, const void *x, const void *packed,
                          const void *bias, const ep_requant *rq, const ep_pool_params *pp,
                          void *out, void *scratch);

/* register-blocked depthwise 3x3 (conv_dw.c) */
int ep__dw_applicable(const ep_conv_params *p, ep_dtype t);
size_t ep__dw_packed_bytes(const ep_conv_params *p, ep_dtype t);
int ep__dw_pack(const ep_conv_params *p, ep_dtype t, const void *w, void *packed);
size_t ep__dw_scratch_bytes(const ep_conv_params *p, ep_dtype t);
int ep__dw_conv(const ep_conv_params *p, ep_dtype t, const void *x, const void *packed,
                const void *bias, const ep_requant *rq, void *out, void *scratch);
size_t ep__dw_maxpool_scratch_bytes(const ep_conv_params *p, ep_dtype t,
                                    const ep_pool_params *pp, const ep_requant *rq);
int ep__dw_conv_maxpool(const ep_conv_params *p, ep_dtype t, const void *x, const void *packed,
                        const void *bias, const ep_requant *rq, const ep_pool_params *pp,
                        void *out, void *scratch);

int ep_conv_algo(const ep_conv_params *p, ep_dtype t) {
    if (!p) return EP_ALGO_SLIDING;
    if (p->algo != EP_ALGO_AUTO) return p->algo;
    /* depthwise 3x3 (and 3x3 with one input channel): the DW kernel where it is cheaper */
    const double dw = ep__dw_applicable(p, t) ? ep_conv_cost(p, t, EP_ALGO_DW) : -1.0;
    const double sl = ep_conv_cost(p, t, EP_ALGO_SLIDING);
    int best = EP_ALGO_SLIDING;
    double bc = sl;
    if (ep__rb_applicable(p, t)) {
        const double rb = ep_conv_cost(p, t, EP_ALGO_RB);
        if (rb >= 0 && (bc < 0 || rb <= bc)) best = EP_ALGO_RB, bc = rb;
        if (ep__wino_applicable(p, t)) {
            const double wg = ep_conv_cost(p, t, EP_ALGO_WINO);
            if (wg >= 0 && wg < bc) best = EP_ALGO_WINO, bc = wg;
        }
    }
    return dw >= 0 && (bc < 0 || dw < bc) ? EP_ALGO_DW : best;
}

/* ------------------------------------------------------------------ micro-kernels */
AI void mk_i8(const void *const *xpv, const int npx, const int cg, const void *wv, const int ocp,
              void *accv) {
    const int8_t *const *xp = (const int8_t *const *)xpv;
    int32_t *acc = (int32_t *)accv;
    const int np = cg / 2;
    for (int ob = 0; ob < ocp; ob += 8) {
        int32x4_t a[4][2];
        for (int j = 0; j < npx; j++) {
            a[j][0] = vld1q_s32(acc + (size_t)j * ocp + ob);
            a[j][1] = vld1q_s32(acc + (size_t)j * ocp + ob + 4);
        }
        const int8_t *wp = (const int8_t *)wv + 2 * ob;
        for (int q = 0; q <= np; q++, wp += 2 * ocp) {
            if (q == np && !(cg & 1)) break;
            const int8x16_t w = vld1q_s8(wp);
            const int8x8_t wl = vget_low_s8(w), wh = vget_high_s8(w);
            for (int j = 0; j < npx; j++) {
                int16_t pr;
                if (q < np) memcpy(&pr, xp[j] + 2 * q, 2);
                else pr = (int16_t)(uint8_t)xp[j][cg - 1];   /* odd tail: (x, 0) */
                const int8x8_t xv = vreinterpret_s8_s16(vdup_n_s16(pr));
                a[j][0] = vpadalq_s16(a[j][0], vmull_s8(wl, xv));
                a[j][1] = vpadalq_s16(a[j][1], vmull_s8(wh, xv));
            }
        }
        for (int j = 0; j < npx; j++) {
            vst1q_s32(acc + (size_t)j * ocp + ob, a[j][0]);
            vst1q_s32(acc + (size_t)j * ocp + ob + 4, a[j][1]);
        }
    }
}

AI void mk_i16(const void *const *xpv, const int npx, const int cg, const void *wv, const int ocp,
               void *accv) {
    const int16_t *const *xp = (const int16_t *const *)xpv;
    int64_t *acc = (int64_t *)accv;
    const int np = cg / 2;
    for (int ob = 0; ob < ocp; ob += 8) {
        int64x2_t a[4][4];
        for (int j = 0; j < npx; j++)
            for (int k = 0; k < 4; k++) a[j][k] = vld1q_s64(acc + (size_t)j * ocp + ob + 2 * k);
        const int16_t *wp = (const int16_t *)wv + 2 * ob;
        for (int q = 0; q <= np; q++, wp += 2 * ocp) {
            if (q == np && !(cg & 1)) break;
            const int16x8_t w0 = vld1q_s16(wp), w1 = vld1q_s16(wp + 8);
            for (int j = 0; j < npx; j++) {
                int32_t pr;
                if (q < np) memcpy(&pr, xp[j] + 2 * q, 4);
                else pr = (int32_t)(uint16_t)xp[j][cg - 1];
                const int16x4_t xv = vreinterpret_s16_s32(vdup_n_s32(pr));
                a[j][0] = vpadalq_s32(a[j][0], vmull_s16(vget_low_s16(w0), xv));
                a[j][1] = vpadalq_s32(a[j][1], vmull_s16(vget_high_s16(w0), xv));
                a[j][2] = vpadalq_s32(a[j][2], vmull_s16(vget_low_s16(w1), xv));
                a[j][3] = vpadalq_s32(a[j][3], vmull_s16(vget_high_s16(w1), xv));
            }
        }
        for (int j = 0; j < npx; j++)
            for (int k = 0; k < 4; k++) vst1q_s64(acc + (size_t)j * ocp + ob + 2 * k, a[j][k]);
    }
}

AI void mk_f32(const void *const *xpv, const int npx, const int cg, const void *wv, const int ocp,
               void *accv) {
    const float *const *xp = (const float *const *)xpv;
    float *acc = (float *)accv;
    for (int ob = 0; ob < ocp; ob += 8) {
        float32x4_t a[4][2];
        for (int j = 0; j < npx; j++) {
            a[j][0] = vld1q_f32(acc + (size_t)j * ocp + ob);
            a[j][1] = vld1q_f32(acc + (size_t)j * ocp + ob + 4);
        }
        const float *wp = (const float *)wv + ob;
        for (int q = 0; q < cg; q++, wp += ocp) {
            const float32x4_t w0 = vld1q_f32(wp), w1 = vld1q_f32(wp + 4);
            for (int j = 0; j < npx; j++) {
                a[j][0] = vfmaq_n_f32(a[j][0], w0, xp[j][q]);
                a[j][1] = vfmaq_n_f32(a[j][1], w1, xp[j][q]);
            }
        }
        for (int j = 0; j < npx; j++) {
            vst1q_f32(acc + (size_t)j * ocp + ob, a[j][0]);
            vst1q_f32(acc + (size_t)j * ocp + ob + 4, a[j][1]);
        }
    }
}

static void mk_call(ep_dtype t, const void *const *xp, int npx, int cg, const void *w, int ocp,
                    void *acc) {
    switch (t) {
    case EP_I8:
        if (npx == 4) mk_i8(xp, 4, cg, w, ocp, acc);
        else mk_i8(xp, 1, cg, w, ocp, acc);
        break;
    case EP_I16:
        if (npx == 4) mk_i16(xp, 4, cg, w, ocp, acc);
        else mk_i16(xp, 1, cg, w, ocp, acc);
        break;
    default:
        if (npx == 4) mk_f32(xp, 4, cg, w, ocp, acc);
        else mk_f32(xp, 1, cg, w, ocp, acc);
        break;
    }
}

/* ------------------------------------------------------------------ geometry, packing */
typedef struct {
    const ep_conv_params *p;
    ep_dtype t;
    size_t es, aes;              /* element / accumulator bytes */
    int OH, OW, cg, mg, pair, ICe, OCp, taps, Kc, dw;
    const char *x;
    const char *packed;
    const ep_requant *rq;
    char *brow, *acc, *col;
    size_t pool_c_stride;        /* fused: unused */
} conv_k;

static int conv_geom(const ep_conv_params *p, ep_dtype t, conv_k *k) {
    if (!p) return EP_EINVAL;
    if (t != EP_I8 && t != EP_I16 && t != EP_F32) return EP_ETYPE;
    if (p->h < 1 || p->w < 1 || p->ic < 1 || p->oc < 1 || p->groups < 1) return EP_EINVAL;
    if (p->ic % p->groups || p->oc % p->groups) return EP_EINVAL;
    k->OH = ep_pool_output_size(p->h, p->kh, p->sh, p->pt, p->pb, p->dh, 0);
    k->OW = ep_pool_output_size(p->w, p->kw, p->sw, p->pl, p->pr, p->dw, 0);
    if (k->OH < 1 || k->OW < 1) return EP_ESHAPE;
    k->p = p;
    k->t = t;
    k->es = ep_dtype_size(t);
    k->aes = t == EP_I16 ? 8 : 4;
    k->cg = p->ic / p->groups;
    k->mg = p->oc / p->groups;
    k->dw = p->groups == p->ic && p->ic == p->oc && p->groups > 1;
    k->pair = t == EP_F32 ? 1 : 2;
    k->ICe = ep_round_up(k->cg, k->pair);
    k->OCp = k->dw ? p->ic : ep_round_up(k->mg, 8);
    k->taps = p->kh * p->kw;
    k->Kc = k->taps * k->ICe;
    return EP_OK;
}

int ep_conv_output_shape(const ep_conv_params *p, int *oh, int *ow) {
    conv_k k;
    int rc = conv_geom(p, EP_I8, &k);
    if (rc) return rc;
    if (oh) *oh = k.OH;
    if (ow) *ow = k.OW;
    return EP_OK;
}

size_t ep_conv_packed_bytes(const ep_conv_params *p, ep_dtype t) {
    if (ep_conv_algo(p, t) == EP_ALGO_RB) return ep__rb_packed_bytes(p, t);
    if (ep_conv_algo(p, t) == EP_ALGO_DW) return ep__dw_packed_bytes(p, t);
    if (ep_conv_algo(p, t) == EP_ALGO_WINO) return ep__wino_packed_bytes(p, t);
    conv_k k;
    if (conv_geom(p, t, &k)) return 0;
    if (k.dw) return (size_t)k.taps * p->ic * k.es;
    return (size_t)p->groups * k.taps * k.ICe * k.OCp * k.es;
}

int ep_conv_pack(const ep_conv_params *p, ep_dtype t, const void *w, void *packed) {
    if (ep_conv_algo(p, t) == EP_ALGO_RB) return ep__rb_pack(p, t, w, packed);
    if (ep_conv_algo(p, t) == EP_ALGO_DW) return ep__dw_pack(p, t, w, packed);
    if (ep_conv_algo(p, t) == EP_ALGO_WINO) return ep__wino_pack(p, t, w, packed);
    conv_k k;
    int rc = conv_geom(p, t, &k);
    if (rc) return rc;
    if (!w || !packed) return EP_EINVAL;
    const size_t es = k.es;
    memset(packed, 0, ep_conv_packed_bytes(p, t));
    const char *src = (const char *)w;
    char *dst = (char *)packed;
    if (k.dw) {
        for (int c = 0; c < p->ic; c++)
            for (int tap = 0; tap < k.taps; tap++)
                memcpy(dst + ((size_t)tap * p->ic + c) * es, src + ((size_t)c * k.taps + tap) * es,
                       es);
        return EP_OK;
    }
    const size_t gsz = (size_t)k.taps * k.ICe * k.OCp;
    for (int g = 0; g < p->groups; g++)
        for (int oc = 0; oc < k.mg; oc++)
            for (int tap = 0; tap < k.taps; tap++)
                for (int ic = 0; ic < k.cg; ic++) {
                    size_t s = (((size_t)(g * k.mg + oc) * k.taps + tap) * k.cg + ic);
                    size_t d = g * gsz + (size_t)tap * k.ICe * k.OCp +
                               (size_t)(ic / k.pair) * k.OCp * k.pair + (size_t)oc * k.pair +
                               ic % k.pair;
                    memcpy(dst + d * es, src + s * es, es);
                }
    return EP_OK;
}

static void conv_carve(conv_k *k, ep_carver *cv, int im2col) {
    const ep_conv_params *p = k->p;
    const size_t nb = k->dw ? (size_t)p->ic : (size_t)p->groups * k->OCp;
    k->brow = (char *)ep_carve(cv, nb * k->aes);
    k->acc = (char *)ep_carve(cv, (size_t)k->OW * k->OCp * k->aes);
    k->col = im2col ? (char *)ep_carve(cv, (size_t)k->OH * k->OW * k->Kc * k->es) : NULL;
}

static int use_im2col(const ep_conv_params *p, const conv_k *k) {
    return p->algo == EP_ALGO_IM2COL && !k->dw;
}

size_t ep_conv_scratch_bytes(const ep_conv_params *p, ep_dtype t) {
    if (ep_conv_algo(p, t) == EP_ALGO_RB) return ep__rb_scratch_bytes(p, t);
    if (ep_conv_algo(p, t) == EP_ALGO_DW) return ep__dw_scratch_bytes(p, t);
    if (ep_conv_algo(p, t) == EP_ALGO_WINO) return ep__wino_scratch_bytes(p, t);
    conv_k k;
    if (conv_geom(p, t, &k)) return 0;
    ep_carver cv;
    ep_carver_init(&cv, NULL);
    conv_carve(&k, &cv, use_im2col(p, &k));
    return ep_carver_size(&cv);
}

static void init_bias(conv_k *k, const void *bias) {
    const ep_conv_params *p = k->p;
    const size_t nb = k->dw ? (size_t)p->ic : (size_t)p->groups * k->OCp;
    memset(k->brow, 0, nb * k->aes);
    if (!bias) return;
    if (k->dw) {
        memcpy(k->brow, bias, (size_t)p->ic * k->aes);
        return;
    }
    for (int g = 0; g < p->groups; g++)
        memcpy(k->brow + (size_t)g * k->OCp * k->aes, (const char *)bias + (size_t)g * k->mg * k->aes,
               (size_t)k->mg * k->aes);
}

/* valid output columns [lo, hi] for tap column kx (input column inside the image) */
static void ox_range(const conv_k *k, int kx, int *lo, int *hi) {
    const ep_conv_params *p = k->p;
    const int off = kx * p->dw - p->pl;     /* ix = ox * sw + off */
    *lo = ep_imax(0, ep_ceildiv(-off, p->sw));
    *hi = ep_imin(k->OW - 1, ep_floordiv(p->w - 1 - off, p->sw));
}

/* depthwise accumulate: acc[c] += x[c] * w[c] for one output pixel */
static void dw_mac(ep_dtype t, int C, const void *xv, const void *wv, void *accv) {
    int c = 0;
    if (t == EP_I8) {
        const int8_t *x = (const int8_t *)xv, *w = (const int8_t *)wv;
        int32_t *a = (int32_t *)accv;
        for (; c + 8 <= C; c += 8) {
            int16x8_t pr = vmull_s8(vld1_s8(x + c), vld1_s8(w + c));
            vst1q_s32(a + c, vaddw_s16(vld1q_s32(a + c), vget_low_s16(pr)));
            vst1q_s32(a + c + 4, vaddw_s16(vld1q_s32(a + c + 4), vget_high_s16(pr)));
        }
        for (; c < C; c++) a[c] += (int32_t)x[c] * w[c];
    } else if (t == EP_I16) {
        const int16_t *x = (const int16_t *)xv, *w = (const int16_t *)wv;
        int64_t *a = (int64_t *)accv;
        for (; c + 4 <= C; c += 4) {
            int32x4_t pr = vmull_s16(vld1_s16(x + c), vld1_s16(w + c));
            vst1q_s64(a + c, vaddw_s32(vld1q_s64(a + c), vget_low_s32(pr)));
            vst1q_s64(a + c + 2, vaddw_s32(vld1q_s64(a + c + 2), vget_high_s32(pr)));
        }
        for (; c < C; c++) a[c] += (int64_t)x[c] * w[c];
    } else {
        const float *x = (const float *)xv, *w = (const float *)wv;
        float *a = (float *)accv;
        for (; c + 4 <= C; c += 4)
            vst1q_f32(a + c, vfmaq_f32(vld1q_f32(a + c), vld1q_f32(x + c), vld1q_f32(w + c)));
        for (; c < C; c++) a[c] += x[c] * w[c];
    }
}

/* accumulators of output row oy, group g, into k->acc (OW x OCp) */
static void conv_row_acc(const conv_k *k, int oy, int g) {
    const ep_conv_params *p = k->p;
    const size_t es = k->es, aes = k->aes, OCp = (size_t)k->OCp;
    const char *bg = k->brow + (k->dw ? 0 : (size_t)g * OCp * aes);
    for (int ox = 0; ox < k->OW; ox++) memcpy(k->acc + ox * OCp * aes, bg, OCp * aes);
    if (k->col) {   /* im2col GEMM row */
        const char *wg = k->packed + (size_t)g * k->Kc * OCp * es;
        const void *xp[4];
        int ox = 0;
        for (; ox + 4 <= k->OW; ox += 4) {
            for (int j = 0; j < 4; j++)
                xp[j] = k->col + ((size_t)oy * k->OW + ox + j) * k->Kc * es;
            mk_call(k->t, xp, 4, k->Kc, wg, k->OCp, k->acc + ox * OCp * aes);
        }
        for (; ox < k->OW; ox++) {
            xp[0] = k->col + ((size_t)oy * k->OW + ox) * k->Kc * es;
            mk_call(k->t, xp, 1, k->Kc, wg, k->OCp, k->acc + ox * OCp * aes);
        }
        return;
    }
    const size_t IC = (size_t)p->ic;
    for (int ky = 0; ky < p->kh; ky++) {
        const int iy = oy * p->sh - p->pt + ky * p->dh;
        if (iy < 0 || iy >= p->h) continue;
        const char *xrow = k->x + ((size_t)iy * p->w * IC + (size_t)g * k->cg) * es;
        for (int kx = 0; kx < p->kw; kx++) {
            int lo, hi;
            ox_range(k, kx, &lo, &hi);
            if (lo > hi) continue;
            const int tap = ky * p->kw + kx;
            const int off = kx * p->dw - p->pl;
            if (k->dw) {
                const char *wt = k->packed + (size_t)tap * IC * es;
                for (int ox = lo; ox <= hi; ox++)
                    dw_mac(k->t, p->ic, xrow + (size_t)(ox * p->sw + off) * IC * es, wt,
                           k->acc + ox * OCp * aes);
                continue;
            }
            /* the shifted input row (pixels ox * sw + off) times this tap's weight matrix */
            const char *wt = k->packed + ((size_t)g * k->Kc + (size_t)tap * k->ICe) * OCp * es;
            const void *xp[4];
            int ox = lo;
            for (; ox + 4 <= hi + 1; ox += 4) {
                for (int j = 0; j < 4; j++)
                    xp[j] = xrow + (size_t)((ox + j) * p->sw + off) * IC * es;
                mk_call(k->t, xp, 4, k->cg, wt, k->OCp, k->acc + ox * OCp * aes);
            }
            for (; ox <= hi; ox++) {
                xp[0] = xrow + (size_t)(ox * p->sw + off) * IC * es;
                mk_call(k->t, xp, 1, k->cg, wt, k->OCp, k->acc + ox * OCp * aes);
            }
        }
    }
}

/* im2col of group g: (OH * OW) rows of Kc = taps * ICe elements, zeros outside the image */
static void build_col(const conv_k *k, int g) {
    const ep_conv_params *p = k->p;
    const size_t es = k->es, IC = (size_t)p->ic;
    memset(k->col, 0, (size_t)k->OH * k->OW * k->Kc * es);
    for (int oy = 0; oy < k->OH; oy++)
        for (int ox = 0; ox < k->OW; ox++) {
            char *row = k->col + ((size_t)oy * k->OW + ox) * k->Kc * es;
            for (int ky = 0; ky < p->kh; ky++) {
                const int iy = oy * p->sh - p->pt + ky * p->dh;
                if (iy < 0 || iy >= p->h) continue;
                for (int kx = 0; kx < p->kw; kx++) {
                    const int ix = ox * p->sw - p->pl + kx * p->dw;
                    if (ix < 0 || ix >= p->w) continue;
                    memcpy(row + (size_t)(ky * p->kw + kx) * k->ICe * es,
                           k->x + (((size_t)iy * p->w + ix) * IC + (size_t)g * k->cg) * es,
                           (size_t)k->cg * es);
                }
            }
        }
}

/* write the accumulators of (row, group g) to an output row (pixel stride oc): raw or
 * requantized. May compact k->acc in place. */
static void emit_row(const conv_k *k, int g, char *dst) {
    const ep_conv_params *p = k->p;
    const size_t aes = k->aes, OCp = (size_t)k->OCp, OC = (size_t)p->oc, mg = (size_t)k->mg;
    const size_t cols = k->dw ? OC : mg, base = k->dw ? 0 : (size_t)g * mg;
    const ep_requant *rq = k->rq;
    if (k->t == EP_F32 && rq && rq->relu) {
        float *a = (float *)k->acc;
        for (size_t i = 0; i < (size_t)k->OW * OCp; i++) a[i] = a[i] > 0.0f ? a[i] : 0.0f;
    }
    if (!rq || k->t == EP_F32) {
        for (int ox = 0; ox < k->OW; ox++)
            memcpy(dst + ((size_t)ox * OC + base) * aes, k->acc + ox * OCp * aes, cols * aes);
        return;
    }
    const size_t oes = ep_dtype_size((ep_dtype)rq->out);
    if (cols == OC) {               /* dense rows: compact to (OW, OC) then one call */
        if (OCp != OC)
            for (int ox = 1; ox < k->OW; ox++)
                memmove(k->acc + ox * OC * aes, k->acc + ox * OCp * aes, OC * aes);
        if (k->t == EP_I8) ep_requantize_i32((const int32_t *)k->acc, (size_t)k->OW * OC, rq, dst);
        else ep_requantize_i64((const int64_t *)k->acc, (size_t)k->OW * OC, rq, dst);
        return;
    }
    for (int ox = 0; ox < k->OW; ox++) {
        char *o = dst + ((size_t)ox * OC + base) * oes;
        if (k->t == EP_I8) ep_requantize_i32((const int32_t *)(k->acc + ox * OCp * aes), mg, rq, o);
        else ep_requantize_i64((const int64_t *)(k->acc + ox * OCp * aes), mg, rq, o);
    }
}

static int conv_setup(conv_k *k, const ep_conv_params *p, ep_dtype t, const void *x,
                      const void *packed, const ep_requant *rq) {
    int rc = conv_geom(p, t, k);
    if (rc) return rc;
    if (!x || !packed) return EP_EINVAL;
    if (rq && t != EP_F32 && (rc = ep_rq_check(rq))) return rc;
    k->x = (const char *)x;
    k->packed = (const char *)packed;
    k->rq = rq;
    return EP_OK;
}

int ep_conv(const ep_conv_params *p, ep_dtype t, const void *x, const void *packed,
            const void *bias, const ep_requant *rq, void *out, void *scratch) {
    if (ep_conv_algo(p, t) == EP_ALGO_RB) return ep__rb_conv(p, t, x, packed, bias, rq, out, scratch);
    if (ep_conv_algo(p, t) == EP_ALGO_DW) return ep__dw_conv(p, t, x, packed, bias, rq, out, scratch);
    if (ep_conv_algo(p, t) == EP_ALGO_WINO)
        return ep__wino_conv(p, t, x, packed, bias, rq, out, scratch);
    /* AUTO never runs a kernel whose accumulator could overflow (explicit SLIDING / IM2COL
     * keep their historic wrap-around contract) */
    if (p && p->algo == EP_ALGO_AUTO && !ep__conv_bound_ok(p, t, bias)) return EP_ERANGE;
    conv_k k;
    int rc = conv_setup(&k, p, t, x, packed, rq);
    if (rc) return rc;
    if (!out || !scratch) return EP_EINVAL;
    ep_carver cv;
    ep_carver_init(&cv, scratch);
    const int im2col = use_im2col(p, &k);
    conv_carve(&k, &cv, im2col);
    init_bias(&k, bias);
    const size_t oes = rq && t != EP_F32 ? ep_dtype_size((ep_dtype)rq->out) : k.aes;
    const size_t orow = (size_t)k.OW * p->oc * oes;
    const int ng = k.dw ? 1 : p->groups;
    for (int g = 0; g < ng; g++) {
        if (im2col) build_col(&k, g);
        for (int oy = 0; oy < k.OH; oy++) {
            conv_row_acc(&k, oy, g);
            emit_row(&k, g, (char *)out + oy * orow);
        }
    }
    return EP_OK;
}

/* ------------------------------------------------------------------ fused conv + max pool */
typedef struct {
    conv_k *k;
} fused_ctx;

static void fused_row(void *ctx, int y, void *dst) {
    conv_k *k = ((fused_ctx *)ctx)->k;
    const int ng = k->dw ? 1 : k->p->groups;
    for (int g = 0; g < ng; g++) {
        conv_row_acc(k, y, g);
        emit_row(k, g, (char *)dst);
    }
}

static int fused_pool(const conv_k *k, const ep_pool_params *pool, ep_pool_params *pp) {
    if (!pool) return EP_EINVAL;
    *pp = *pool;
    pp->h = k->OH;
    pp->w = k->OW;
    pp->c = k->p->oc;
    return ep_pool_output_shape(pp, NULL, NULL);
}

size_t ep_conv_maxpool_scratch_bytes(const ep_conv_params *p, ep_dtype t,
                                     const ep_pool_params *pool, const ep_requant *rq) {
    conv_k k;
    ep_pool_params pp;
    if (!rq || t == EP_F32 || rq->out == EP_I32 || conv_geom(p, t, &k) || fused_pool(&k, pool, &pp))
        return 0;
    if (ep_conv_algo(p, t) == EP_ALGO_RB) return ep__rb_maxpool_scratch_bytes(p, t, &pp, rq);
    if (ep_conv_algo(p, t) == EP_ALGO_DW) return ep__dw_maxpool_scratch_bytes(p, t, &pp, rq);
    if (ep_conv_algo(p, t) == EP_ALGO_WINO) return ep__wino_maxpool_scratch_bytes(p, t, &pp, rq);
    ep_carver cv;
    ep_carver_init(&cv, NULL);
    conv_carve(&k, &cv, 0);
    return ep_carver_size(&cv) + ep__max_engine_scratch(&pp, (ep_dtype)rq->out);
}

int ep_conv_maxpool(const ep_conv_params *p, ep_dtype t, const void *x, const void *packed,
                    const void *bias, const ep_requant *rq, const ep_pool_params *pool,
                    void *out, void *scratch) {
    conv_k k;
    ep_pool_params pp;
    if (!rq || t == EP_F32) return EP_ETYPE;
    int rc = conv_setup(&k, p, t, x, packed, rq);
    if (rc) return rc;
    if (rq->out == EP_I32) return EP_ETYPE;
    if ((rc = fused_pool(&k, pool, &pp))) return rc;
    if (!out || !scratch) return EP_EINVAL;
    if (ep_conv_algo(p, t) == EP_ALGO_RB)
        return ep__rb_conv_maxpool(p, t, x, packed, bias, rq, &pp, out, scratch);
    if (ep_conv_algo(p, t) == EP_ALGO_DW)
        return ep__dw_conv_maxpool(p, t, x, packed, bias, rq, &pp, out, scratch);
    if (ep_conv_algo(p, t) == EP_ALGO_WINO)
        return ep__wino_conv_maxpool(p, t, x, packed, bias, rq, &pp, out, scratch);
    if (p->algo == EP_ALGO_AUTO && !ep__conv_bound_ok(p, t, bias)) return EP_ERANGE;
    ep_carver cv;
    ep_carver_init(&cv, scratch);
    conv_carve(&k, &cv, 0);
    init_bias(&k, bias);
    fused_ctx ctx = {&k};
    return ep__max_engine(&pp, (ep_dtype)rq->out, fused_row, &ctx, out,
                          (char *)scratch + ep_carver_size(&cv));
}
