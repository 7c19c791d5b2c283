// SPDX-License-Identifier: Apache-2.0
/* Register-blocked depthwise 3x3 convolution (EP_ALGO_DW): int8 input and weights, int32
 * accumulators, groups == ic == oc (or groups == ic == 1), dilation 1, horizontal stride 1 or
 * 2 (any vertical stride), any padding, channels last, batch 1. See ep_conv_algo() in
 * edgepool_neon.h.
 *
 * Depthwise is elementwise per channel: out[y][x][c] = sum over 9 taps of in[..][c] * w[tap][c].
 * A tile is N output pixels (8, or 4 on narrow maps, 1 for the rest) of one row x 8 channels:
 * 2N int32x4 accumulators stay in registers across all 9 taps; the 9 weight vectors of the
 * channel block (pre-widened to int16 by the packer) are loaded once per (row, channel block)
 * item; along a kernel row the N + 2 (stride 2: 2N + 1) input vectors are loaded and widened
 * once (sxtl) and shared by the overlapping windows, each product pair is one smlal (low 4
 * channels) + one smlal2 (high 4). The epilogue requantizes (round half to even, ReLU, clamp)
 * the register tile and stores 8 bytes per pixel; the accumulators never reach memory (the
 * legacy sliding path loads and stores its int32 accumulator row around every tap).
 * Horizontal padding / channel tails: the needed input rows are copied into zero-padded row
 * buffers (KH rows per thread); without horizontal padding and with C % 8 == 0 the input is
 * read in place. Threads: (output row, channel block) items split over p->threads.
 * One input channel (groups 1, ic 1, any oc: an image model's first layer) is the same
 * computation with the input broadcast to the output channels: c1_tile. */
#include "ep_internal.h"
#include "rq_vec.h"

#define DW_K 3
#define DW_TILE 4

typedef struct {
    const ep_conv_params *p;
    int OH, OW, C, ncb, direct, pw;  /* C: output channels; pw: padded row width in pixels */
    int c1;                      /* one input channel (groups 1): the input is broadcast */
    size_t row_bytes;
} dw_geom;

typedef struct {
    dw_geom g;
    const int8_t *x;
    const int16_t *w;            /* [cb][9][8] int16 */
    const int32_t *bias;         /* padded to ncb * 8 */
    const ep_requant *rq;
    ep_rqv rqv;
    int32x4_t bit;               /* 1 << rq->shift (mode 1): the parity bit of a >> shift */
    char *out;
    size_t oes;
    char *rows;                  /* per thread: 3 padded rows */
    size_t thread_bytes;
} dw_run;

int ep__dw_applicable(const ep_conv_params *p, ep_dtype t) {
    return p && t == EP_I8 &&
           ((p->groups > 1 && p->groups == p->ic && p->ic == p->oc) ||
            (p->groups == 1 && p->ic == 1 && p->oc >= 1)) &&
           p->kh == DW_K && p->kw == DW_K && p->dh == 1 && p->dw == 1 && p->sh >= 1 &&
           (p->sw == 1 || p->sw == 2);
}

static int dw_geom_of(const ep_conv_params *p, ep_dtype t, dw_geom *g) {
    if (!p) return EP_EINVAL;
    if (t != EP_I8) return EP_ETYPE;
    if (!ep__dw_applicable(p, t)) return EP_EINVAL;
    if (p->h < 1 || p->w < 1 || p->ic < 1) return EP_EINVAL;
    if (p->pt < 0 || p->pl < 0 || p->pb < 0 || p->pr < 0) return EP_EINVAL;
    if (p->wbits < 0 || p->wbits > 8) return EP_EINVAL;
    g->OH = ep_pool_output_size(p->h, DW_K, p->sh, p->pt, p->pb, 1, 0);
    g->OW = ep_pool_output_size(p->w, DW_K, p->sw, p->pl, p->pr, 1, 0);
    if (g->OH < 1 || g->OW < 1) return EP_ESHAPE;
    g->p = p;
    g->c1 = p->groups == 1;
    g->C = p->oc;
    g->ncb = (p->oc + 7) / 8;
    /* one input channel: a tile reads 8 (stride 2: 16) input bytes from its first column, past
     * the row's end: always through the padded row buffers (a few bytes per row) */
    g->direct = p->pl == 0 && p->pr == 0 && p->ic % 8 == 0 && !g->c1;
    g->pw = p->pl + p->w + p->pr;
    /* a padded row, plus room for the last channel block's 8-byte load past C */
    g->row_bytes = EP_ALIGN((size_t)g->pw * p->ic + 32);
    return EP_OK;
}

size_t ep__dw_packed_bytes(const ep_conv_params *p, ep_dtype t) {
    dw_geom g;
    if (dw_geom_of(p, t, &g)) return 0;
    return (size_t)g.ncb * DW_K * DW_K * 8 * sizeof(int16_t);
}

/* weights (C, 3, 3, 1) int8 -> [channel block of 8][tap][8] int16, zero-padded channels */
int ep__dw_pack(const ep_conv_params *p, ep_dtype t, const void *w, void *packed) {
    dw_geom g;
    int rc = dw_geom_of(p, t, &g);
    if (rc) return rc;
    if (!w || !packed) return EP_EINVAL;
    const int bits = p->wbits ? p->wbits : 8;
    const int32_t wmax = (1 << (bits - 1)) - 1, wmin = p->narrow ? -wmax : -(1 << (bits - 1));
    int16_t *dst = (int16_t *)packed;
    memset(dst, 0, ep__dw_packed_bytes(p, t));
    for (int c = 0; c < g.C; c++)
        for (int tap = 0; tap < DW_K * DW_K; tap++) {
            const int8_t v = ((const int8_t *)w)[(size_t)c * DW_K * DW_K + tap];
            if (v < wmin || v > wmax) return EP_ERANGE;
            dst[((size_t)(c / 8) * DW_K * DW_K + tap) * 8 + c % 8] = v;
        }
    return EP_OK;
}

/* ------------------------------------------------------------------ tiles */
#define AI static inline __attribute__((always_inline))

AI int16x8_t dw_ld(const int8_t *p) { return vmovl_s8(vld1_s8(p)); }

/* epilogue kinds, fixed per call: requantize (right shift) to int8 / uint8 with full 8-channel
 * stores -- the layers of a quantized model -- or anything else (raw int32, 16-bit outputs,
 * left shifts, channel tails) through the generic helpers */
enum { DW_E_I8 = 0, DW_E_U8 = 1, DW_E_ANY = 2 };

/* round half to even of a * 2^-s (mode 1, 1 <= s <= 31) in 3 operations. With q = a >> s,
 * round-half-up (srshl) of a - 1 when q is even, of a when q is odd, is round half to even:
 * a tie then rounds down to the even q, and a remainder of 0 gives q either way (2^s - 1 +
 * 2^(s-1) carries). The fast tiles start their accumulators at bias - 1 (am1 = a - 1; the
 * bound |a| <= INT32_MAX keeps it in range), so a - 1 + [q odd] is am1 minus cmtst(am1, 1 << s):
 * bit s of am1 is q's parity except when the remainder of a is 0, where both choices give q. */
AI int32x4_t dw_shift(int32x4_t am1, int32x4_t negs, int32x4_t bit) {
    const int32x4_t a = vsubq_s32(am1, vreinterpretq_s32_u32(vtstq_s32(am1, bit)));
#if defined(__aarch64__)
    return vrshlq_s32(a, negs);             /* srshl rounds in extra precision: no overflow */
#else
    /* SIMDe's vrshlq_s32 adds the rounding constant in int32 (wraps near INT32_MAX): the
     * floor plus the last bit shifted out instead */
    const int32x4_t q = vshlq_s32(a, negs);
    return vaddq_s32(q, vandq_s32(vshlq_s32(a, vaddq_s32(negs, vdupq_n_s32(1))),
                                  vdupq_n_s32(1)));
#endif
}

/* requantize two pixels' 8 channels and store them */
AI void dw_store_pair(const dw_run *r, char *d0, char *d1, int valid, int32x4_t a0,
                      int32x4_t a1, int32x4_t b0, int32x4_t b1, const int E) {
    const ep_rqv *c = &r->rqv;
    if (E != DW_E_ANY) {
        const int32x4_t negs = c->negs, bit = r->bit;
        a0 = dw_shift(a0, negs, bit);
        a1 = dw_shift(a1, negs, bit);
        b0 = dw_shift(b0, negs, bit);
        b1 = dw_shift(b1, negs, bit);
        if (E == DW_E_I8) {
            int8x16_t v = vcombine_s8(vqmovn_s16(vcombine_s16(vqmovn_s32(a0), vqmovn_s32(a1))),
                                      vqmovn_s16(vcombine_s16(vqmovn_s32(b0), vqmovn_s32(b1))));
            v = vminq_s8(vmaxq_s8(v, c->lo8), c->hi8);
            vst1_s8((int8_t *)d0, vget_low_s8(v));
            vst1_s8((int8_t *)d1, vget_high_s8(v));
        } else {
            uint8x16_t v = vcombine_u8(vqmovn_u16(vcombine_u16(vqmovun_s32(a0), vqmovun_s32(a1))),
                                       vqmovn_u16(vcombine_u16(vqmovun_s32(b0), vqmovun_s32(b1))));
            v = vminq_u8(vmaxq_u8(v, c->lou8), c->hiu8);
            vst1_u8((uint8_t *)d0, vget_low_u8(v));
            vst1_u8((uint8_t *)d1, vget_high_u8(v));
        }
        return;
    }
    const int dt = r->rq ? r->rq->out : EP_I32;
    int32_t tmp[16];
    if (r->rq) {
        a0 = ep_rqv_apply32(c, a0);
        a1 = ep_rqv_apply32(c, a1);
        b0 = ep_rqv_apply32(c, b0);
        b1 = ep_rqv_apply32(c, b1);
    }
    store8(tmp, 0, dt, a0, a1);
    store8(tmp, 8, dt, b0, b1);
    memcpy(d0, tmp, (size_t)valid * r->oes);
    memcpy(d1, (const char *)tmp + 8 * r->oes, (size_t)valid * r->oes);
}

AI void dw_store1(const dw_run *r, char *d, int valid, int32x4_t a0, int32x4_t a1) {
    const int dt = r->rq ? r->rq->out : EP_I32;
    int32_t tmp[8];
    if (r->rq) {
        a0 = ep_rqv_apply32(&r->rqv, a0);
        a1 = ep_rqv_apply32(&r->rqv, a1);
    }
    if (valid == 8) {
        store8(d, 0, dt, a0, a1);
        return;
    }
    store8(tmp, 0, dt, a0, a1);
    memcpy(d, tmp, (size_t)valid * r->oes);
}

#define DW_MAC(j, xv, wv)                                                                  \
    do {                                                                                   \
        al[j] = vmlal_s16(al[j], vget_low_s16(xv), vget_low_s16(wv));                      \
        ah[j] = vmlal_high_s16(ah[j], xv, wv);                                             \
    } while (0)

/* N output pixels from ox0 (padded-row coordinates: pixel j reads columns (ox0 + j) * S + kx)
 * x 8 channels of block cb; w: the block's 9 weight vectors */
AI void dw_tile(const dw_run *r, const int8_t *const *rowp, int ox0, int cb, const int16x8_t *w,
                int32x4_t bl, int32x4_t bh, char *orow, const int N, const int S, const int E) {
    const dw_geom *g = &r->g;
    const size_t C = (size_t)g->C;
    int32x4_t al[DW_TILE], ah[DW_TILE];
#pragma GCC unroll 8
    for (int j = 0; j < N; j++) {
        al[j] = bl;
        ah[j] = bh;
    }
#pragma GCC unroll 3
    for (int ky = 0; ky < DW_K; ky++) {
        if (!rowp[ky]) continue;
        const int8_t *p = rowp[ky] + (size_t)ox0 * S * C + (size_t)cb * 8;
        const int16x8_t w0 = w[3 * ky], w1 = w[3 * ky + 1], w2 = w[3 * ky + 2];
        if (S == 1) {
            int16x8_t x0 = dw_ld(p), x1 = dw_ld(p + C);
#pragma GCC unroll 8
            for (int j = 0; j < N; j++) {
                const int16x8_t x2 = dw_ld(p + (size_t)(j + 2) * C);
                DW_MAC(j, x0, w0);
                DW_MAC(j, x1, w1);
                DW_MAC(j, x2, w2);
                x0 = x1;
                x1 = x2;
            }
        } else {
            int16x8_t x0 = dw_ld(p);
#pragma GCC unroll 8
            for (int j = 0; j < N; j++) {
                const int16x8_t x1 = dw_ld(p + (size_t)(2 * j + 1) * C),
                                x2 = dw_ld(p + (size_t)(2 * j + 2) * C);
                DW_MAC(j, x0, w0);
                DW_MAC(j, x1, w1);
                DW_MAC(j, x2, w2);
                x0 = x2;
            }
        }
    }
    const int c0 = cb * 8, valid = ep_imin(8, g->C - c0);
    char *d = orow + ((size_t)ox0 * g->C + c0) * r->oes;
    const size_t ps = C * r->oes;
#pragma GCC unroll 4
    for (int j = 0; j + 1 < N; j += 2)
        dw_store_pair(r, d + (size_t)j * ps, d + (size_t)(j + 1) * ps, valid, al[j], ah[j],
                      al[j + 1], ah[j + 1], E);
    if (N & 1) dw_store1(r, d + (size_t)(N - 1) * ps, valid, al[N - 1], ah[N - 1]);
}

/* one input channel (groups 1, the first layer of an image model): out[y][x][oc] = sum over
 * taps of in[..] * w[oc][tap], a depthwise conv whose one input channel is broadcast to the
 * output channels. A tile of 4 pixels x 8 output channels: per kernel row ONE input load (8
 * consecutive pixels, stride 2: 16) widened once, every (pixel, tap) product pair an smlal /
 * smlal2 by lane of it; the 9 weight vectors (8 output channels each) stay in registers. */
#define C1_MAC(j, kx, xv, l)                                                               \
    do {                                                                                   \
        al[j] = vmlal_laneq_s16(al[j], vget_low_s16(w##kx), xv, l);                        \
        ah[j] = ep_vmlal_high_laneq_s16(ah[j], w##kx, xv, l);                              \
    } while (0)

AI void c1_tile(const dw_run *r, const int8_t *const *rowp, int ox0, const int16x8_t *w,
                int32x4_t bl, int32x4_t bh, char *d, int valid, int npx, const int S,
                const int E) {
    int32x4_t al[4] = {bl, bl, bl, bl}, ah[4] = {bh, bh, bh, bh};
#pragma GCC unroll 3
    for (int ky = 0; ky < DW_K; ky++) {
        if (!rowp[ky]) continue;
        const int8_t *p = rowp[ky] + (size_t)ox0 * S;
        const int16x8_t w0 = w[3 * ky], w1 = w[3 * ky + 1], w2 = w[3 * ky + 2];
        if (S == 1) {            /* pixel j, tap kx: lane j + kx */
            const int16x8_t x = vmovl_s8(vld1_s8(p));
            C1_MAC(0, 0, x, 0); C1_MAC(0, 1, x, 1); C1_MAC(0, 2, x, 2);
            C1_MAC(1, 0, x, 1); C1_MAC(1, 1, x, 2); C1_MAC(1, 2, x, 3);
            C1_MAC(2, 0, x, 2); C1_MAC(2, 1, x, 3); C1_MAC(2, 2, x, 4);
            C1_MAC(3, 0, x, 3); C1_MAC(3, 1, x, 4); C1_MAC(3, 2, x, 5);
        } else {                 /* lane 2j + kx: 0..8 */
            const int8x16_t xb = vld1q_s8(p);
            const int16x8_t x = vmovl_s8(vget_low_s8(xb)), y = vmovl_s8(vget_high_s8(xb));
            C1_MAC(0, 0, x, 0); C1_MAC(0, 1, x, 1); C1_MAC(0, 2, x, 2);
            C1_MAC(1, 0, x, 2); C1_MAC(1, 1, x, 3); C1_MAC(1, 2, x, 4);
            C1_MAC(2, 0, x, 4); C1_MAC(2, 1, x, 5); C1_MAC(2, 2, x, 6);
            C1_MAC(3, 0, x, 6); C1_MAC(3, 1, x, 7); C1_MAC(3, 2, y, 0);
        }
    }
    const size_t ps = (size_t)r->g.C * r->oes;
    if (npx == 4) {
        dw_store_pair(r, d, d + ps, valid, al[0], ah[0], al[1], ah[1], E);
        dw_store_pair(r, d + 2 * ps, d + 3 * ps, valid, al[2], ah[2], al[3], ah[3], E);
        return;
    }
    char tmp[4 * 8 * 4];         /* a map narrower than the tile: through a buffer */
    const size_t ts = 8 * r->oes;
    dw_store_pair(r, tmp, tmp + ts, valid, al[0], ah[0], al[1], ah[1], E);
    dw_store_pair(r, tmp + 2 * ts, tmp + 3 * ts, valid, al[2], ah[2], al[3], ah[3], E);
    for (int j = 0; j < npx; j++) memcpy(d + j * ps, tmp + j * ts, (size_t)valid * r->oes);
}

/* one input channel: a row of output-channel block cb in 4-pixel tiles (the last one
 * overlapping its predecessor; a map narrower than 4 pixels computes the missing ones from
 * the zeroed slack of the row buffer and stores only the valid ones) */
AI void c1_cb_row(const dw_run *r, const int8_t *const *rowp, char *orow, int cb, const int S,
                  const int E) {
    const int OW = r->g.OW, c0 = cb * 8, valid = ep_imin(8, r->g.C - c0);
    const int16_t *wp = r->w + (size_t)cb * DW_K * DW_K * 8;
    int16x8_t w[DW_K * DW_K];
#pragma GCC unroll 9
    for (int k = 0; k < DW_K * DW_K; k++) w[k] = vld1q_s16(wp + 8 * k);
    int32x4_t bl = vld1q_s32(r->bias + 8 * cb), bh = vld1q_s32(r->bias + 8 * cb + 4);
    if (E != DW_E_ANY) {        /* the fast epilogue's rounding takes acc - 1 (dw_shift) */
        bl = vsubq_s32(bl, vdupq_n_s32(1));
        bh = vsubq_s32(bh, vdupq_n_s32(1));
    }
    for (int ox = 0;; ox += 4) {
        if (ox + 4 > OW) ox = ep_imax(0, OW - 4);
        c1_tile(r, rowp, ox, w, bl, bh, orow + ((size_t)ox * r->g.C + c0) * r->oes, valid,
                ep_imin(4, OW - ox), S, E);
        if (ox + 4 >= OW) break;
    }
}

/* one output row of channel block cb: tiles of DW_TILE (4 on narrower maps, else 1) pixels;
 * the last tile overlaps its predecessor (the same values stored twice) */
AI void dw_cb_row(const dw_run *r, const int8_t *const *rowp, char *orow, int cb, const int S,
                  const int E) {
    const int OW = r->g.OW;
    const int16_t *wp = r->w + (size_t)cb * DW_K * DW_K * 8;
    int16x8_t w[DW_K * DW_K];
#pragma GCC unroll 9
    for (int k = 0; k < DW_K * DW_K; k++) w[k] = vld1q_s16(wp + 8 * k);
    const int32x4_t bl = vld1q_s32(r->bias + 8 * cb), bh = vld1q_s32(r->bias + 8 * cb + 4);
    if (OW < 4) {
        for (int ox = 0; ox < OW; ox++) dw_tile(r, rowp, ox, cb, w, bl, bh, orow, 1, S, DW_E_ANY);
        return;
    }
    /* the fast epilogue's rounding takes acc - 1 (dw_shift): start from bias - 1 */
    const int32x4_t fl = E != DW_E_ANY ? vsubq_s32(bl, vdupq_n_s32(1)) : bl,
                    fh = E != DW_E_ANY ? vsubq_s32(bh, vdupq_n_s32(1)) : bh;
    if (OW >= DW_TILE) {
        for (int ox = 0;; ox += DW_TILE) {
            if (ox + DW_TILE > OW) ox = OW - DW_TILE;
            dw_tile(r, rowp, ox, cb, w, fl, fh, orow, DW_TILE, S, E);
            if (ox + DW_TILE >= OW) break;
        }
    } else {
        for (int ox = 0;; ox += 4) {
            if (ox + 4 > OW) ox = OW - 4;
            dw_tile(r, rowp, ox, cb, w, fl, fh, orow, 4, S, E);
            if (ox + 4 >= OW) break;
        }
    }
}

#define DW_ROW_FN(S, E)                                                                    \
    static void dw_row_##S##_##E(const dw_run *r, const int8_t *const *rowp, char *orow,   \
                                 int b0, int b1) {                                         \
        for (int cb = b0; cb < b1; cb++) dw_cb_row(r, rowp, orow, cb, S, E);               \
    }                                                                                      \
    static void c1_row_##S##_##E(const dw_run *r, const int8_t *const *rowp, char *orow,   \
                                 int b0, int b1) {                                         \
        for (int cb = b0; cb < b1; cb++) c1_cb_row(r, rowp, orow, cb, S, E);               \
    }
DW_ROW_FN(1, 0)
DW_ROW_FN(1, 1)
DW_ROW_FN(1, 2)
DW_ROW_FN(2, 0)
DW_ROW_FN(2, 1)
DW_ROW_FN(2, 2)

/* one output row, channel blocks [b0, b1); full 8-channel blocks take the fast epilogue */
static void dw_row_blocks(const dw_run *r, const int8_t *const *rowp, char *orow, int b0,
                          int b1) {
    const int S = r->g.p->sw, full = ep_imin(b1, r->g.C / 8);
    int E = DW_E_ANY;
    if (r->rq && r->rqv.mode == 1 && r->rq->out == EP_I8) E = DW_E_I8;
    if (r->rq && r->rqv.mode == 1 && r->rq->out == EP_U8) E = DW_E_U8;
    const int c1 = r->g.c1;
    if (E != DW_E_ANY && b0 < full) {
        if (S == 1 && E == DW_E_I8) (c1 ? c1_row_1_0 : dw_row_1_0)(r, rowp, orow, b0, full);
        else if (S == 1) (c1 ? c1_row_1_1 : dw_row_1_1)(r, rowp, orow, b0, full);
        else if (E == DW_E_I8) (c1 ? c1_row_2_0 : dw_row_2_0)(r, rowp, orow, b0, full);
        else (c1 ? c1_row_2_1 : dw_row_2_1)(r, rowp, orow, b0, full);
        b0 = full;
    }
    if (b0 >= b1) return;
    if (S == 1) (c1 ? c1_row_1_2 : dw_row_1_2)(r, rowp, orow, b0, b1);
    else (c1 ? c1_row_2_2 : dw_row_2_2)(r, rowp, orow, b0, b1);
}

/* rowp[ky] -> input row oy * sh - pt + ky in padded-row coordinates (column 0 = the first
 * left pad), NULL when the row is padding */
static void dw_rows(const dw_run *r, char *rowbuf, int oy, const int8_t **rowp) {
    const dw_geom *g = &r->g;
    const ep_conv_params *p = g->p;
    const size_t rowin = (size_t)p->w * p->ic;
    for (int ky = 0; ky < DW_K; ky++) {
        const int iy = oy * p->sh - p->pt + ky;
        if (iy < 0 || iy >= p->h) {
            rowp[ky] = NULL;
        } else if (g->direct) {
            rowp[ky] = r->x + (size_t)iy * rowin;
        } else {
            char *dst = rowbuf + (size_t)ky * g->row_bytes;
            memcpy(dst + (size_t)p->pl * p->ic, r->x + (size_t)iy * rowin, rowin);
            rowp[ky] = (const int8_t *)dst;
        }
    }
}

/* items = (output row, channel block), row-major */
static void dw_task(void *ctx, int tid, int lo, int hi) {
    const dw_run *r = (const dw_run *)ctx;
    const dw_geom *g = &r->g;
    char *rowbuf = r->rows + (size_t)tid * r->thread_bytes;
    const int8_t *rowp[DW_K];
    if (!g->direct) memset(rowbuf, 0, r->thread_bytes);   /* the padding stays zero */
    int it = lo;
    while (it < hi) {
        const int oy = it / g->ncb, b0 = it % g->ncb;
        const int b1 = ep_imin(g->ncb, b0 + (hi - it));
        dw_rows(r, rowbuf, oy, rowp);
        dw_row_blocks(r, rowp, r->out + (size_t)oy * g->OW * g->C * r->oes, b0, b1);
        it += b1 - b0;
    }
}

static size_t dw_thread_bytes(const dw_geom *g) {
    return g->direct ? 0 : (size_t)DW_K * g->row_bytes;
}

static void dw_carve(const dw_geom *g, int nth, ep_carver *cv, char **bias, char **rows) {
    *bias = (char *)ep_carve(cv, (size_t)g->ncb * 8 * sizeof(int32_t));
    *rows = (char *)ep_carve(cv, (size_t)nth * dw_thread_bytes(g));
}

size_t ep__dw_scratch_bytes(const ep_conv_params *p, ep_dtype t) {
    dw_geom g;
    if (dw_geom_of(p, t, &g)) return 0;
    char *b, *r;
    ep_carver cv;
    ep_carver_init(&cv, NULL);
    dw_carve(&g, ep_threads_for(p->threads, g.OH * g.ncb), &cv, &b, &r);
    return ep_carver_size(&cv);
}

static int dw_setup(dw_run *r, const ep_conv_params *p, ep_dtype t, const void *x,
                    const void *packed, const void *bias, const ep_requant *rq, void *out,
                    void *scratch, int nth) {
    int rc = dw_geom_of(p, t, &r->g);
    if (rc) return rc;
    if (!x || !packed || !out || !scratch) return EP_EINVAL;
    if (rq && (rc = ep_rq_check(rq))) return rc;
    if (!ep__conv_bound_ok(p, t, bias)) return EP_ERANGE;
    r->x = (const int8_t *)x;
    r->w = (const int16_t *)packed;
    r->rq = rq;
    if (rq) ep_rqv_init(&r->rqv, rq, 32);
    else memset(&r->rqv, 0, sizeof r->rqv);
    r->bit = vdupq_n_s32(rq && rq->shift >= 1 && rq->shift <= 31 ? (int32_t)(1u << rq->shift) : 0);
    r->out = (char *)out;
    r->oes = rq ? ep_dtype_size((ep_dtype)rq->out) : 4;
    char *bp;
    ep_carver cv;
    ep_carver_init(&cv, scratch);
    dw_carve(&r->g, nth, &cv, &bp, &r->rows);
    r->thread_bytes = dw_thread_bytes(&r->g);
    memset(bp, 0, (size_t)r->g.ncb * 8 * sizeof(int32_t));
    if (bias) memcpy(bp, bias, (size_t)p->oc * sizeof(int32_t));
    r->bias = (const int32_t *)bp;
    return EP_OK;
}

int ep__dw_conv(const ep_conv_params *p, ep_dtype t, const void *x, const void *packed,
                const void *bias, const ep_requant *rq, void *out, void *scratch) {
    dw_run r;
    dw_geom g;
    int rc = dw_geom_of(p, t, &g);
    if (rc) return rc;
    const int items = g.OH * g.ncb, nth = ep_threads_for(p->threads, items);
    if ((rc = dw_setup(&r, p, t, x, packed, bias, rq, out, scratch, nth))) return rc;
    ep_parallel(nth, items, dw_task, &r);
    return EP_OK;
}

/* ------------------------------------------------------------------ fused conv -> max pool */

static void dw_fused_row(void *ctx, int y, void *dst) {
    const dw_run *r = (const dw_run *)ctx;
    const int8_t *rowp[DW_K];
    dw_rows(r, r->rows, y, rowp);
    dw_row_blocks(r, rowp, (char *)dst, 0, r->g.ncb);
}

size_t ep__dw_maxpool_scratch_bytes(const ep_conv_params *p, ep_dtype t,
                                    const ep_pool_params *pp, const ep_requant *rq) {
    dw_geom g;
    if (dw_geom_of(p, t, &g)) return 0;
    char *b, *r;
    ep_carver cv;
    ep_carver_init(&cv, NULL);
    dw_carve(&g, 1, &cv, &b, &r);
    return ep_carver_size(&cv) + ep__max_engine_scratch(pp, (ep_dtype)rq->out);
}

int ep__dw_conv_maxpool(const ep_conv_params *p, ep_dtype t, const void *x, const void *packed,
                        const void *bias, const ep_requant *rq, const ep_pool_params *pp,
                        void *out, void *scratch) {
    dw_run r;
    char dummy;
    int rc = dw_setup(&r, p, t, x, packed, bias, rq, &dummy, scratch, 1);
    if (rc) return rc;
    if (!r.g.direct) memset(r.rows, 0, r.thread_bytes);
    ep_carver cv;
    char *b, *rows;
    ep_carver_init(&cv, NULL);
    dw_carve(&r.g, 1, &cv, &b, &rows);
    return ep__max_engine(pp, (ep_dtype)rq->out, dw_fused_row, &r, out,
                          (char *)scratch + ep_carver_size(&cv));
}

/* ------------------------------------------------------------------ cost model */
/* Estimated aarch64 instructions of one call (fitted to qemu counts of the -O2
 * -mcpu=cortex-a53 build; benchmarks/neon_xnnpack.py prints estimate vs measured). Per tile of
 * N pixels x 8 channels and kernel row: (N + 2 | 2N + 1) input vectors (ldr + sxtl, stride 2
 * with its address arithmetic) and 6N smlal; per pixel the epilogue: the fast requantize to
 * 8 bits (assumed: the call's requantizer is not known here) or, for a channel tail block,
 * the generic one. */
double ep__dw_cost(const ep_conv_params *p, ep_dtype t) {
    dw_geom g;
    if (dw_geom_of(p, t, &g)) return -1.0;
    if (g.c1) {
        /* one input channel, 4 pixels x 8 output channels per tile: per kernel row 1 (stride
         * 2: 1 + 2 widening) load + 24 smlal by lane; the epilogue; the row copies */
        const double tiles = g.OW >= 4 ? (g.OW + 3) / 4 : 1;
        const double per_row = (p->sw == 1 ? 2 : 6) + 24.0 + 10;
        const int full = p->oc / 8, tail = g.ncb - full;
        const double fast = 3 * per_row + 4 * 17.0 + 30, slow = 3 * per_row + 4 * 75.0 + 30;
        const double per_out_row = tiles * (full * fast + tail * slow) + g.ncb * 25.0;
        return (double)g.OH * (per_out_row + DW_K * ((double)p->w / 16.0 + 30)) + 300;
    }
    const int N = g.OW >= DW_TILE ? DW_TILE : g.OW >= 4 ? 4 : 1;
    const double tiles = N == 1 ? g.OW : (g.OW + N - 1) / N;
    const double nvec = p->sw == 1 ? N + 2 : 2 * N + 1;
    const double per_row = (p->sw == 1 ? 2 : 4) * nvec + 6.0 * N + 9;
    const double fast = 3 * per_row + N * 17.0 + 20, slow = 3 * per_row + N * 75.0 + 20;
    const int full = N == 1 ? 0 : p->ic / 8, tail = g.ncb - full;
    const double per_row_items = tiles * (full * fast + tail * slow) + g.ncb * 25.0;
    const double copies = g.direct ? 0 : (double)g.OH * DW_K * ((double)p->w * p->ic / 16.0 + 30);
    return (double)g.OH * per_row_items + copies + 300;
}
