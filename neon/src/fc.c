// SPDX-License-Identifier: Apache-2.0
/* Fully connected layer, batch 1: y = W x + b, W (m, n) row-major. Four output rows share every
 * input load; widening MAC: smull/smull2 (vmull_s8 / vmull_high_s8) + sadalp (vpadalq_s16) into
 * int32 for int8, smull + sadalp into int64 for int16, fmla for float. */
#include "ep_internal.h"
#include "rq_vec.h"

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

/* --------------------------------------------------------------------------- packed GEMV */
/* Products one int16 lane may sum without overflow, counted in 16-input blocks (each adds two
 * products per lane: smull of the low halves, smlal2 of the high halves); 0: int32 lanes. */
static int fc_chunk(const ep_fc_params *p) {
    const int bits = p->wbits ? p->wbits : 8;
    const int32_t maxw = bits == 8 && p->narrow ? 127 : 1 << (bits - 1);
    return 32767 / (2 * 128 * maxw);
}

static int fc_check(const ep_fc_params *p) {
    if (!p || p->n < 1 || p->m < 1 || p->wbits < 0 || p->wbits > 8) return EP_EINVAL;
    return EP_OK;
}

size_t ep_fc_packed_bytes(const ep_fc_params *p) {
    if (fc_check(p)) return 0;
    return (size_t)((p->m + 3) / 4) * ((p->n + 15) / 16) * 64;
}

int ep_fc_pack(const ep_fc_params *p, const int8_t *w, int8_t *packed) {
    int rc = fc_check(p);
    if (rc) return rc;
    if (!w || !packed) return EP_EINVAL;
    const int bits = p->wbits ? p->wbits : 8;
    const int wmin = bits == 8 && p->narrow ? -127 : -(1 << (bits - 1)), wmax = (1 << (bits - 1)) - 1;
    const int nkb = (p->n + 15) / 16;
    memset(packed, 0, ep_fc_packed_bytes(p));
    for (int r = 0; r < p->m; r++)
        for (int k = 0; k < p->n; k++) {
            const int8_t v = w[(size_t)r * p->n + k];
            if (v < wmin || v > wmax) return EP_ERANGE;
            packed[(((size_t)(r / 4) * nkb + k / 16) * 4 + r % 4) * 16 + k % 16] = v;
        }
    return EP_OK;
}

typedef struct {
    const ep_fc_params *p;
    const int8_t *x, *w;
    const int32_t *bias;
    const ep_requant *rq;
    void *out;
    int chunk;
} fc_run;

/* one 16-input block of 4 rows: pair sums of products in int16 (chained onto s) */
#define FC_PAIR1(w, xv, xl) vmlal_high_s8(vmull_s8(vget_low_s8(w), xl), w, xv)
#define FC_PAIR(s, w, xv, xl) vmlal_high_s8(vmlal_s8(s, vget_low_s8(w), xl), w, xv)

/* the 4 rows' 16 weights of block kb and the input block (x, or the zero-padded tail) */
#define FC_LOAD(xp)                                                                        \
    const int8x16_t xv = vld1q_s8(xp);                                                     \
    const int8x8_t xl = vget_low_s8(xv);                                                   \
    const int8x16_t w0 = vld1q_s8(w), w1 = vld1q_s8(w + 16), w2 = vld1q_s8(w + 32),        \
                    w3 = vld1q_s8(w + 48)

/* the 4 row sums of one row block at once (pairwise adds), bias, requantize in one vector */
static inline void fc_store4(const fc_run *f, const ep_rqv *rqv, size_t oes, int rb,
                             int32x4_t a0, int32x4_t a1, int32x4_t a2, int32x4_t a3) {
    int32x4_t sum = vpaddq_s32(vpaddq_s32(a0, a1), vpaddq_s32(a2, a3));
    const int nr = ep_imin(4, f->p->m - rb * 4);
    if (f->bias) {
        int32_t bb[4] = {0, 0, 0, 0};
        memcpy(bb, f->bias + (size_t)rb * 4, (size_t)nr * 4);
        sum = vaddq_s32(sum, vld1q_s32(bb));
    }
    int32_t t[16];
    if (f->rq) ep_rqv_store16(rqv, t, sum, sum, sum, sum);
    else vst1q_s32(t, sum);
    memcpy((char *)f->out + (size_t)rb * 4 * oes, t, (size_t)nr * oes);
}

#if defined(__aarch64__) && !defined(EP_NO_ASM)
/* Narrow 8-bit weights (two products per int16 lane), 12 rows = 3 row blocks at once: acc[48]
 * (row block j's 4 int32x4 at acc + 16 j) += nkb 16-input blocks of x against the blocks at
 * w0, w0 + bs, w0 + 2 bs. Per 16 inputs: 1 ldr + 6 ldp + 12 x (smull, smlal2, sadalp) + 2
 * loop = 45 instructions for 192 MACs (4 rows: 17 for 64); accumulators v16-v27, x v0,
 * weights v4-v11 (the third block's reloaded into v4-v7), int16 pair sums v1-v3, v12-v15,
 * v28-v31. */
#define F_M(t, w) "smull v" #t ".8h, v" #w ".8b, v0.8b\n\t"
#define F_A(t, w) "smlal2 v" #t ".8h, v" #w ".16b, v0.16b\n\t"
#define F_S(a, t) "sadalp v" #a ".4s, v" #t ".8h\n\t"
#define F_MUL4(t0, t1, t2, t3, w0, w1, w2, w3)                                              \
    F_M(t0, w0) F_M(t1, w1) F_M(t2, w2) F_M(t3, w3) F_A(t0, w0) F_A(t1, w1) F_A(t2, w2)      \
    F_A(t3, w3)
#define F_SUM4(a0, a1, a2, a3, t0, t1, t2, t3) F_S(a0, t0) F_S(a1, t1) F_S(a2, t2) F_S(a3, t3)
static void fc12_asm(const int8_t *x, long nkb, const int8_t *w0, size_t bs, int32_t *acc) {
    const int8_t *w1 = w0 + bs, *w2 = w1 + bs;
    int32_t *a = acc;
    __asm__ volatile(
        "ld1 {v16.4s, v17.4s, v18.4s, v19.4s}, [%[a]], #64\n\t"
        "ld1 {v20.4s, v21.4s, v22.4s, v23.4s}, [%[a]], #64\n\t"
        "ld1 {v24.4s, v25.4s, v26.4s, v27.4s}, [%[a]]\n\t"
        "1:\n\t"
        "ldr q0, [%[x]], #16\n\t"
        "ldp q4, q5, [%[w0]], #32\n\t" "ldp q6, q7, [%[w0]], #32\n\t"
        "ldp q8, q9, [%[w1]], #32\n\t" "ldp q10, q11, [%[w1]], #32\n\t"
        F_MUL4(1, 2, 3, 12, 4, 5, 6, 7)
        F_MUL4(13, 14, 15, 28, 8, 9, 10, 11)
        "ldp q4, q5, [%[w2]], #32\n\t" "ldp q6, q7, [%[w2]], #32\n\t"
        F_SUM4(16, 17, 18, 19, 1, 2, 3, 12)
        F_MUL4(29, 30, 31, 1, 4, 5, 6, 7)
        F_SUM4(20, 21, 22, 23, 13, 14, 15, 28)
        F_SUM4(24, 25, 26, 27, 29, 30, 31, 1)
        "subs %[n], %[n], #1\n\t"
        "b.ne 1b\n\t"
        "st1 {v16.4s, v17.4s, v18.4s, v19.4s}, [%[acc]], #64\n\t"
        "st1 {v20.4s, v21.4s, v22.4s, v23.4s}, [%[acc]], #64\n\t"
        "st1 {v24.4s, v25.4s, v26.4s, v27.4s}, [%[acc]]\n\t"
        : [x] "+r"(x), [n] "+r"(nkb), [w0] "+r"(w0), [w1] "+r"(w1), [w2] "+r"(w2),
          [a] "+r"(a), [acc] "+r"(acc)
        :
        : "cc", "memory", "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10",
          "v11", "v12", "v13", "v14", "v15", "v16", "v17", "v18", "v19", "v20", "v21", "v22",
          "v23", "v24", "v25", "v26", "v27", "v28", "v29", "v30", "v31");
}

/* row blocks rb .. rb + 2 through fc12_asm (full blocks from x, the tail from xt) */
static void fc_task12(const fc_run *f, const ep_rqv *rqv, size_t oes, int rb, const int8_t *xt) {
    const int n = f->p->n, nkb = (n + 15) / 16, nfull = n / 16;
    const size_t bs = (size_t)nkb * 64;
    const int8_t *w = f->w + (size_t)rb * bs;
    int32_t acc[48] __attribute__((aligned(16))) = {0};
    if (nfull) fc12_asm(f->x, nfull, w, bs, acc);
    if (nfull < nkb) fc12_asm(xt, 1, w + (size_t)nfull * 64, bs, acc);
    int32x4_t sum[3];
    for (int j = 0; j < 3; j++)
        sum[j] = vpaddq_s32(vpaddq_s32(vld1q_s32(acc + 16 * j), vld1q_s32(acc + 16 * j + 4)),
                            vpaddq_s32(vld1q_s32(acc + 16 * j + 8),
                                       vld1q_s32(acc + 16 * j + 12)));
    const int nr = ep_imin(12, f->p->m - rb * 4);
    if (f->bias) {
        int32_t bb[12] = {0};
        const int32_t *bp = f->bias + (size_t)rb * 4;
        if (nr < 12) {
            memcpy(bb, bp, (size_t)nr * 4);
            bp = bb;
        }
        for (int j = 0; j < 3; j++) sum[j] = vaddq_s32(sum[j], vld1q_s32(bp + 4 * j));
    }
    char *dst = (char *)f->out + (size_t)rb * 4 * oes;
    int32_t t[16];
    if (f->rq) ep_rqv_store16(rqv, t, sum[0], sum[1], sum[2], sum[2]);
    else store16(t, 0, EP_I32, sum[0], sum[1], sum[2], sum[2]);
    if (nr == 12 && oes == 1) memcpy(dst, t, 12);        /* the common case, inlined */
    else memcpy(dst, t, (size_t)nr * oes);
}
#endif

static void fc_task(void *ctx, int tid, int lo, int hi) {
    (void)tid;
    const fc_run *f = (const fc_run *)ctx;
    const int n = f->p->n, nkb = (n + 15) / 16, chunk = f->chunk;
    const int nfull = n / 16;                /* blocks read straight from x */
    int8_t xt[16] = {0};
    if (nfull < nkb) memcpy(xt, f->x + 16 * nfull, (size_t)(n - 16 * nfull));
    ep_rqv rqv;
    memset(&rqv, 0, sizeof rqv);
    if (f->rq) ep_rqv_init(&rqv, f->rq, 32);
    const size_t oes = f->rq ? ep_dtype_size((ep_dtype)f->rq->out) : 4;
#if defined(__aarch64__) && !defined(EP_NO_ASM)
    if (chunk == 1)
        for (; lo + 3 <= hi; lo += 3) fc_task12(f, &rqv, oes, lo, xt);
#endif
    for (int rb = lo; rb < hi; rb++) {
        const int8_t *w = f->w + (size_t)rb * nkb * 64;
        int32x4_t a0 = vdupq_n_s32(0), a1 = a0, a2 = a0, a3 = a0;
        if (chunk == 0) {                    /* int32 lanes: sadalp after every smull */
#define FC_B32(xp)                                                                         \
    do {                                                                                   \
        FC_LOAD(xp);                                                                       \
        a0 = vpadalq_s16(a0, vmull_s8(vget_low_s8(w0), xl));                               \
        a1 = vpadalq_s16(a1, vmull_s8(vget_low_s8(w1), xl));                               \
        a2 = vpadalq_s16(a2, vmull_s8(vget_low_s8(w2), xl));                               \
        a3 = vpadalq_s16(a3, vmull_s8(vget_low_s8(w3), xl));                               \
        a0 = vpadalq_s16(a0, vmull_high_s8(w0, xv));                                       \
        a1 = vpadalq_s16(a1, vmull_high_s8(w1, xv));                                       \
        a2 = vpadalq_s16(a2, vmull_high_s8(w2, xv));                                       \
        a3 = vpadalq_s16(a3, vmull_high_s8(w3, xv));                                       \
        w += 64;                                                                           \
    } while (0)
            const int8_t *xp = f->x;
            for (int kb = 0; kb < nfull; kb++, xp += 16) FC_B32(xp);
            if (nfull < nkb) FC_B32(xt);
        } else if (chunk == 1) {             /* two products per int16 lane, then sadalp */
#define FC_B16(xp)                                                                         \
    do {                                                                                   \
        FC_LOAD(xp);                                                                       \
        a0 = vpadalq_s16(a0, FC_PAIR1(w0, xv, xl));                                        \
        a1 = vpadalq_s16(a1, FC_PAIR1(w1, xv, xl));                                        \
        a2 = vpadalq_s16(a2, FC_PAIR1(w2, xv, xl));                                        \
        a3 = vpadalq_s16(a3, FC_PAIR1(w3, xv, xl));                                        \
        w += 64;                                                                           \
    } while (0)
            const int8_t *xp = f->x;
            for (int kb = 0; kb < nfull; kb++, xp += 16) FC_B16(xp);
            if (nfull < nkb) FC_B16(xt);
        } else {                             /* int16 lanes for `chunk` blocks, then sadalp */
            for (int kb0 = 0; kb0 < nkb; kb0 += chunk) {
                const int kb1 = ep_imin(nkb, kb0 + chunk);
                int16x8_t s0 = vdupq_n_s16(0), s1 = s0, s2 = s0, s3 = s0;
#define FC_BC(xp)                                                                          \
    do {                                                                                   \
        FC_LOAD(xp);                                                                       \
        s0 = FC_PAIR(s0, w0, xv, xl);                                                      \
        s1 = FC_PAIR(s1, w1, xv, xl);                                                      \
        s2 = FC_PAIR(s2, w2, xv, xl);                                                      \
        s3 = FC_PAIR(s3, w3, xv, xl);                                                      \
        w += 64;                                                                           \
    } while (0)
                const int8_t *xp = f->x + 16 * kb0;
                const int kbf = ep_imin(kb1, nfull);
                for (int kb = kb0; kb < kbf; kb++, xp += 16) FC_BC(xp);
                if (kb1 > nfull) FC_BC(xt);
                a0 = vpadalq_s16(a0, s0);
                a1 = vpadalq_s16(a1, s1);
                a2 = vpadalq_s16(a2, s2);
                a3 = vpadalq_s16(a3, s3);
            }
        }
        fc_store4(f, &rqv, oes, rb, a0, a1, a2, a3);
    }
}

int ep_fc_packed(const ep_fc_params *p, const int8_t *x, const int8_t *packed,
                 const int32_t *bias, const ep_requant *rq, void *out) {
    int rc = fc_check(p);
    if (rc) return rc;
    if (!x || !packed || !out) return EP_EINVAL;
    if (rq && (rc = ep_rq_check(rq))) return rc;
    /* accumulator bound: n * 128 * max|w| + max|bias| must fit int32 */
    const int bits = p->wbits ? p->wbits : 8;
    const uint64_t prod = (uint64_t)p->n * 128u * (1u << (bits - 1));
    uint64_t maxb = 0;
    for (int i = 0; bias && i < p->m; i++) {
        const uint64_t a = bias[i] < 0 ? (uint64_t)0 - (uint64_t)(int64_t)bias[i] : (uint64_t)bias[i];
        if (a > maxb) maxb = a;
    }
    if (prod > (uint64_t)INT32_MAX || maxb > (uint64_t)INT32_MAX - prod) return EP_ERANGE;
    fc_run f = {p, x, packed, bias, rq, out, fc_chunk(p)};
    const int nrb = (p->m + 3) / 4;
    ep_parallel(ep_threads_for(p->threads, nrb), nrb, fc_task, &f);
    return EP_OK;
}
