// SPDX-License-Identifier: Apache-2.0
/* Register-blocked convolution (EP_ALGO_RB): dense, dilation 1, int8 (int32 accumulators) and
 * int16 (int64 accumulators), channels last, batch 1. See ep_conv_algo() in edgepool_neon.h.
 *
 * Why this shape: channels last makes the KW * IC inputs of one window row contiguous, so each
 * (output pixel, kernel row) pair is one dot product of length Kr = KW * IC against a packed
 * weight panel; 4 output pixels share every weight load and 16 (8) output channels share every
 * input load. The tile's accumulators never leave the registers until the fused requantize
 * (round half to even, ReLU, clamp, narrow) stores them; the previous sliding-window kernel
 * loaded and stored its int32 accumulator row around every 2 x 8 products. */
#include "ep_internal.h"
#include "rq_vec.h"

#define RB_MAX_KH 16

typedef struct {
    const ep_conv_params *p;
    ep_dtype t;
    int OH, OW, IC, OC, KH, Kr, Krp, nob, direct;
    size_t es, aes, row_bytes;
} rb_geom;

typedef struct {
    rb_geom g;
    const char *x;
    const int16_t *w;
    const char *bias;            /* padded to the blocks, accumulator type */
    const ep_requant *rq;
    ep_rqv rqv;
    char *out;
    size_t oes;
    char *rows;                  /* per thread: KH padded rows */
    size_t thread_bytes;
} rb_run;

int ep__rb_applicable(const ep_conv_params *p, ep_dtype t) {
    return p && (t == EP_I8 || t == EP_I16) && p->groups == 1 && p->dh == 1 && p->dw == 1 &&
           p->kh >= 1 && p->kh <= RB_MAX_KH && p->kw >= 1;
}

static int rb_geom_of(const ep_conv_params *p, ep_dtype t, rb_geom *g) {
    if (!p) return EP_EINVAL;
    if (t != EP_I8 && t != EP_I16) return EP_ETYPE;
    if (!ep__rb_applicable(p, t)) return EP_EINVAL;
    if (p->h < 1 || p->w < 1 || p->ic < 1 || p->oc < 1 || p->sh < 1 || p->sw < 1) return EP_EINVAL;
    if (p->pt < 0 || p->pl < 0 || p->pb < 0 || p->pr < 0) return EP_EINVAL;
    const int full = t == EP_I8 ? 8 : 16;
    if (p->wbits < 0 || p->wbits > full) return EP_EINVAL;
    g->OH = ep_pool_output_size(p->h, p->kh, p->sh, p->pt, p->pb, 1, 0);
    g->OW = ep_pool_output_size(p->w, p->kw, p->sw, p->pl, p->pr, 1, 0);
    if (g->OH < 1 || g->OW < 1) return EP_ESHAPE;
    g->p = p;
    g->t = t;
    g->IC = p->ic;
    g->OC = p->oc;
    g->KH = p->kh;
    g->Kr = p->kw * p->ic;
    g->Krp = ep_round_up(g->Kr, t == EP_I8 ? 8 : 2);
    g->nob = t == EP_I8 ? (p->oc + 15) / 16 : (p->oc + 7) / 8;
    g->direct = p->pl == 0 && p->pr == 0 && g->Kr == g->Krp;
    g->es = ep_dtype_size(t);
    g->aes = t == EP_I8 ? 4 : 8;
    /* a padded row, plus room for the last window's read past Kr (< 8 elements) */
    g->row_bytes = EP_ALIGN(((size_t)(p->pl + p->w + p->pr) * p->ic + 16) * g->es);
    return EP_OK;
}

/* width of output-channel block b (int8: 16, the last one 8 when <= 8 channels remain) */
static int rb_width(const rb_geom *g, int b) {
    if (g->t != EP_I8) return 8;
    const int rem = g->OC - 16 * b;
    return rem >= 16 ? 16 : (rem <= 8 ? 8 : 16);
}

static size_t rb_block_off(const rb_geom *g, int b) {   /* int16 elements */
    return (size_t)b * (g->t == EP_I8 ? 16 : 8) * g->KH * g->Krp;
}

size_t ep__rb_packed_bytes(const ep_conv_params *p, ep_dtype t) {
    rb_geom g;
    if (rb_geom_of(p, t, &g)) return 0;
    return (rb_block_off(&g, g.nob - 1) + (size_t)rb_width(&g, g.nob - 1) * g.KH * g.Krp) * 2;
}

int ep__rb_pack(const ep_conv_params *p, ep_dtype t, const void *w, void *packed) {
    rb_geom g;
    int rc = rb_geom_of(p, t, &g);
    if (rc) return rc;
    if (!w || !packed) return EP_EINVAL;
    const int full = t == EP_I8 ? 8 : 16, bits = p->wbits ? p->wbits : full;
    const int32_t wmin = -(1 << (bits - 1)), wmax = (1 << (bits - 1)) - 1;
    int16_t *dst = (int16_t *)packed;
    memset(dst, 0, ep__rb_packed_bytes(p, t));
    for (int oc = 0; oc < g.OC; oc++) {
        const int nrf = t == EP_I8 ? 16 : 8, b = oc / nrf, o = oc % nrf, nr = rb_width(&g, b);
        int16_t *db = dst + rb_block_off(&g, b);
        for (int ky = 0; ky < g.KH; ky++)
            for (int kr = 0; kr < g.Kr; kr++) {
                const size_t s = ((size_t)oc * g.KH + ky) * g.Kr + kr;
                const int32_t v = t == EP_I8 ? ((const int8_t *)w)[s] : ((const int16_t *)w)[s];
                if (v < wmin || v > wmax) return EP_ERANGE;
                if (t == EP_I8)
                    db[((size_t)ky * g.Krp + kr) * nr + o] = (int16_t)v;
                else
                    db[(((size_t)ky * g.Krp / 2 + kr / 2) * 8 + o) * 2 + kr % 2] = (int16_t)v;
            }
    }
    return EP_OK;
}

/* Accumulator bound from the types: |sum| <= KH*KW*IC * max|x| * max|w| + max|bias| must fit
 * the accumulator (int32 for int8, int64 for int16). Two's-complement sums wrap, so partial
 * sums may leave the range; only the final value matters, and this bounds it. */
static int rb_bound_ok(const rb_geom *g, const void *bias) {
    const ep_conv_params *p = g->p;
    const int full = g->t == EP_I8 ? 8 : 16, bits = p->wbits ? p->wbits : full;
    const uint64_t K = (uint64_t)p->kh * p->kw * p->ic;
    const uint64_t maxx = 1ull << (full - 1), maxw = 1ull << (bits - 1);
    const uint64_t limit = g->t == EP_I8 ? (uint64_t)INT32_MAX : (uint64_t)INT64_MAX;
    if (K > limit / (maxx * maxw)) return 0;
    const uint64_t prod = K * maxx * maxw;
    uint64_t maxb = 0;
    for (int oc = 0; bias && oc < g->OC; oc++) {
        int64_t b = g->t == EP_I8 ? ((const int32_t *)bias)[oc] : ((const int64_t *)bias)[oc];
        uint64_t a = b < 0 ? (uint64_t)0 - (uint64_t)b : (uint64_t)b;
        if (a > maxb) maxb = a;
    }
    return maxb <= limit - prod;
}

/* --------------------------------------------------------------------------- tiles */
/* output pixel offsets of a tile (missing pixels repeat the last one: computed, not stored) */
#define RB_OFFSETS                                                                        \
    const size_t st = (size_t)g->p->sw * g->IC;                                           \
    const size_t o0 = (size_t)ox0 * st, o1 = (size_t)(ox0 + (npx > 1 ? 1 : 0)) * st,      \
                 o2 = (size_t)(ox0 + (npx > 2 ? 2 : npx - 1)) * st,                       \
                 o3 = (size_t)(ox0 + (npx > 3 ? 3 : npx - 1)) * st

/* store a pixel's nr results (4 int32x4 or clamped), with a channel tail through a buffer */
static inline void rb_store16(const rb_run *r, char *dst, int valid, int32x4_t v0, int32x4_t v1,
                              int32x4_t v2, int32x4_t v3) {
    const int dt = r->rq ? r->rq->out : EP_I32;
    if (r->rq) {
        v0 = ep_rqv_apply32(&r->rqv, v0);
        v1 = ep_rqv_apply32(&r->rqv, v1);
        v2 = ep_rqv_apply32(&r->rqv, v2);
        v3 = ep_rqv_apply32(&r->rqv, v3);
    }
    if (valid == 16) {
        store16(dst, 0, dt, v0, v1, v2, v3);
        return;
    }
    int32_t tmp[16];
    store16(tmp, 0, dt, v0, v1, v2, v3);
    memcpy(dst, tmp, (size_t)valid * r->oes);
}

static inline void rb_store8(const rb_run *r, char *dst, int valid, int32x4_t v0, int32x4_t v1) {
    const int dt = r->rq ? r->rq->out : EP_I32;
    if (r->rq) {
        v0 = ep_rqv_apply32(&r->rqv, v0);
        v1 = ep_rqv_apply32(&r->rqv, v1);
    }
    if (valid == 8) {
        store8(dst, 0, dt, v0, v1);
        return;
    }
    int32_t tmp[8];
    store8(tmp, 0, dt, v0, v1);
    memcpy(dst, tmp, (size_t)valid * r->oes);
}

#define MAC16(l)                                                                           \
    do {                                                                                   \
        const int16x8_t wl = vld1q_s16(w), wh = vld1q_s16(w + 8);                          \
        w += 16;                                                                           \
        a00 = vmlal_laneq_s16(a00, vget_low_s16(wl), x0, l);                               \
        a01 = ep_vmlal_high_laneq_s16(a01, wl, x0, l);                                     \
        a02 = vmlal_laneq_s16(a02, vget_low_s16(wh), x0, l);                               \
        a03 = ep_vmlal_high_laneq_s16(a03, wh, x0, l);                                     \
        a10 = vmlal_laneq_s16(a10, vget_low_s16(wl), x1, l);                               \
        a11 = ep_vmlal_high_laneq_s16(a11, wl, x1, l);                                     \
        a12 = vmlal_laneq_s16(a12, vget_low_s16(wh), x1, l);                               \
        a13 = ep_vmlal_high_laneq_s16(a13, wh, x1, l);                                     \
        a20 = vmlal_laneq_s16(a20, vget_low_s16(wl), x2, l);                               \
        a21 = ep_vmlal_high_laneq_s16(a21, wl, x2, l);                                     \
        a22 = vmlal_laneq_s16(a22, vget_low_s16(wh), x2, l);                               \
        a23 = ep_vmlal_high_laneq_s16(a23, wh, x2, l);                                     \
        a30 = vmlal_laneq_s16(a30, vget_low_s16(wl), x3, l);                               \
        a31 = ep_vmlal_high_laneq_s16(a31, wl, x3, l);                                     \
        a32 = vmlal_laneq_s16(a32, vget_low_s16(wh), x3, l);                               \
        a33 = ep_vmlal_high_laneq_s16(a33, wh, x3, l);                                     \
    } while (0)

/* int8: 4 pixels x 16 channels, 16 int32x4 accumulators */
static void tile_i8_16(const rb_run *r, const char *const *rowp, int ox0, int npx, int b,
                       char *orow) {
    const rb_geom *g = &r->g;
    const int32_t *bias = (const int32_t *)r->bias + 16 * b;
    int32x4_t a00 = vld1q_s32(bias), a01 = vld1q_s32(bias + 4), a02 = vld1q_s32(bias + 8),
              a03 = vld1q_s32(bias + 12);
    int32x4_t a10 = a00, a11 = a01, a12 = a02, a13 = a03, a20 = a00, a21 = a01, a22 = a02,
              a23 = a03, a30 = a00, a31 = a01, a32 = a02, a33 = a03;
    RB_OFFSETS;
    const int16_t *wb = r->w + rb_block_off(g, b);
    for (int ky = 0; ky < g->KH; ky++) {
        const int8_t *row = (const int8_t *)rowp[ky];
        if (!row) continue;
        const int16_t *w = wb + (size_t)ky * g->Krp * 16;
        const int8_t *p0 = row + o0, *p1 = row + o1, *p2 = row + o2, *p3 = row + o3;
        for (int kb = 0; kb < g->Krp; kb += 8) {
            const int16x8_t x0 = vmovl_s8(vld1_s8(p0 + kb)), x1 = vmovl_s8(vld1_s8(p1 + kb)),
                            x2 = vmovl_s8(vld1_s8(p2 + kb)), x3 = vmovl_s8(vld1_s8(p3 + kb));
#if defined(EP_MCA)
            __asm__ volatile("# LLVM-MCA-BEGIN conv-i8-4x16");
#endif
            MAC16(0); MAC16(1); MAC16(2); MAC16(3); MAC16(4); MAC16(5); MAC16(6); MAC16(7);
#if defined(EP_MCA)
            __asm__ volatile("# LLVM-MCA-END conv-i8-4x16");
#endif
        }
    }
    const int oc0 = 16 * b, valid = ep_imin(16, g->OC - oc0);
    char *d = orow + ((size_t)ox0 * g->OC + oc0) * r->oes;
    const size_t ps = (size_t)g->OC * r->oes;
    rb_store16(r, d, valid, a00, a01, a02, a03);
    if (npx > 1) rb_store16(r, d + ps, valid, a10, a11, a12, a13);
    if (npx > 2) rb_store16(r, d + 2 * ps, valid, a20, a21, a22, a23);
    if (npx > 3) rb_store16(r, d + 3 * ps, valid, a30, a31, a32, a33);
}

#define MAC8(l)                                                                            \
    do {                                                                                   \
        const int16x8_t wl = vld1q_s16(w);                                                 \
        w += 8;                                                                            \
        a00 = vmlal_laneq_s16(a00, vget_low_s16(wl), x0, l);                               \
        a01 = ep_vmlal_high_laneq_s16(a01, wl, x0, l);                                     \
        a10 = vmlal_laneq_s16(a10, vget_low_s16(wl), x1, l);                               \
        a11 = ep_vmlal_high_laneq_s16(a11, wl, x1, l);                                     \
        a20 = vmlal_laneq_s16(a20, vget_low_s16(wl), x2, l);                               \
        a21 = ep_vmlal_high_laneq_s16(a21, wl, x2, l);                                     \
        a30 = vmlal_laneq_s16(a30, vget_low_s16(wl), x3, l);                               \
        a31 = ep_vmlal_high_laneq_s16(a31, wl, x3, l);                                     \
    } while (0)

/* int8: 4 pixels x 8 channels (the last block of a layer with <= 8 channels left) */
static void tile_i8_8(const rb_run *r, const char *const *rowp, int ox0, int npx, int b,
                      char *orow) {
    const rb_geom *g = &r->g;
    const int32_t *bias = (const int32_t *)r->bias + 16 * b;
    int32x4_t a00 = vld1q_s32(bias), a01 = vld1q_s32(bias + 4);
    int32x4_t a10 = a00, a11 = a01, a20 = a00, a21 = a01, a30 = a00, a31 = a01;
    RB_OFFSETS;
    const int16_t *wb = r->w + rb_block_off(g, b);
    for (int ky = 0; ky < g->KH; ky++) {
        const int8_t *row = (const int8_t *)rowp[ky];
        if (!row) continue;
        const int16_t *w = wb + (size_t)ky * g->Krp * 8;
        const int8_t *p0 = row + o0, *p1 = row + o1, *p2 = row + o2, *p3 = row + o3;
        for (int kb = 0; kb < g->Krp; kb += 8) {
            const int16x8_t x0 = vmovl_s8(vld1_s8(p0 + kb)), x1 = vmovl_s8(vld1_s8(p1 + kb)),
                            x2 = vmovl_s8(vld1_s8(p2 + kb)), x3 = vmovl_s8(vld1_s8(p3 + kb));
            MAC8(0); MAC8(1); MAC8(2); MAC8(3); MAC8(4); MAC8(5); MAC8(6); MAC8(7);
        }
    }
    const int oc0 = 16 * b, valid = ep_imin(8, g->OC - oc0);
    char *d = orow + ((size_t)ox0 * g->OC + oc0) * r->oes;
    const size_t ps = (size_t)g->OC * r->oes;
    rb_store8(r, d, valid, a00, a01);
    if (npx > 1) rb_store8(r, d + ps, valid, a10, a11);
    if (npx > 2) rb_store8(r, d + 2 * ps, valid, a20, a21);
    if (npx > 3) rb_store8(r, d + 3 * ps, valid, a30, a31);
}

/* int16: one pixel's 4 int64x2 accumulators (8 channels) to the output */
static inline void rb_store_i64(const rb_run *r, char *dst, int valid, int64x2_t a0, int64x2_t a1,
                                int64x2_t a2, int64x2_t a3) {
    if (r->rq) {
        const int32x4_t v0 = ep_rqv_apply64(&r->rqv, a0, a1), v1 = ep_rqv_apply64(&r->rqv, a2, a3);
        if (valid == 8) {
            store8(dst, 0, r->rq->out, v0, v1);
            return;
        }
        int32_t tmp[8];
        store8(tmp, 0, r->rq->out, v0, v1);
        memcpy(dst, tmp, (size_t)valid * r->oes);
        return;
    }
    int64_t tmp[8];
    vst1q_s64(tmp, a0);
    vst1q_s64(tmp + 2, a1);
    vst1q_s64(tmp + 4, a2);
    vst1q_s64(tmp + 6, a3);
    memcpy(dst, tmp, (size_t)valid * 8);
}

/* pair of inputs (x[k], x[k+1]) broadcast to 4 x int32 */
static inline int16x8_t rb_pair(const int16_t *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return vreinterpretq_s16_s32(vdupq_n_s32(v));
}

#define MACP(j)                                                                            \
    do {                                                                                   \
        const int16x8_t xv = rb_pair(p##j + 2 * q);                                        \
        a##j##0 = vpadalq_s32(a##j##0, vmull_s16(vget_low_s16(wl), vget_low_s16(xv)));      \
        a##j##1 = vpadalq_s32(a##j##1, vmull_high_s16(wl, xv));                            \
        a##j##2 = vpadalq_s32(a##j##2, vmull_s16(vget_low_s16(wh), vget_low_s16(xv)));      \
        a##j##3 = vpadalq_s32(a##j##3, vmull_high_s16(wh, xv));                            \
    } while (0)

/* int16: 4 pixels x 8 channels, 16 int64x2 accumulators; weights [k pair][8 oc][2] */
static void tile_i16_8(const rb_run *r, const char *const *rowp, int ox0, int npx, int b,
                       char *orow) {
    const rb_geom *g = &r->g;
    const int64_t *bias = (const int64_t *)r->bias + 8 * b;
    int64x2_t a00 = vld1q_s64(bias), a01 = vld1q_s64(bias + 2), a02 = vld1q_s64(bias + 4),
              a03 = vld1q_s64(bias + 6);
    int64x2_t a10 = a00, a11 = a01, a12 = a02, a13 = a03, a20 = a00, a21 = a01, a22 = a02,
              a23 = a03, a30 = a00, a31 = a01, a32 = a02, a33 = a03;
    RB_OFFSETS;
    const int16_t *wb = r->w + rb_block_off(g, b);
    const int np = g->Krp / 2;
    for (int ky = 0; ky < g->KH; ky++) {
        const int16_t *row = (const int16_t *)rowp[ky];
        if (!row) continue;
        const int16_t *w = wb + (size_t)ky * g->Krp * 8;
        const int16_t *p0 = row + o0, *p1 = row + o1, *p2 = row + o2, *p3 = row + o3;
        for (int q = 0; q < np; q++, w += 16) {
            const int16x8_t wl = vld1q_s16(w), wh = vld1q_s16(w + 8);
            MACP(0); MACP(1); MACP(2); MACP(3);
        }
    }
    const int oc0 = 8 * b, valid = ep_imin(8, g->OC - oc0);
    char *d = orow + ((size_t)ox0 * g->OC + oc0) * r->oes;
    const size_t ps = (size_t)g->OC * r->oes;
    rb_store_i64(r, d, valid, a00, a01, a02, a03);
    if (npx > 1) rb_store_i64(r, d + ps, valid, a10, a11, a12, a13);
    if (npx > 2) rb_store_i64(r, d + 2 * ps, valid, a20, a21, a22, a23);
    if (npx > 3) rb_store_i64(r, d + 3 * ps, valid, a30, a31, a32, a33);
}

/* --------------------------------------------------------------------------- rows, threads */
/* point rowp[ky] at input row oy * sh - pt + ky (zero-padded copy, or in place), NULL when the
 * row is padding */
static void rb_rows(const rb_run *r, char *rowbuf, int oy, const char **rowp) {
    const rb_geom *g = &r->g;
    const ep_conv_params *p = g->p;
    const size_t rowin = (size_t)p->w * g->IC * g->es;
    for (int ky = 0; ky < g->KH; ky++) {
        const int iy = oy * p->sh - p->pt + ky;
        if (iy < 0 || iy >= p->h) {
            rowp[ky] = NULL;
        } else if (g->direct) {
            rowp[ky] = r->x + (size_t)iy * rowin;
        } else {
            char *dst = rowbuf + (size_t)ky * g->row_bytes;
            memcpy(dst + (size_t)p->pl * g->IC * g->es, r->x + (size_t)iy * rowin, rowin);
            rowp[ky] = dst;
        }
    }
}

static void rb_row_blocks(const rb_run *r, const char *const *rowp, char *orow, int b0, int b1) {
    const rb_geom *g = &r->g;
    for (int b = b0; b < b1; b++) {
        const int nr = rb_width(g, b);
        for (int ox = 0; ox < g->OW; ox += 4) {
            const int npx = ep_imin(4, g->OW - ox);
            if (g->t == EP_I16) tile_i16_8(r, rowp, ox, npx, b, orow);
            else if (nr == 16) tile_i8_16(r, rowp, ox, npx, b, orow);
            else tile_i8_8(r, rowp, ox, npx, b, orow);
        }
    }
}

/* items = (output row, channel block), row-major */
static void rb_task(void *ctx, int tid, int lo, int hi) {
    const rb_run *r = (const rb_run *)ctx;
    const rb_geom *g = &r->g;
    char *rowbuf = r->rows + (size_t)tid * r->thread_bytes;
    const char *rowp[RB_MAX_KH];
    if (!g->direct) memset(rowbuf, 0, r->thread_bytes);    /* the padding stays zero */
    int it = lo;
    while (it < hi) {
        const int oy = it / g->nob, b0 = it % g->nob;
        const int b1 = ep_imin(g->nob, b0 + (hi - it));
        rb_rows(r, rowbuf, oy, rowp);
        rb_row_blocks(r, rowp, r->out + (size_t)oy * g->OW * g->OC * r->oes, b0, b1);
        it += b1 - b0;
    }
}

static size_t rb_thread_bytes(const rb_geom *g) {
    return g->direct ? 0 : (size_t)g->KH * g->row_bytes;
}

static void rb_carve(const rb_geom *g, int nth, ep_carver *cv, char **bias, char **rows) {
    *bias = (char *)ep_carve(cv, (size_t)g->nob * 16 * g->aes);
    *rows = (char *)ep_carve(cv, (size_t)nth * rb_thread_bytes(g));
}

size_t ep__rb_scratch_bytes(const ep_conv_params *p, ep_dtype t) {
    rb_geom g;
    if (rb_geom_of(p, t, &g)) return 0;
    char *b, *r;
    ep_carver cv;
    ep_carver_init(&cv, NULL);
    rb_carve(&g, ep_threads_for(p->threads, g.OH * g.nob), &cv, &b, &r);
    return ep_carver_size(&cv);
}

static int rb_setup(rb_run *r, const ep_conv_params *p, ep_dtype t, const void *x,
                    const void *packed, const void *bias, const ep_requant *rq, void *out,
                    void *scratch, int nth) {
    int rc = rb_geom_of(p, t, &r->g);
    if (rc) return rc;
    if (!x || !packed || !out || !scratch) return EP_EINVAL;
    if (rq && (rc = ep_rq_check(rq))) return rc;
    if (!rb_bound_ok(&r->g, bias)) return EP_ERANGE;
    r->x = (const char *)x;
    r->w = (const int16_t *)packed;
    r->rq = rq;
    if (rq) ep_rqv_init(&r->rqv, rq, t == EP_I8 ? 32 : 64);
    r->out = (char *)out;
    r->oes = rq ? ep_dtype_size((ep_dtype)rq->out) : r->g.aes;
    char *bp;
    ep_carver cv;
    ep_carver_init(&cv, scratch);
    rb_carve(&r->g, nth, &cv, &bp, &r->rows);
    r->thread_bytes = rb_thread_bytes(&r->g);
    memset(bp, 0, (size_t)r->g.nob * 16 * r->g.aes);
    if (bias) memcpy(bp, bias, (size_t)p->oc * r->g.aes);
    r->bias = bp;
    return EP_OK;
}

int ep__rb_conv(const ep_conv_params *p, ep_dtype t, const void *x, const void *packed,
                const void *bias, const ep_requant *rq, void *out, void *scratch) {
    rb_run r;
    rb_geom g;
    int rc = rb_geom_of(p, t, &g);
    if (rc) return rc;
    const int items = g.OH * g.nob, nth = ep_threads_for(p->threads, items);
    if ((rc = rb_setup(&r, p, t, x, packed, bias, rq, out, scratch, nth))) return rc;
    ep_parallel(nth, items, rb_task, &r);
    return EP_OK;
}

/* ------------------------------------------------------------------ fused conv -> max pool */
typedef void (*ep_row_fn)(void *ctx, int y, void *dst);
int ep__max_engine(const ep_pool_params *p, ep_dtype t, ep_row_fn produce, void *ctx, void *out,
                   void *scratch);
size_t ep__max_engine_scratch(const ep_pool_params *p, ep_dtype t);

/* one requantized conv row straight into the pool engine's row (pixel stride oc) */
static void rb_fused_row(void *ctx, int y, void *dst) {
    const rb_run *r = (const rb_run *)ctx;
    const char *rowp[RB_MAX_KH];
    rb_rows(r, r->rows, y, rowp);
    rb_row_blocks(r, rowp, (char *)dst, 0, r->g.nob);
}

size_t ep__rb_maxpool_scratch_bytes(const ep_conv_params *p, ep_dtype t,
                                    const ep_pool_params *pp, const ep_requant *rq) {
    rb_geom g;
    if (rb_geom_of(p, t, &g)) return 0;
    char *b, *r;
    ep_carver cv;
    ep_carver_init(&cv, NULL);
    rb_carve(&g, 1, &cv, &b, &r);
    return ep_carver_size(&cv) + ep__max_engine_scratch(pp, (ep_dtype)rq->out);
}

int ep__rb_conv_maxpool(const ep_conv_params *p, ep_dtype t, const void *x, const void *packed,
                        const void *bias, const ep_requant *rq, const ep_pool_params *pp,
                        void *out, void *scratch) {
    rb_run r;
    char dummy;
    int rc = rb_setup(&r, p, t, x, packed, bias, rq, &dummy, scratch, 1);
    if (rc) return rc;
    if (!r.g.direct) memset(r.rows, 0, r.thread_bytes);
    ep_carver cv;
    char *b, *rows;
    ep_carver_init(&cv, NULL);
    rb_carve(&r.g, 1, &cv, &b, &rows);
    const size_t used = ep_carver_size(&cv);
    return ep__max_engine(pp, (ep_dtype)rq->out, rb_fused_row, &r, out, (char *)scratch + used);
}

/* --------------------------------------------------------------------------- cost model */
/* Estimated aarch64 instructions per call (constants fitted to qemu counts of the
 * -O2 -mcpu=cortex-a53 build; benchmarks/neon_xnnpack.py prints estimate vs measured). */
double ep_conv_cost(const ep_conv_params *p, ep_dtype t, int algo) {
    if (!p || p->h < 1 || p->w < 1 || p->kh < 1 || p->kw < 1 || p->sh < 1 || p->sw < 1)
        return -1.0;
    const int OH = ep_pool_output_size(p->h, p->kh, p->sh, p->pt, p->pb, p->dh, 0);
    const int OW = ep_pool_output_size(p->w, p->kw, p->sw, p->pl, p->pr, p->dw, 0);
    if (OH < 1 || OW < 1 || p->ic < 1 || p->oc < 1) return -1.0;
    const double tiles_x = (OW + 3) / 4, taps = (double)p->kh * p->kw;
    if (algo == EP_ALGO_RB) {
        rb_geom g;
        if (rb_geom_of(p, t, &g)) return -1.0;
        double per_tile_ky = 0, per_tile = 0;
        double blocks16 = 0, blocks8 = 0;
        for (int b = 0; b < g.nob; b++) {
            if (rb_width(&g, b) == 16 && t == EP_I8) blocks16 += 1;
            else blocks8 += 1;
        }
        if (t == EP_I8) {
            /* per 8 reduction elements: 4 loads + 4 sxtl + 8 x (1-2 loads + 16 | 8 smlal) */
            per_tile_ky = blocks16 * (g.Krp / 8.0 * 148 + 12) + blocks8 * (g.Krp / 8.0 * 80 + 12);
            per_tile = blocks16 * 70 + blocks8 * 40;
        } else {
            /* per input pair: 2 loads + 4 x (2 dup + 4 smull + 4 sadalp) */
            per_tile_ky = blocks8 * (g.Krp / 2.0 * 42 + 12);
            per_tile = blocks8 * 60;
        }
        const double copies = g.direct ? 0 : (double)OH * g.KH * (p->w * p->ic * g.es / 16.0 + 30);
        return OH * tiles_x * (p->kh * per_tile_ky + per_tile) + copies + 300;
    }
    /* legacy sliding window: per (tap, 4 pixels, 8 channels): accumulators loaded and stored
     * (16) + per input pair 1 weight load + 4 x (load pair, dup, 2 smull, 2 sadalp) */
    const double pairs = (p->ic / p->groups + 1) / 2, ocb = (p->oc / p->groups + 7) / 8;
    const double ocb_all = p->groups * ocb;
    return OH * tiles_x * taps * ocb_all * (24 + pairs * 25) + OH * OW * p->oc * 6.0 + 400;
}
