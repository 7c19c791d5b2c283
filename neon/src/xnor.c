// SPDX-License-Identifier: Apache-2.0
/* XNOR-popcount fully connected layer for bipolar (±1) weights, batch 1: y = W x + b.
 *
 * Weights are packed at build time (ep_xnor_pack, or the identical Python packer
 * edgepool.neon.bridge.pack_xnor): one bit per weight, 1 for +1, little-endian within a byte
 * (bit j of byte k = weight 8k + j), each row zero-padded to EP_XNOR_ROW_BYTES(n) bytes (a
 * multiple of 16: one q-register per 128 weights). The input is int8 codes, packed at run time
 * with vector compares into a "positive" bit plane p (and a "negative" plane q).
 *
 * With every input ±1 (what a bipolar activation makes) the dot product of a row with bits b is
 *     n − 2 · popcount(p XOR b)           (eor + cnt + uadalp: no multiply)
 * padding bits are 0 in both operands and never counted. Inputs with zeros (ternary codes) use
 * the two planes exactly: 2·(pc(p∧b) − pc(q∧b)) − (pc(p) − pc(q)); any input outside [−1, 1]
 * takes a scalar loop over the bits. The result equals ep_fc on the ±1 weights for every int8
 * input (tested, SIMDe on x86 and aarch64 under qemu). */
#include "ep_internal.h"

#define EP_XNOR_ROW_BYTES(n) ((size_t)(((n) + 127) / 128) * 16)

size_t ep_xnor_row_bytes(int n) { return n < 1 ? 0 : EP_XNOR_ROW_BYTES(n); }

int ep_xnor_pack(int n, int m, const int8_t *w, uint8_t *bits) {
    if (n < 1 || m < 1 || !w || !bits) return EP_EINVAL;
    const size_t rb = EP_XNOR_ROW_BYTES(n);
    for (int r = 0; r < m; r++) {
        uint8_t *row = bits + (size_t)r * rb;
        memset(row, 0, rb);
        for (int k = 0; k < n; k++) {
            const int8_t v = w[(size_t)r * n + k];
            if (v != 1 && v != -1) return EP_ERANGE;
            if (v > 0) row[k >> 3] |= (uint8_t)(1u << (k & 7));
        }
    }
    return EP_OK;
}

/* Planes of x; returns 0 (all ±1), 1 (zeros present, all in [-1, 1]) or 2 (outside). */
static int xnor_planes(int n, const int8_t *x, uint8_t *p, uint8_t *q, size_t rb) {
    static const uint8_t BIT[16] = {1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};
    const uint8x16_t bm = vld1q_u8(BIT);
    const int8x16_t zero = vdupq_n_s8(0), one = vdupq_n_s8(1), mone = vdupq_n_s8(-1);
    uint8x16_t zeros = vdupq_n_u8(0), wide = vdupq_n_u8(0);
    memset(p, 0, rb);
    memset(q, 0, rb);
    int k = 0;
    for (; k + 16 <= n; k += 16) {
        const int8x16_t v = vld1q_s8(x + k);
        const uint8x16_t pos = vandq_u8(vcgtq_s8(v, zero), bm);
        const uint8x16_t neg = vandq_u8(vcltq_s8(v, zero), bm);
        zeros = vorrq_u8(zeros, vceqq_s8(v, zero));
        wide = vorrq_u8(wide, vorrq_u8(vcgtq_s8(v, one), vcltq_s8(v, mone)));
        p[k >> 3] = vaddv_u8(vget_low_u8(pos));
        p[(k >> 3) + 1] = vaddv_u8(vget_high_u8(pos));
        q[k >> 3] = vaddv_u8(vget_low_u8(neg));
        q[(k >> 3) + 1] = vaddv_u8(vget_high_u8(neg));
    }
    int flags = (vmaxvq_u8(wide) ? 2 : 0) | (vmaxvq_u8(zeros) ? 1 : 0);
    for (; k < n; k++) {
        if (x[k] > 0) p[k >> 3] |= (uint8_t)(1u << (k & 7));
        if (x[k] < 0) q[k >> 3] |= (uint8_t)(1u << (k & 7));
        if (x[k] == 0) flags |= 1;
        if (x[k] > 1 || x[k] < -1) flags |= 2;
    }
    return flags & 2 ? 2 : flags;
}

/* XNOR path: popcount(p ^ b) of 4 rows sharing every load of p (the accumulators stay in
 * registers: no loop over a variable row count inside the chunk loop) */
static void xnor_rows4(size_t rb, const uint8_t *p, const uint8_t *w, uint32_t *cnt) {
    const size_t chunks = rb / 16;
    const uint8_t *w0 = w, *w1 = w + rb, *w2 = w + 2 * rb, *w3 = w + 3 * rb;
    uint32_t t0 = 0, t1 = 0, t2 = 0, t3 = 0;
    for (size_t c0 = 0; c0 < chunks; c0 += 2048) {          /* u16 lanes: <= 2048 * 16 each */
        const size_t c1 = chunks - c0 < 2048 ? chunks : c0 + 2048;
        uint16x8_t a0 = vdupq_n_u16(0), a1 = a0, a2 = a0, a3 = a0;
        for (size_t c = c0; c < c1; c++) {
            const uint8x16_t xv = vld1q_u8(p + 16 * c);
            a0 = vpadalq_u8(a0, vcntq_u8(veorq_u8(xv, vld1q_u8(w0 + 16 * c))));
            a1 = vpadalq_u8(a1, vcntq_u8(veorq_u8(xv, vld1q_u8(w1 + 16 * c))));
            a2 = vpadalq_u8(a2, vcntq_u8(veorq_u8(xv, vld1q_u8(w2 + 16 * c))));
            a3 = vpadalq_u8(a3, vcntq_u8(veorq_u8(xv, vld1q_u8(w3 + 16 * c))));
        }
        t0 += vaddlvq_u16(a0);
        t1 += vaddlvq_u16(a1);
        t2 += vaddlvq_u16(a2);
        t3 += vaddlvq_u16(a3);
    }
    cnt[0] = t0;
    cnt[1] = t1;
    cnt[2] = t2;
    cnt[3] = t3;
}

static uint32_t xnor_row1(size_t rb, const uint8_t *p, const uint8_t *w) {
    uint32_t tot = 0;
    for (size_t c = 0; c < rb / 16; c++)
        tot += vaddvq_u8(vcntq_u8(veorq_u8(vld1q_u8(p + 16 * c), vld1q_u8(w + 16 * c))));
    return tot;
}

/* popcount(v AND b) of one row (the ternary path) */
static uint32_t and_count(size_t rb, const uint8_t *v, const uint8_t *b) {
    uint32_t tot = 0;
    for (size_t c = 0; c < rb / 16; c++)
        tot += vaddvq_u8(vcntq_u8(vandq_u8(vld1q_u8(v + 16 * c), vld1q_u8(b + 16 * c))));
    return tot;
}

static uint32_t plane_count(size_t rb, const uint8_t *v) {
    uint32_t tot = 0;
    for (size_t c = 0; c < rb / 16; c++) tot += vaddvq_u8(vcntq_u8(vld1q_u8(v + 16 * c)));
    return tot;
}

static void store(int r, int64_t acc, const ep_requant *rq, void *out) {
    if (rq) ep_rq_store(out, (size_t)r, rq->out, ep_rq_scalar(acc, rq));
    else ((int32_t *)out)[r] = (int32_t)acc;
}

int ep_fc_xnor(int n, int m, const int8_t *x, const uint8_t *wbits, const int32_t *bias,
               const ep_requant *rq, void *out) {
    if (n < 1 || m < 1 || !x || !wbits || !out) return EP_EINVAL;
    if (rq) {
        int rc = ep_rq_check(rq);
        if (rc) return rc;
    }
    const size_t rb = EP_XNOR_ROW_BYTES(n);
    uint8_t p[rb], q[rb];
    const int kind = xnor_planes(n, x, p, q, rb);
    if (kind == 0) {
        int r0 = 0;
        for (; r0 + 4 <= m; r0 += 4) {
            uint32_t cnt[4];
            xnor_rows4(rb, p, wbits + (size_t)r0 * rb, cnt);
            for (int r = 0; r < 4; r++)
                store(r0 + r, (int64_t)n - 2 * (int64_t)cnt[r] + (bias ? bias[r0 + r] : 0), rq,
                      out);
        }
        for (; r0 < m; r0++) {
            const uint32_t cnt = xnor_row1(rb, p, wbits + (size_t)r0 * rb);
            store(r0, (int64_t)n - 2 * (int64_t)cnt + (bias ? bias[r0] : 0), rq, out);
        }
        return EP_OK;
    }
    const int64_t pq = (int64_t)plane_count(rb, p) - (int64_t)plane_count(rb, q);
    for (int r = 0; r < m; r++) {
        const uint8_t *b = wbits + (size_t)r * rb;
        int64_t acc;
        if (kind == 1) {
            acc = 2 * ((int64_t)and_count(rb, p, b) - (int64_t)and_count(rb, q, b)) - pq;
        } else {                                             /* any int8: the bits as ±1 */
            acc = 0;
            for (int k = 0; k < n; k++)
                acc += (b[k >> 3] >> (k & 7) & 1) ? x[k] : -(int64_t)x[k];
        }
        store(r, acc + (bias ? bias[r] : 0), rq, out);
    }
    return EP_OK;
}
