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
#include "rb_tile.h"

#define RB_MAX_KH 16
/* shortest reduction (KH * KW * IC) that takes the dot-product tile (mirrored in Python) */
#define EP_RB_DOT_MIN_K 128

typedef struct {
    const ep_conv_params *p;
    ep_dtype t;
    int OH, OW, IC, OC, KH, Kr, Krp, nob, direct;
    int dot;                     /* int8 with narrow weights: the 4 x 4 dot-product tile */
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
    /* the dot-product tile needs narrow weights; it pays off once a tile's reduction is long
     * enough to amortize its 4 x 4 tile's epilogue (~175 instructions with the reduction and
     * bias in asm) over 4x fewer MACs than the lane tile's (measured: 3x3x32 0.27 vs 0.30
     * instructions per MAC; 1x1x64 0.40 vs 0.38 with the asm epilogue, 0.44 without) */
    g->dot = t == EP_I8 && ((p->narrow && (p->wbits == 0 || p->wbits == 8)) ||
                            (p->wbits >= 1 && p->wbits <= 7)) &&
             (long)p->kh * p->kw * p->ic >= EP_RB_DOT_MIN_K;
    g->Krp = ep_round_up(g->Kr, g->dot ? 16 : (t == EP_I8 ? 8 : 2));
    g->nob = g->dot ? (p->oc + 3) / 4 : t == EP_I8 ? (p->oc + 15) / 16 : (p->oc + 7) / 8;
    g->direct = p->pl == 0 && p->pr == 0 && g->Kr == g->Krp;
    g->es = ep_dtype_size(t);
    g->aes = t == EP_I8 ? 4 : 8;
    /* a padded row, plus room for the last window's read past Kr (< 8 elements) */
    g->row_bytes = EP_ALIGN(((size_t)(p->pl + p->w + p->pr) * p->ic + 16) * g->es);
    return EP_OK;
}

/* width of output-channel block b (int8: 16, the last one 8 when <= 8 channels remain) */
static int rb_width(const rb_geom *g, int b) {
    if (g->dot) return 4;
    if (g->t != EP_I8) return 8;
    const int rem = g->OC - 16 * b;
    return rem >= 16 ? 16 : (rem <= 8 ? 8 : 16);
}

static size_t rb_block_off(const rb_geom *g, int b) {   /* int16 elements (dot: int8) */
    return (size_t)b * (g->dot ? 4 : g->t == EP_I8 ? 16 : 8) * g->KH * g->Krp;
}

size_t ep__rb_packed_bytes(const ep_conv_params *p, ep_dtype t) {
    rb_geom g;
    if (rb_geom_of(p, t, &g)) return 0;
    return (rb_block_off(&g, g.nob - 1) + (size_t)rb_width(&g, g.nob - 1) * g.KH * g.Krp) *
           (g.dot ? 1 : 2);
}

int ep__rb_pack(const ep_conv_params *p, ep_dtype t, const void *w, void *packed) {
    rb_geom g;
    int rc = rb_geom_of(p, t, &g);
    if (rc) return rc;
    if (!w || !packed) return EP_EINVAL;
    const int full = t == EP_I8 ? 8 : 16, bits = p->wbits ? p->wbits : full;
    const int32_t wmax = (1 << (bits - 1)) - 1, wmin = p->narrow ? -wmax : -(1 << (bits - 1));
    int16_t *dst = (int16_t *)packed;
    memset(dst, 0, ep__rb_packed_bytes(p, t));
    if (g.dot) {                 /* [oc block of 4][ky][Krp / 16][4][16] int8 */
        int8_t *d8 = (int8_t *)packed;
        for (int oc = 0; oc < g.OC; oc++)
            for (int ky = 0; ky < g.KH; ky++)
                for (int kr = 0; kr < g.Kr; kr++) {
                    const int8_t v = ((const int8_t *)w)[((size_t)oc * g.KH + ky) * g.Kr + kr];
                    if (v < wmin || v > wmax) return EP_ERANGE;
                    d8[rb_block_off(&g, oc / 4) + (((size_t)ky * g.Krp / 16 + kr / 16) * 4 +
                                                   oc % 4) * 16 + kr % 16] = v;
                }
        return EP_OK;
    }
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
 * sums may leave the range; only the final value matters, and this bounds it. Used by RB and
 * by AUTO whatever it resolves to. */
int ep__conv_bound_ok(const ep_conv_params *p, ep_dtype t, const void *bias) {
    if (t != EP_I8 && t != EP_I16) return 1;
    const int full = t == EP_I8 ? 8 : 16, bits = p->wbits > 0 && p->wbits < full ? p->wbits : full;
    const int groups = p->groups > 0 ? p->groups : 1;
    const uint64_t K = (uint64_t)p->kh * p->kw * (p->ic / groups);
    const uint64_t maxx = 1ull << (full - 1), maxw = 1ull << (bits - 1);
    const uint64_t limit = t == EP_I8 ? (uint64_t)INT32_MAX : (uint64_t)INT64_MAX;
    if (K > limit / (maxx * maxw)) return 0;
    const uint64_t prod = K * maxx * maxw;
    uint64_t maxb = 0;
    for (int oc = 0; bias && oc < p->oc; oc++) {
        int64_t b = t == EP_I8 ? ((const int32_t *)bias)[oc] : ((const int64_t *)bias)[oc];
        uint64_t a = b < 0 ? (uint64_t)0 - (uint64_t)b : (uint64_t)b;
        if (a > maxb) maxb = a;
    }
    return maxb <= limit - prod;
}

static int rb_bound_ok(const rb_geom *g, const void *bias) {
    return ep__conv_bound_ok(g->p, g->t, bias);
}

/* --------------------------------------------------------------------------- tiles */
/* output pixel offsets of a tile (missing pixels repeat the last one: computed, not stored) */
#define RB_OFFSETS                                                                        \
    const size_t st = (size_t)g->p->sw * g->IC;                                           \
    const size_t o0 = (size_t)ox0 * st, o1 = (size_t)(ox0 + (npx > 1 ? 1 : 0)) * st,      \
                 o2 = (size_t)(ox0 + (npx > 2 ? 2 : npx - 1)) * st,                       \
                 o3 = (size_t)(ox0 + (npx > 3 ? 3 : npx - 1)) * st

/* store a pixel's nr results (4 int32x4 or clamped), with a channel tail through a buffer */
static inline __attribute__((always_inline)) void rb_store16(const rb_run *r, char *dst,
                                                              int valid, int32x4_t v0,
                                                              int32x4_t v1, int32x4_t v2,
                                                              int32x4_t v3) {
    ep_store16_tail(r->rq ? &r->rqv : NULL, r->oes, dst, valid, v0, v1, v2, v3);
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


#if defined(__aarch64__) && !defined(EP_NO_ASM)
/* aarch64: the whole reduction of a 4 x 16 tile in one asm block. 16-bit by-element smlal can
 * only index v0-v15, and GCC 12 answered that with ~12 register moves per 128 smlal (and an
 * asm statement per step would need more than 30 operands). Accumulators: v16-v31 (pixel j:
 * v16+4j .. v19+4j, 16 channels); inputs widened into v0-v3; weights double-buffered in
 * v4/v5 and v6/v7 so the next step's load issues while the current one multiplies (the A53
 * issues in order). Per 8 reduction elements: 4 ldr + 4 sxtl + 8 ldp + 128 smlal + 2 loop =
 * 146 instructions for 512 MACs. */
#if defined(EP_MCA)
#define MCA_BEGIN "# LLVM-MCA-BEGIN conv-i8-4x16\n\t"
#define MCA_END "# LLVM-MCA-END conv-i8-4x16\n\t"
#else
#define MCA_BEGIN
#define MCA_END
#endif

/* acc[64] = bias + sum over the rows (rowp[ky] == NULL: padding, skipped) */
static void rb_i8_16_asm(const char *const *rowp, int kh, int krp, size_t o0, size_t o1,
                         size_t o2, size_t o3, const int16_t *w, const int32_t *bias,
                         int32_t *acc) {
    const size_t wskip = (size_t)krp * 16 * 2;
    const char *p0, *p1, *p2, *p3, *row;
    long kb;
    __asm__ volatile(
        "ld1 {v16.4s, v17.4s, v18.4s, v19.4s}, [%[bias]]\n\t"
        "mov v20.16b, v16.16b\n\t" "mov v21.16b, v17.16b\n\t"
        "mov v22.16b, v18.16b\n\t" "mov v23.16b, v19.16b\n\t"
        "mov v24.16b, v16.16b\n\t" "mov v25.16b, v17.16b\n\t"
        "mov v26.16b, v18.16b\n\t" "mov v27.16b, v19.16b\n\t"
        "mov v28.16b, v16.16b\n\t" "mov v29.16b, v17.16b\n\t"
        "mov v30.16b, v18.16b\n\t" "mov v31.16b, v19.16b\n\t"
        "1:\n\t"
        "ldr %[row], [%[rowp]], #8\n\t"
        "cbz %[row], 4f\n\t"
        "add %[p0], %[row], %[o0]\n\t" "add %[p1], %[row], %[o1]\n\t"
        "add %[p2], %[row], %[o2]\n\t" "add %[p3], %[row], %[o3]\n\t"
        "mov %[kb], %[krp]\n\t"
        "2:\n\t"
        MCA_BEGIN
        "ldr d0, [%[p0]], #8\n\t" "ldr d1, [%[p1]], #8\n\t"
        "ldr d2, [%[p2]], #8\n\t" "ldr d3, [%[p3]], #8\n\t"
        RB_LDA
        "sxtl v0.8h, v0.8b\n\t" "sxtl v1.8h, v1.8b\n\t"
        "sxtl v2.8h, v2.8b\n\t" "sxtl v3.8h, v3.8b\n\t"
        RB_LDB
        RB_STEP(4, 5, 0) RB_LDA RB_STEP(6, 7, 1) RB_LDB
        RB_STEP(4, 5, 2) RB_LDA RB_STEP(6, 7, 3) RB_LDB
        RB_STEP(4, 5, 4) RB_LDA RB_STEP(6, 7, 5) RB_LDB
        RB_STEP(4, 5, 6) RB_STEP(6, 7, 7)
        "subs %[kb], %[kb], #8\n\t"
        MCA_END
        "b.ne 2b\n\t"
        "b 5f\n\t"
        "4:\n\t"
        "add %[w], %[w], %[wskip]\n\t"
        "5:\n\t"
        "subs %w[kh], %w[kh], #1\n\t"
        "b.ne 1b\n\t"
        "st1 {v16.4s, v17.4s, v18.4s, v19.4s}, [%[acc]], #64\n\t"
        "st1 {v20.4s, v21.4s, v22.4s, v23.4s}, [%[acc]], #64\n\t"
        "st1 {v24.4s, v25.4s, v26.4s, v27.4s}, [%[acc]], #64\n\t"
        "st1 {v28.4s, v29.4s, v30.4s, v31.4s}, [%[acc]]\n\t"
        : [rowp] "+r"(rowp), [kh] "+r"(kh), [w] "+r"(w), [acc] "+r"(acc), [row] "=&r"(row),
          [p0] "=&r"(p0), [p1] "=&r"(p1), [p2] "=&r"(p2), [p3] "=&r"(p3), [kb] "=&r"(kb)
        : [o0] "r"(o0), [o1] "r"(o1), [o2] "r"(o2), [o3] "r"(o3), [krp] "r"((long)krp),
          [wskip] "r"(wskip), [bias] "r"(bias)
        : "cc", "memory", "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v16", "v17", "v18",
          "v19", "v20", "v21", "v22", "v23", "v24", "v25", "v26", "v27", "v28", "v29", "v30",
          "v31");
}
#endif

/* int8: 4 pixels x 16 channels, 16 int32x4 accumulators */
static void tile_i8_16(const rb_run *r, const char *const *rowp, int ox0, int npx, int b,
                       char *orow) {
    const rb_geom *g = &r->g;
    const int32_t *bias = (const int32_t *)r->bias + 16 * b;
    RB_OFFSETS;
    const int16_t *wb = r->w + rb_block_off(g, b);
#if defined(__aarch64__) && !defined(EP_NO_ASM)
    int32_t acc[64] __attribute__((aligned(16)));
    rb_i8_16_asm(rowp, g->KH, g->Krp, o0, o1, o2, o3, wb, bias, acc);
    int32x4_t a00 = vld1q_s32(acc), a01 = vld1q_s32(acc + 4), a02 = vld1q_s32(acc + 8),
              a03 = vld1q_s32(acc + 12), a10 = vld1q_s32(acc + 16), a11 = vld1q_s32(acc + 20),
              a12 = vld1q_s32(acc + 24), a13 = vld1q_s32(acc + 28), a20 = vld1q_s32(acc + 32),
              a21 = vld1q_s32(acc + 36), a22 = vld1q_s32(acc + 40), a23 = vld1q_s32(acc + 44),
              a30 = vld1q_s32(acc + 48), a31 = vld1q_s32(acc + 52), a32 = vld1q_s32(acc + 56),
              a33 = vld1q_s32(acc + 60);
#else
    int32x4_t a00 = vld1q_s32(bias), a01 = vld1q_s32(bias + 4), a02 = vld1q_s32(bias + 8),
              a03 = vld1q_s32(bias + 12);
    int32x4_t a10 = a00, a11 = a01, a12 = a02, a13 = a03, a20 = a00, a21 = a01, a22 = a02,
              a23 = a03, a30 = a00, a31 = a01, a32 = a02, a33 = a03;
    for (int ky = 0; ky < g->KH; ky++) {
        const int8_t *row = (const int8_t *)rowp[ky];
        if (!row) continue;
        const int16_t *w = wb + (size_t)ky * g->Krp * 16;
        const int8_t *p0 = row + o0, *p1 = row + o1, *p2 = row + o2, *p3 = row + o3;
        for (int kb = 0; kb < g->Krp; kb += 8) {
            const int16x8_t x0 = vmovl_s8(vld1_s8(p0 + kb)), x1 = vmovl_s8(vld1_s8(p1 + kb)),
                            x2 = vmovl_s8(vld1_s8(p2 + kb)), x3 = vmovl_s8(vld1_s8(p3 + kb));
            MAC16(0); MAC16(1); MAC16(2); MAC16(3); MAC16(4); MAC16(5); MAC16(6); MAC16(7);
        }
    }
#endif
    const int oc0 = 16 * b, valid = ep_imin(16, g->OC - oc0);
    char *d = orow + ((size_t)ox0 * g->OC + oc0) * r->oes;
    const size_t ps = (size_t)g->OC * r->oes;
    rb_store16(r, d, valid, a00, a01, a02, a03);
    if (npx > 1) rb_store16(r, d + ps, valid, a10, a11, a12, a13);
    if (npx > 2) rb_store16(r, d + 2 * ps, valid, a20, a21, a22, a23);
    if (npx > 3) rb_store16(r, d + 3 * ps, valid, a30, a31, a32, a33);
}

#if defined(__aarch64__) && !defined(EP_NO_ASM)
/* The dot-product tile's reduction in one asm block (GCC 12 hoisted all 16 smull ahead of the
 * sadalps and spilled accumulators to the stack). Accumulators v16-v31 ((pixel j, channel c)
 * at v16 + 4j + c), inputs v0-v3, weights v4-v7, int16 pair sums v8-v15 in two groups of 8
 * so each sadalp waits on a smlal2 issued 8 instructions earlier. Per 16 reduction elements:
 * 4 ldr + 2 ldp + 16 x (smull, smlal2, sadalp) + 2 loop = 56 instructions, 256 MACs. */
#define DT_M(t, c, j) "smull v" #t ".8h, v" #c ".8b, v" #j ".8b\n\t"
#define DT_A(t, c, j) "smlal2 v" #t ".8h, v" #c ".16b, v" #j ".16b\n\t"
#define DT_S(a, t) "sadalp v" #a ".4s, v" #t ".8h\n\t"
/* 8 (pixel, channel) pairs: channels c0, c1 (registers 4 + c) x pixels 0-3 */
#define DT_GROUP(c0, c1, a0, a1)                                                            \
    DT_M(8, c0, 0) DT_M(9, c0, 1) DT_M(10, c0, 2) DT_M(11, c0, 3)                           \
    DT_M(12, c1, 0) DT_M(13, c1, 1) DT_M(14, c1, 2) DT_M(15, c1, 3)                         \
    DT_A(8, c0, 0) DT_A(9, c0, 1) DT_A(10, c0, 2) DT_A(11, c0, 3)                           \
    DT_A(12, c1, 0) DT_A(13, c1, 1) DT_A(14, c1, 2) DT_A(15, c1, 3)
#define DT_SUMS(a0, a1, a2, a3, b0, b1, b2, b3)                                             \
    DT_S(a0, 8) DT_S(a1, 9) DT_S(a2, 10) DT_S(a3, 11)                                       \
    DT_S(b0, 12) DT_S(b1, 13) DT_S(b2, 14) DT_S(b3, 15)

/* acc[16] (pixel j's 4 channels at acc + 4j) = bias + the reduction: the pairwise (addp)
 * reduction of the 16 accumulators and the bias run in the asm block too */
static void rb_dot_asm(const char *const *rowp, int kh, int krp, size_t o0, size_t o1,
                       size_t o2, size_t o3, const int8_t *w, const int32_t *bias,
                       int32_t *acc) {
    const size_t wskip = (size_t)krp * 4;
    const char *p0, *p1, *p2, *p3, *row;
    long kb;
    __asm__ volatile(
        "movi v16.4s, #0\n\t" "movi v17.4s, #0\n\t" "movi v18.4s, #0\n\t" "movi v19.4s, #0\n\t"
        "movi v20.4s, #0\n\t" "movi v21.4s, #0\n\t" "movi v22.4s, #0\n\t" "movi v23.4s, #0\n\t"
        "movi v24.4s, #0\n\t" "movi v25.4s, #0\n\t" "movi v26.4s, #0\n\t" "movi v27.4s, #0\n\t"
        "movi v28.4s, #0\n\t" "movi v29.4s, #0\n\t" "movi v30.4s, #0\n\t" "movi v31.4s, #0\n\t"
        "1:\n\t"
        "ldr %[row], [%[rowp]], #8\n\t"
        "cbz %[row], 4f\n\t"
        "add %[p0], %[row], %[o0]\n\t" "add %[p1], %[row], %[o1]\n\t"
        "add %[p2], %[row], %[o2]\n\t" "add %[p3], %[row], %[o3]\n\t"
        "mov %[kb], %[krp]\n\t"
        "2:\n\t"
        "ldr q0, [%[p0]], #16\n\t" "ldr q1, [%[p1]], #16\n\t"
        "ldp q4, q5, [%[w]], #32\n\t"
        "ldr q2, [%[p2]], #16\n\t" "ldr q3, [%[p3]], #16\n\t"
        "ldp q6, q7, [%[w]], #32\n\t"
        DT_GROUP(4, 5, 16, 17)
        DT_SUMS(16, 20, 24, 28, 17, 21, 25, 29)
        DT_GROUP(6, 7, 18, 19)
        DT_SUMS(18, 22, 26, 30, 19, 23, 27, 31)
        "subs %[kb], %[kb], #16\n\t"
        "b.ne 2b\n\t"
        "b 5f\n\t"
        "4:\n\t"
        "add %[w], %[w], %[wskip]\n\t"
        "5:\n\t"
        "subs %w[kh], %w[kh], #1\n\t"
        "b.ne 1b\n\t"
        "addp v16.4s, v16.4s, v17.4s\n\t" "addp v18.4s, v18.4s, v19.4s\n\t"
        "addp v20.4s, v20.4s, v21.4s\n\t" "addp v22.4s, v22.4s, v23.4s\n\t"
        "addp v24.4s, v24.4s, v25.4s\n\t" "addp v26.4s, v26.4s, v27.4s\n\t"
        "addp v28.4s, v28.4s, v29.4s\n\t" "addp v30.4s, v30.4s, v31.4s\n\t"
        "ldr q0, [%[bias]]\n\t"
        "addp v16.4s, v16.4s, v18.4s\n\t" "addp v20.4s, v20.4s, v22.4s\n\t"
        "addp v24.4s, v24.4s, v26.4s\n\t" "addp v28.4s, v28.4s, v30.4s\n\t"
        "add v16.4s, v16.4s, v0.4s\n\t" "add v20.4s, v20.4s, v0.4s\n\t"
        "add v24.4s, v24.4s, v0.4s\n\t" "add v28.4s, v28.4s, v0.4s\n\t"
        "stp q16, q20, [%[acc]]\n\t" "stp q24, q28, [%[acc], #32]\n\t"
        : [rowp] "+r"(rowp), [kh] "+r"(kh), [w] "+r"(w), [row] "=&r"(row),
          [p0] "=&r"(p0), [p1] "=&r"(p1), [p2] "=&r"(p2), [p3] "=&r"(p3), [kb] "=&r"(kb)
        : [o0] "r"(o0), [o1] "r"(o1), [o2] "r"(o2), [o3] "r"(o3), [krp] "r"((long)krp),
          [wskip] "r"(wskip), [bias] "r"(bias), [acc] "r"(acc)
        : "cc", "memory", "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10",
          "v11", "v12", "v13", "v14", "v15", "v16", "v17", "v18", "v19", "v20", "v21", "v22",
          "v23", "v24", "v25", "v26", "v27", "v28", "v29", "v30", "v31");
}
#endif

/* int8, narrow weights: 4 pixels x 4 channels, one int32x4 per (pixel, channel) summing
 * pairs of int16 products (smull of the low halves + smlal2 of the high halves: |2 x w| <=
 * 2 * 128 * 127 fits int16) by sadalp; 16 inputs per load, weights [4 oc][16] per step. */
#define DOT(j, c)                                                                          \
    a##j##c = vpadalq_s16(a##j##c, vmlal_high_s8(vmull_s8(vget_low_s8(w##c),               \
                                                          vget_low_s8(x##j)), w##c, x##j))
static void tile_i8_dot(const rb_run *r, const char *const *rowp, int ox0, int npx, int b,
                        char *orow) {
    const rb_geom *g = &r->g;
    RB_OFFSETS;
    const int8_t *wb = (const int8_t *)r->w + rb_block_off(g, b);
#if defined(__aarch64__) && !defined(EP_NO_ASM)
    int32_t acc[16] __attribute__((aligned(16)));
    rb_dot_asm(rowp, g->KH, g->Krp, o0, o1, o2, o3, wb, (const int32_t *)r->bias + 4 * b, acc);
    const int32x4_t v0 = vld1q_s32(acc), v1 = vld1q_s32(acc + 4), v2 = vld1q_s32(acc + 8),
                    v3 = vld1q_s32(acc + 12);
#else
    int32x4_t a00 = vdupq_n_s32(0), a01 = a00, a02 = a00, a03 = a00, a10 = a00, a11 = a00,
              a12 = a00, a13 = a00, a20 = a00, a21 = a00, a22 = a00, a23 = a00, a30 = a00,
              a31 = a00, a32 = a00, a33 = a00;
    for (int ky = 0; ky < g->KH; ky++) {
        const int8_t *row = (const int8_t *)rowp[ky];
        if (!row) continue;
        const int8_t *w = wb + (size_t)ky * g->Krp * 4;
        const int8_t *p0 = row + o0, *p1 = row + o1, *p2 = row + o2, *p3 = row + o3;
        for (int kb = 0; kb < g->Krp; kb += 16, w += 64) {
#if defined(EP_MCA)
            __asm__ volatile("# LLVM-MCA-BEGIN conv-i8-dot-4x4");
#endif
            const int8x16_t x0 = vld1q_s8(p0 + kb), x1 = vld1q_s8(p1 + kb),
                            x2 = vld1q_s8(p2 + kb), x3 = vld1q_s8(p3 + kb);
            const int8x16_t w0 = vld1q_s8(w), w1 = vld1q_s8(w + 16), w2 = vld1q_s8(w + 32),
                            w3 = vld1q_s8(w + 48);
            DOT(0, 0); DOT(1, 0); DOT(2, 0); DOT(3, 0);
            DOT(0, 1); DOT(1, 1); DOT(2, 1); DOT(3, 1);
            DOT(0, 2); DOT(1, 2); DOT(2, 2); DOT(3, 2);
            DOT(0, 3); DOT(1, 3); DOT(2, 3); DOT(3, 3);
#if defined(EP_MCA)
            __asm__ volatile("# LLVM-MCA-END conv-i8-dot-4x4");
#endif
        }
    }
    const int32x4_t bias = vld1q_s32((const int32_t *)r->bias + 4 * b);
    const int32x4_t v0 = vaddq_s32(vpaddq_s32(vpaddq_s32(a00, a01), vpaddq_s32(a02, a03)), bias);
    const int32x4_t v1 = vaddq_s32(vpaddq_s32(vpaddq_s32(a10, a11), vpaddq_s32(a12, a13)), bias);
    const int32x4_t v2 = vaddq_s32(vpaddq_s32(vpaddq_s32(a20, a21), vpaddq_s32(a22, a23)), bias);
    const int32x4_t v3 = vaddq_s32(vpaddq_s32(vpaddq_s32(a30, a31), vpaddq_s32(a32, a33)), bias);
#endif
    const int oc0 = 4 * b, valid = ep_imin(4, g->OC - oc0);
    char *d = orow + ((size_t)ox0 * g->OC + oc0) * r->oes;
    const size_t ps = (size_t)g->OC * r->oes;
    int32_t tmp[16];
    if (r->rq) ep_rqv_store16(&r->rqv, tmp, v0, v1, v2, v3);
    else store16(tmp, 0, EP_I32, v0, v1, v2, v3);
    const char *t = (const char *)tmp;
    if (valid == 4 && r->oes == 1) {         /* the common int8 case: one 4-byte store each */
        for (int j = 0; j < npx; j++) memcpy(d + j * ps, t + 4 * j, 4);
    } else {
        for (int j = 0; j < npx; j++) memcpy(d + j * ps, t + 4 * j * r->oes, (size_t)valid * r->oes);
    }
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
            if (g->dot) tile_i8_dot(r, rowp, ox, npx, b, orow);
            else if (g->t == EP_I16) tile_i16_8(r, rowp, ox, npx, b, orow);
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

/* A 1x1, stride-1, unpadded layer is one long row: (H, W, C) as (1, H * W, C) gives the
 * 4-pixel tiles no per-row remainder (14x14: 49 full tiles instead of 14 x 4 with 2 of 16
 * pixels wasted per row); only taken when the channel blocks alone still feed every thread. */
static int rb_flat(const ep_conv_params *p, ep_dtype t, ep_conv_params *flat) {
    rb_geom g;
    if (p->kh != 1 || p->kw != 1 || p->sh != 1 || p->sw != 1 || p->pt || p->pl || p->pb ||
        p->pr || p->h < 2 || p->w % 4 == 0 || rb_geom_of(p, t, &g))
        return 0;
    if (g.nob < 4 * (p->threads > 1 ? p->threads : 1)) return 0;
    *flat = *p;
    flat->w = p->h * p->w;
    flat->h = 1;
    return 1;
}

int ep__rb_conv(const ep_conv_params *p, ep_dtype t, const void *x, const void *packed,
                const void *bias, const ep_requant *rq, void *out, void *scratch) {
    rb_run r;
    rb_geom g;
    ep_conv_params flat;
    if (p && rb_flat(p, t, &flat)) p = &flat;
    int rc = rb_geom_of(p, t, &g);
    if (rc) return rc;
    const int items = g.OH * g.nob, nth = ep_threads_for(p->threads, items);
    if ((rc = rb_setup(&r, p, t, x, packed, bias, rq, out, scratch, nth))) return rc;
    ep_parallel(nth, items, rb_task, &r);
    return EP_OK;
}

/* ------------------------------------------------------------------ fused conv -> max pool */

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
double ep__wino_cost(const ep_conv_params *p, ep_dtype t);   /* conv_wino.c */
double ep__dw_cost(const ep_conv_params *p, ep_dtype t);     /* conv_dw.c */

/* Estimated aarch64 instructions per call (constants fitted to qemu counts of the
 * -O2 -mcpu=cortex-a53 build; benchmarks/neon_xnnpack.py prints estimate vs measured). */
double ep_conv_cost(const ep_conv_params *p, ep_dtype t, int algo) {
    if (!p || p->h < 1 || p->w < 1 || p->kh < 1 || p->kw < 1 || p->sh < 1 || p->sw < 1)
        return -1.0;
    const int OH = ep_pool_output_size(p->h, p->kh, p->sh, p->pt, p->pb, p->dh, 0);
    const int OW = ep_pool_output_size(p->w, p->kw, p->sw, p->pl, p->pr, p->dw, 0);
    if (OH < 1 || OW < 1 || p->ic < 1 || p->oc < 1) return -1.0;
    const double tiles_x = (OW + 3) / 4, taps = (double)p->kh * p->kw;
    if (algo == EP_ALGO_WINO) return ep__wino_cost(p, t);
    if (algo == EP_ALGO_DW) return ep__dw_cost(p, t);
    ep_conv_params flat;
    if (algo == EP_ALGO_RB && rb_flat(p, t, &flat)) return ep_conv_cost(&flat, t, algo);
    if (algo == EP_ALGO_RB) {
        rb_geom g;
        if (rb_geom_of(p, t, &g)) return -1.0;
        double per_tile_ky = 0, per_tile = 0;
        double blocks16 = 0, blocks8 = 0;
        for (int b = 0; b < g.nob; b++) {
            if (rb_width(&g, b) == 16 && t == EP_I8) blocks16 += 1;
            else blocks8 += 1;
        }
        if (g.dot) {
            /* per 16 reduction elements: 8 loads + 16 x (smull, smlal2, sadalp) */
            per_tile_ky = g.nob * (g.Krp / 16.0 * 58 + 12);
            per_tile = g.nob * 75;
        } else if (t == EP_I8) {
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
    if (p->groups > 1 && p->groups == p->ic && p->ic == p->oc) {
        /* legacy depthwise (dw_mac per output pixel and tap: 8 channels per vector step, a
         * scalar channel tail; the accumulator row loaded and stored around every tap), fitted
         * to qemu counts */
        const double C = p->ic, per_tap = 18 + (p->ic / 8) * 10.0 + (p->ic % 8) * 7.0;
        return (double)OH * OW * (taps * per_tap + C * 14 + 60) + 400;
    }
    /* legacy sliding window, per (output pixel, tap, 8-channel block): ~40 instructions of
     * accumulator loads / stores and set-up, plus per input pair a weight load, the pair's
     * load + dup and two smull + two sadalp (int16: four), fitted to qemu counts */
    const double pairs = (p->ic / p->groups + 1) / 2, ocb = (p->oc / p->groups + 7) / 8;
    const double ocb_all = p->groups * ocb, per_pair = t == EP_I16 ? 24 : 19;
    return (double)OH * OW * taps * ocb_all * (40 + pairs * per_pair) + (double)OH * OW * p->oc * 6 +
           400;
}
