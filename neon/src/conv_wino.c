// SPDX-License-Identifier: Apache-2.0
/* Winograd F(2x2, 3x3) convolution (EP_ALGO_WINO): int8, dense, 3x3, stride 1, dilation 1,
 * any padding, bit-exact in integers.
 *
 * Why: every multiply-accumulate of the direct kernels costs at least 3/16 instruction on a
 * core without sdot (smull + smlal2 + sadalp per 16 MACs, the floor XNNPACK's A53 kernels sit
 * on too); F(2x2, 3x3) computes a 2 x 2 output tile with 16 instead of 36 products per
 * (input, output) channel pair, 2.25x fewer.
 *
 * Exact integers: with G' = 2G = [[2,0,0],[1,1,1],[1,-1,1],[0,0,2]] (no halves),
 * U' = G' g G'^T = 4 G g G^T, and Y4 = A^T [sum_ic U' (.) V] A = 4 Y exactly, where
 * V = B^T d B. |V| <= 4 * 128 = 512 and |U'| <= 9 * 128 = 1152 fit int16, so the element-wise
 * products run as the by-lane int16 tile of conv_rb.c (smlal / smlal2 by lane, int32 sums).
 * Every step is a ring operation, so int32 wrap-around leaves the result exact modulo 2^32,
 * and 4Y itself fits int32 when 4 * 9 * IC * 128 * 2^(wbits-1) <= INT32_MAX (checked: the
 * kernel is applicable only then); Y = 4Y >> 2 exactly, then bias, requantize, store.
 *
 * Layout: weights packed at build time [oc block of 16][16 positions][IC rounded to 8][16]
 * int16 (U'). Per work item (one row of 2-pixel-high tiles, 4 tiles wide): the 4 input
 * patches (4 x 4 pixels, zero outside the image) are transformed into V [16][4 tiles][ICp]
 * int16 (widening add / subtract straight from int8), then per output-channel block the 16
 * GEMMs (4 tiles x 16 channels, K = IC) leave M [16][4][16] int32 in scratch, and the output
 * transform + requantize writes the 4 x 2 x 2 pixels. Scratch per thread: 128 * ICp + 4 KiB.
 * Threads split the items (tile row, group of 4 tiles[, part of the channel blocks]). */
#include "ep_internal.h"
#include "rq_vec.h"
#include "rb_tile.h"

typedef struct {
    const ep_conv_params *p;
    int OH, OW, TH, TW, TG, IC, ICp, OC, nob;
} wg_geom;

typedef struct {
    wg_geom g;
    const int8_t *x;
    const int16_t *w;
    const int32_t *bias;         /* padded to nob * 16 */
    const int8_t *zeros;         /* ICp + 8 zero bytes: the padding pixels */
    const ep_requant *rq;
    ep_rqv rqv;
    char *out;
    size_t oes;
    char *work;                  /* per thread: V then M */
    size_t thread_bytes;
    int nsplit;                  /* channel-block parts per tile item (threads) */
} wg_run;

/* 4 * 9 * IC * 128 * 2^(wbits-1) <= INT32_MAX: 4Y fits int32 */
static int wg_fits(const ep_conv_params *p) {
    const int bits = p->wbits > 0 && p->wbits < 8 ? p->wbits : 8;
    return (uint64_t)36 * (uint64_t)p->ic * 128u * (1u << (bits - 1)) <= (uint64_t)INT32_MAX;
}

int ep__wino_applicable(const ep_conv_params *p, ep_dtype t) {
    return p && t == EP_I8 && p->groups == 1 && p->kh == 3 && p->kw == 3 && p->sh == 1 &&
           p->sw == 1 && p->dh == 1 && p->dw == 1 && p->ic >= 1 && wg_fits(p);
}

static int wg_geom_of(const ep_conv_params *p, ep_dtype t, wg_geom *g) {
    if (!p) return EP_EINVAL;
    if (t != EP_I8) return EP_ETYPE;
    if (p->h < 1 || p->w < 1 || p->ic < 1 || p->oc < 1 || p->groups != 1) return EP_EINVAL;
    if (p->pt < 0 || p->pl < 0 || p->pb < 0 || p->pr < 0) return EP_EINVAL;
    if (p->wbits < 0 || p->wbits > 8) return EP_EINVAL;
    if (!ep__wino_applicable(p, t)) return EP_EINVAL;
    g->OH = ep_pool_output_size(p->h, 3, 1, p->pt, p->pb, 1, 0);
    g->OW = ep_pool_output_size(p->w, 3, 1, p->pl, p->pr, 1, 0);
    if (g->OH < 1 || g->OW < 1) return EP_ESHAPE;
    g->p = p;
    g->TH = (g->OH + 1) / 2;
    g->TW = (g->OW + 1) / 2;
    g->TG = (g->TW + 3) / 4;
    g->IC = p->ic;
    g->ICp = ep_round_up(p->ic, 8);
    g->OC = p->oc;
    g->nob = (p->oc + 15) / 16;
    return EP_OK;
}

size_t ep__wino_packed_bytes(const ep_conv_params *p, ep_dtype t) {
    wg_geom g;
    if (wg_geom_of(p, t, &g)) return 0;
    return (size_t)g.nob * 16 * g.ICp * 16 * sizeof(int16_t);
}

int ep__wino_pack(const ep_conv_params *p, ep_dtype t, const void *w, void *packed) {
    wg_geom g;
    int rc = wg_geom_of(p, t, &g);
    if (rc) return rc;
    if (!w || !packed) return EP_EINVAL;
    const int bits = p->wbits ? p->wbits : 8;
    const int32_t wmax = (1 << (bits - 1)) - 1, wmin = p->narrow ? -wmax : -(1 << (bits - 1));
    int16_t *dst = (int16_t *)packed;
    memset(dst, 0, ep__wino_packed_bytes(p, t));
    const int8_t *src = (const int8_t *)w;
    for (int oc = 0; oc < g.OC; oc++)
        for (int ic = 0; ic < g.IC; ic++) {
            int32_t k[3][3], tg[4][3];
            for (int ky = 0; ky < 3; ky++)
                for (int kx = 0; kx < 3; kx++) {
                    k[ky][kx] = src[(((size_t)oc * 3 + ky) * 3 + kx) * g.IC + ic];
                    if (k[ky][kx] < wmin || k[ky][kx] > wmax) return EP_ERANGE;
                }
            for (int j = 0; j < 3; j++) {             /* G' g */
                tg[0][j] = 2 * k[0][j];
                tg[1][j] = k[0][j] + k[1][j] + k[2][j];
                tg[2][j] = k[0][j] - k[1][j] + k[2][j];
                tg[3][j] = 2 * k[2][j];
            }
            for (int i = 0; i < 4; i++) {             /* (G' g) G'^T */
                const int32_t u[4] = {2 * tg[i][0], tg[i][0] + tg[i][1] + tg[i][2],
                                      tg[i][0] - tg[i][1] + tg[i][2], 2 * tg[i][2]};
                for (int j = 0; j < 4; j++)
                    dst[(((size_t)(oc / 16) * 16 + i * 4 + j) * g.ICp + ic) * 16 + oc % 16] =
                        (int16_t)u[j];
            }
        }
    return EP_OK;
}

/* ------------------------------------------------------------------ input transform */
static inline int8x8_t wg_ld8(const int8_t *p, int n) {
    if (n >= 8) return vld1_s8(p);
    int8_t t[8] = {0};
    memcpy(t, p, (size_t)n);
    return vld1_s8(t);
}

/* 8 channels of one tile: B^T d B from the 16 int8 vectors LD(a, b) (patch row a, column b),
 * widened by the first add / subtract, stored to v + pos * ps */
#define WG_COL(b)                                                                          \
    const int8x8_t d0##b = LD(0, b), d1##b = LD(1, b), d2##b = LD(2, b), d3##b = LD(3, b);  \
    const int16x8_t t0##b = vsubl_s8(d0##b, d2##b), t1##b = vaddl_s8(d1##b, d2##b),        \
                    t2##b = vsubl_s8(d2##b, d1##b), t3##b = vsubl_s8(d1##b, d3##b)
#define WG_ROW(a)                                                                          \
    vst1q_s16(v + (size_t)(4 * (a) + 0) * ps, vsubq_s16(t##a##0, t##a##2));                \
    vst1q_s16(v + (size_t)(4 * (a) + 1) * ps, vaddq_s16(t##a##1, t##a##2));                \
    vst1q_s16(v + (size_t)(4 * (a) + 2) * ps, vsubq_s16(t##a##2, t##a##1));                \
    vst1q_s16(v + (size_t)(4 * (a) + 3) * ps, vsubq_s16(t##a##1, t##a##3))
#define WG_TF                                                                              \
    do {                                                                                   \
        WG_COL(0); WG_COL(1); WG_COL(2); WG_COL(3);                                         \
        WG_ROW(0); WG_ROW(1); WG_ROW(2); WG_ROW(3);                                         \
    } while (0)

/* V[pos][j][ICp] of tile j at output (2 ty, 2 tx) (tx >= TW: all zero) */
static void wg_input(const wg_run *r, int ty, int tx, int j, int16_t *V) {
    const wg_geom *g = &r->g;
    const ep_conv_params *p = g->p;
    const int iy0 = 2 * ty - p->pt, ix0 = 2 * tx - p->pl;
    const size_t ps = (size_t)4 * g->ICp;            /* position stride in V */
    int16_t *v = V + (size_t)j * g->ICp;
    /* a load of 8 channels may run past a pixel (IC % 8 != 0) into the next one: those lanes
     * meet zero weights; only a pixel within ICp bytes of the input's end needs a copy */
    const int8_t *xend = r->x + (size_t)p->h * p->w * g->IC;
    if (tx < g->TW && iy0 >= 0 && iy0 + 3 < p->h && ix0 >= 0 && ix0 + 3 < p->w &&
        r->x + ((size_t)(iy0 + 3) * p->w + ix0 + 3) * g->IC + g->ICp <= xend) {  /* interior */
        const size_t rs = (size_t)p->w * g->IC, cs = (size_t)g->IC;
        const int8_t *x0 = r->x + ((size_t)iy0 * p->w + ix0) * g->IC;
        for (int c = 0; c < g->ICp; c += 8, v += 8) {
            const int8_t *q = x0 + c;
#define LD(a, b) vld1_s8(q + (a) * rs + (b) * cs)
            WG_TF;
#undef LD
        }
        return;
    }
    const int8_t *d[16];
    int copy = 0;
    for (int a = 0; a < 4; a++)
        for (int b = 0; b < 4; b++) {
            const int iy = iy0 + a, ix = ix0 + b;
            d[a * 4 + b] = tx < g->TW && iy >= 0 && iy < p->h && ix >= 0 && ix < p->w
                               ? r->x + ((size_t)iy * p->w + ix) * g->IC
                               : r->zeros;
            copy |= d[a * 4 + b] != r->zeros && d[a * 4 + b] + g->ICp > xend;
        }
    if (!copy) {
        for (int c = 0; c < g->ICp; c += 8, v += 8) {
#define LD(a, b) vld1_s8(d[4 * (a) + (b)] + c)
            WG_TF;
#undef LD
        }
        return;
    }
    for (int c = 0; c < g->ICp; c += 8, v += 8) {
        const int n = g->IC - c;
#define LD(a, b) wg_ld8(d[4 * (a) + (b)] + c, n)
        WG_TF;
#undef LD
    }
}

/* ------------------------------------------------------------------ 16 GEMMs */
#if defined(__aarch64__) && !defined(EP_NO_ASM)
/* M[pos][4][16] = V[pos][4][icp] x U[pos][icp][16] for the 16 positions, one asm block (see
 * rb_tile.h). Per 8 reduction elements: 4 ldr + 8 ldp + 128 smlal + 2 loop = 142
 * instructions for 512 products. V's tile 3 of a position ends where tile 0 of the next
 * begins, so p3 carries over. */
static void wg_gemm16(const int16_t *V, int icp, const int16_t *w, int32_t *M) {
    const size_t ts = (size_t)icp * 2;
    const char *p0 = (const char *)V, *p1, *p2, *p3;
    long kb, n = 16;
    __asm__ volatile(
        "0:\n\t"
        "movi v16.4s, #0\n\t" "movi v17.4s, #0\n\t" "movi v18.4s, #0\n\t" "movi v19.4s, #0\n\t"
        "movi v20.4s, #0\n\t" "movi v21.4s, #0\n\t" "movi v22.4s, #0\n\t" "movi v23.4s, #0\n\t"
        "movi v24.4s, #0\n\t" "movi v25.4s, #0\n\t" "movi v26.4s, #0\n\t" "movi v27.4s, #0\n\t"
        "movi v28.4s, #0\n\t" "movi v29.4s, #0\n\t" "movi v30.4s, #0\n\t" "movi v31.4s, #0\n\t"
        "add %[p1], %[p0], %[ts]\n\t" "add %[p2], %[p1], %[ts]\n\t"
        "add %[p3], %[p2], %[ts]\n\t"
        "mov %[kb], %[icp]\n\t"
        "2:\n\t"
        "ldr q0, [%[p0]], #16\n\t" "ldr q1, [%[p1]], #16\n\t"
        RB_LDA
        "ldr q2, [%[p2]], #16\n\t" "ldr q3, [%[p3]], #16\n\t"
        RB_LDB
        RB_STEP(4, 5, 0) RB_LDA RB_STEP(6, 7, 1) RB_LDB
        RB_STEP(4, 5, 2) RB_LDA RB_STEP(6, 7, 3) RB_LDB
        RB_STEP(4, 5, 4) RB_LDA RB_STEP(6, 7, 5) RB_LDB
        RB_STEP(4, 5, 6) RB_STEP(6, 7, 7)
        "subs %[kb], %[kb], #8\n\t"
        "b.ne 2b\n\t"
        "st1 {v16.4s, v17.4s, v18.4s, v19.4s}, [%[M]], #64\n\t"
        "st1 {v20.4s, v21.4s, v22.4s, v23.4s}, [%[M]], #64\n\t"
        "st1 {v24.4s, v25.4s, v26.4s, v27.4s}, [%[M]], #64\n\t"
        "st1 {v28.4s, v29.4s, v30.4s, v31.4s}, [%[M]], #64\n\t"
        "mov %[p0], %[p3]\n\t"
        "subs %[n], %[n], #1\n\t"
        "b.ne 0b\n\t"
        : [p0] "+r"(p0), [w] "+r"(w), [M] "+r"(M), [n] "+r"(n), [p1] "=&r"(p1),
          [p2] "=&r"(p2), [p3] "=&r"(p3), [kb] "=&r"(kb)
        : [ts] "r"(ts), [icp] "r"((long)icp)
        : "cc", "memory", "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v16", "v17", "v18",
          "v19", "v20", "v21", "v22", "v23", "v24", "v25", "v26", "v27", "v28", "v29", "v30",
          "v31");
}
#else
static void wg_gemm16(const int16_t *V, int icp, const int16_t *w, int32_t *M) {
    for (int pos = 0; pos < 16; pos++, M += 64) {
        const int16_t *p0 = V + (size_t)pos * 4 * icp, *p1 = p0 + icp, *p2 = p1 + icp,
                      *p3 = p2 + icp;
        int32x4_t a00 = vdupq_n_s32(0), a01 = a00, a02 = a00, a03 = a00, a10 = a00, a11 = a00,
                  a12 = a00, a13 = a00, a20 = a00, a21 = a00, a22 = a00, a23 = a00, a30 = a00,
                  a31 = a00, a32 = a00, a33 = a00;
        for (int kb = 0; kb < icp; kb += 8) {
            const int16x8_t x0 = vld1q_s16(p0 + kb), x1 = vld1q_s16(p1 + kb),
                            x2 = vld1q_s16(p2 + kb), x3 = vld1q_s16(p3 + kb);
            MAC16(0); MAC16(1); MAC16(2); MAC16(3); MAC16(4); MAC16(5); MAC16(6); MAC16(7);
        }
        vst1q_s32(M, a00); vst1q_s32(M + 4, a01); vst1q_s32(M + 8, a02);
        vst1q_s32(M + 12, a03); vst1q_s32(M + 16, a10); vst1q_s32(M + 20, a11);
        vst1q_s32(M + 24, a12); vst1q_s32(M + 28, a13); vst1q_s32(M + 32, a20);
        vst1q_s32(M + 36, a21); vst1q_s32(M + 40, a22); vst1q_s32(M + 44, a23);
        vst1q_s32(M + 48, a30); vst1q_s32(M + 52, a31); vst1q_s32(M + 56, a32);
        vst1q_s32(M + 60, a33);
    }
}
#endif

/* ------------------------------------------------------------------ output transform */
/* channels 4q..4q+3 of one tile: mq = M + tile * 16 + 4q, positions 64 int32 apart.
 * A^T M A (24 add / subtract), / 4 (exact), + bias: the 4 pixels (dy * 2 + dx) in y0-y3 */
static inline __attribute__((always_inline)) void wg_quarter(const int32_t *mq, int32x4_t bq,
                                                             int32x4_t *y0, int32x4_t *y1,
                                                             int32x4_t *y2, int32x4_t *y3) {
#define WG_S(v)                                                                            \
    const int32x4_t m0##v = vld1q_s32(mq + (0 + v) * 64), m1##v = vld1q_s32(mq + (4 + v) * 64), \
                    m2##v = vld1q_s32(mq + (8 + v) * 64), m3##v = vld1q_s32(mq + (12 + v) * 64); \
    const int32x4_t s0##v = vaddq_s32(m0##v, vaddq_s32(m1##v, m2##v));                     \
    const int32x4_t s1##v = vsubq_s32(vsubq_s32(m1##v, m2##v), m3##v)
    WG_S(0); WG_S(1); WG_S(2); WG_S(3);
#undef WG_S
    *y0 = vsraq_n_s32(bq, vaddq_s32(vaddq_s32(s00, s01), s02), 2);
    *y1 = vsraq_n_s32(bq, vsubq_s32(vsubq_s32(s01, s02), s03), 2);
    *y2 = vsraq_n_s32(bq, vaddq_s32(vaddq_s32(s10, s11), s12), 2);
    *y3 = vsraq_n_s32(bq, vsubq_s32(vsubq_s32(s11, s12), s13), 2);
}

/* tile j of M (channel block b): A^T M A / 4 + bias, requantized, the valid pixels stored to
 * out (row oy of the output at out + (oy - oyb) * OW * OC elements) */
static void wg_output(const wg_run *r, const int32_t *M, int j, int b, int ty, int tx, int oyb,
                      char *out) {
    const wg_geom *g = &r->g;
    const int32_t *mq = M + (size_t)j * 16, *bias = r->bias + 16 * b;
    int32x4_t y00, y01, y02, y03, y10, y11, y12, y13, y20, y21, y22, y23, y30, y31, y32, y33;
    wg_quarter(mq, vld1q_s32(bias), &y00, &y10, &y20, &y30);
    wg_quarter(mq + 4, vld1q_s32(bias + 4), &y01, &y11, &y21, &y31);
    wg_quarter(mq + 8, vld1q_s32(bias + 8), &y02, &y12, &y22, &y32);
    wg_quarter(mq + 12, vld1q_s32(bias + 12), &y03, &y13, &y23, &y33);
    const int valid = ep_imin(16, g->OC - 16 * b), oy = 2 * ty, ox = 2 * tx;
    const int right = ox + 1 < g->OW, down = oy + 1 < g->OH;
    const size_t ps = (size_t)g->OC * r->oes;
    char *d = out + (((size_t)(oy - oyb) * g->OW + ox) * g->OC + 16 * b) * r->oes;
    const ep_rqv *c = r->rq ? &r->rqv : NULL;
    ep_store16_tail(c, r->oes, d, valid, y00, y01, y02, y03);
    if (right) ep_store16_tail(c, r->oes, d + ps, valid, y10, y11, y12, y13);
    if (down) {
        d += (size_t)g->OW * ps;
        ep_store16_tail(c, r->oes, d, valid, y20, y21, y22, y23);
        if (right) ep_store16_tail(c, r->oes, d + ps, valid, y30, y31, y32, y33);
    }
}

/* one work item: tile row ty, tiles 4 tg .. 4 tg + 3, output-channel blocks b0 .. b1 - 1 */
static void wg_item(const wg_run *r, char *work, int ty, int tg, int b0, int b1, int oyb,
                    char *out) {
    const wg_geom *g = &r->g;
    int16_t *V = (int16_t *)work;
    int32_t *M = (int32_t *)(work + EP_ALIGN((size_t)64 * g->ICp * sizeof(int16_t)));
    const int tx0 = 4 * tg, nt = ep_imin(4, g->TW - tx0);
    for (int j = 0; j < 4; j++) wg_input(r, ty, tx0 + j, j, V);
    for (int b = b0; b < b1; b++) {
        wg_gemm16(V, g->ICp, r->w + (size_t)b * 16 * g->ICp * 16, M);
        for (int j = 0; j < nt; j++) wg_output(r, M, j, b, ty, tx0 + j, oyb, out);
    }
}

/* items = (tile row, 4-tile group, channel-block part), split parts = the blocks divided
 * into nsplit ranges (more items when the tiles alone do not balance the threads) */
static void wg_task(void *ctx, int tid, int lo, int hi) {
    const wg_run *r = (const wg_run *)ctx;
    const wg_geom *g = &r->g;
    char *work = r->work + (size_t)tid * r->thread_bytes;
    for (int it = lo; it < hi; it++) {
        const int s = it % r->nsplit, t = it / r->nsplit;
        wg_item(r, work, t / g->TG, t % g->TG, s * g->nob / r->nsplit,
                (s + 1) * g->nob / r->nsplit, 0, r->out);
    }
}

/* channel-block parts per tile item: 1, or the fewest that split the items evenly over the
 * threads (or give each thread >= 8 items: <= 1/8 imbalance); every part repeats the input
 * transform (~1 % of a part's work at IC = 256) */
static int wg_nsplit(const wg_geom *g, int threads) {
    const int items = g->TH * g->TG, nth = ep_threads_for(threads, items * g->nob);
    if (nth <= 1) return 1;
    for (int s = 1; s < g->nob; s++)
        if ((items * s) % nth == 0 || items * s >= 8 * nth) return s;
    return g->nob;
}

static size_t wg_thread_bytes(const wg_geom *g) {
    return EP_ALIGN((size_t)64 * g->ICp * sizeof(int16_t)) + (size_t)16 * 64 * sizeof(int32_t);
}

static void wg_carve(const wg_geom *g, int nth, ep_carver *cv, char **bias, char **zeros,
                     char **work) {
    *bias = (char *)ep_carve(cv, (size_t)g->nob * 16 * sizeof(int32_t));
    *zeros = (char *)ep_carve(cv, (size_t)g->ICp + 8);
    *work = (char *)ep_carve(cv, (size_t)nth * wg_thread_bytes(g));
}

static int wg_threads(const ep_conv_params *p, const wg_geom *g) {
    return ep_threads_for(p->threads, g->TH * g->TG * wg_nsplit(g, p->threads));
}

size_t ep__wino_scratch_bytes(const ep_conv_params *p, ep_dtype t) {
    wg_geom g;
    if (wg_geom_of(p, t, &g)) return 0;
    char *b, *z, *w;
    ep_carver cv;
    ep_carver_init(&cv, NULL);
    wg_carve(&g, wg_threads(p, &g), &cv, &b, &z, &w);
    return ep_carver_size(&cv);
}

static int wg_setup(wg_run *r, const ep_conv_params *p, ep_dtype t, const void *x,
                    const void *packed, const void *bias, const ep_requant *rq, void *out,
                    void *scratch, int nth) {
    int rc = wg_geom_of(p, t, &r->g);
    if (rc) return rc;
    if (!x || !packed || !out || !scratch) return EP_EINVAL;
    if (rq && (rc = ep_rq_check(rq))) return rc;
    if (!ep__conv_bound_ok(p, t, bias)) return EP_ERANGE;
    r->x = (const int8_t *)x;
    r->w = (const int16_t *)packed;
    r->rq = rq;
    if (rq) ep_rqv_init(&r->rqv, rq, 32);
    r->out = (char *)out;
    r->oes = rq ? ep_dtype_size((ep_dtype)rq->out) : sizeof(int32_t);
    char *bp, *zp;
    ep_carver cv;
    ep_carver_init(&cv, scratch);
    wg_carve(&r->g, nth, &cv, &bp, &zp, &r->work);
    r->thread_bytes = wg_thread_bytes(&r->g);
    memset(bp, 0, (size_t)r->g.nob * 16 * sizeof(int32_t));
    if (bias) memcpy(bp, bias, (size_t)p->oc * sizeof(int32_t));
    memset(zp, 0, (size_t)r->g.ICp + 8);
    r->bias = (const int32_t *)bp;
    r->zeros = (const int8_t *)zp;
    return EP_OK;
}

int ep__wino_conv(const ep_conv_params *p, ep_dtype t, const void *x, const void *packed,
                  const void *bias, const ep_requant *rq, void *out, void *scratch) {
    wg_run r;
    wg_geom g;
    int rc = wg_geom_of(p, t, &g);
    if (rc) return rc;
    const int nth = wg_threads(p, &g);
    if ((rc = wg_setup(&r, p, t, x, packed, bias, rq, out, scratch, nth))) return rc;
    r.nsplit = wg_nsplit(&g, p->threads);
    ep_parallel(nth, g.TH * g.TG * r.nsplit, wg_task, &r);
    return EP_OK;
}

/* ------------------------------------------------------------------ fused conv -> max pool */
typedef void (*ep_row_fn)(void *ctx, int y, void *dst);
int ep__max_engine(const ep_pool_params *p, ep_dtype t, ep_row_fn produce, void *ctx, void *out,
                   void *scratch);
size_t ep__max_engine_scratch(const ep_pool_params *p, ep_dtype t);

typedef struct {
    wg_run r;
    char *pair;                  /* the two output rows of tile row ``ty`` */
    int ty;
} wg_fused;

/* conv output row y for the pool engine: its tile row is computed once (both rows kept) */
static void wg_fused_row(void *ctx, int y, void *dst) {
    wg_fused *f = (wg_fused *)ctx;
    const wg_geom *g = &f->r.g;
    const size_t row = (size_t)g->OW * g->OC * f->r.oes;
    if (f->ty != y / 2) {
        f->ty = y / 2;
        for (int tg = 0; tg < g->TG; tg++)
            wg_item(&f->r, f->r.work, f->ty, tg, 0, g->nob, 2 * f->ty, f->pair);
    }
    memcpy(dst, f->pair + (size_t)(y % 2) * row, row);
}

static size_t wg_fused_bytes(const wg_geom *g, const ep_requant *rq) {
    return (size_t)2 * g->OW * g->OC * ep_dtype_size((ep_dtype)rq->out);
}

size_t ep__wino_maxpool_scratch_bytes(const ep_conv_params *p, ep_dtype t,
                                      const ep_pool_params *pp, const ep_requant *rq) {
    wg_geom g;
    if (wg_geom_of(p, t, &g)) return 0;
    char *b, *z, *w;
    ep_carver cv;
    ep_carver_init(&cv, NULL);
    wg_carve(&g, 1, &cv, &b, &z, &w);
    ep_carve(&cv, wg_fused_bytes(&g, rq));
    return ep_carver_size(&cv) + ep__max_engine_scratch(pp, (ep_dtype)rq->out);
}

int ep__wino_conv_maxpool(const ep_conv_params *p, ep_dtype t, const void *x, const void *packed,
                          const void *bias, const ep_requant *rq, const ep_pool_params *pp,
                          void *out, void *scratch) {
    wg_fused f;
    char dummy;
    int rc = wg_setup(&f.r, p, t, x, packed, bias, rq, &dummy, scratch, 1);
    if (rc) return rc;
    ep_carver cv;
    char *b, *z, *w;
    ep_carver_init(&cv, scratch);
    wg_carve(&f.r.g, 1, &cv, &b, &z, &w);
    f.pair = (char *)ep_carve(&cv, wg_fused_bytes(&f.r.g, rq));
    f.ty = -1;
    return ep__max_engine(pp, (ep_dtype)rq->out, wg_fused_row, &f, out,
                          (char *)scratch + ep_carver_size(&cv));
}

/* ------------------------------------------------------------------ cost model */
/* Estimated aarch64 instructions per call (constants fitted to qemu counts of the -O2
 * -mcpu=cortex-a53 build; benchmarks/neon_xnnpack.py prints estimate vs measured). */
double ep__wino_cost(const ep_conv_params *p, ep_dtype t) {
    wg_geom g;
    if (wg_geom_of(p, t, &g)) return -1.0;
    const double icb = g.ICp / 8.0;
    /* per item: 4 input transforms (per 8 channels: 16 loads, 32 add / subtract, 16 stores;
     * per tile: the patch's pointers and bounds); per item and channel block: the 16 GEMMs
     * (per 8 channels 142, per position ~28 of zeroing / stores); per valid tile and block:
     * the output transform and 4 requantized stores */
    const double items = (double)g.TH * g.TG, tiles = (double)g.TH * g.TW;
    return items * (4 * (icb * 85 + 350) + g.nob * 16 * (icb * 142 + 28) + 40) +
           tiles * g.nob * 420 + 300;
}
