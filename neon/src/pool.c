// SPDX-License-Identifier: Apache-2.0
/* Pooling: max (direct / van Herk-Gil-Werman, separable), average (running sums + exact
 * round-half-even division), global max / average. Channels last, vectorized across channels
 * (or across the flattened (pixel, channel) row where the stride is 1). */
#include <math.h>

#include "ep_internal.h"

#define EP_MAX_ROWS 128

typedef struct {
    int H, W, C, OH, OW, Wp;
    int kh, kw, sh, sw, pt, pl, pb, pr, dh, dw;
    int hvh, vvh, nrows;
} ep_win;


int ep_pool_output_size(int size, int k, int s, int pad_begin, int pad_end, int dilation,
                        int ceil_mode) {
    if (size < 1 || k < 1 || s < 1 || pad_begin < 0 || pad_end < 0 || dilation < 1) return -1;
    long long eff = (long long)dilation * (k - 1) + 1;
    long long span = (long long)size + pad_begin + pad_end - eff;
    if (span < 0) return -1;
    long long out = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
    if (ceil_mode && (out - 1) * s >= (long long)size + pad_begin) out -= 1;
    return out > INT_MAX ? -1 : (int)out;
}

int ep_pool_output_shape(const ep_pool_params *p, int *oh, int *ow) {
    if (!p) return EP_EINVAL;
    int a = ep_pool_output_size(p->h, p->kh, p->sh, p->pt, p->pb, p->dh, p->ceil_mode);
    int b = ep_pool_output_size(p->w, p->kw, p->sw, p->pl, p->pr, p->dw, p->ceil_mode);
    if (a < 1 || b < 1 || p->c < 1) return EP_ESHAPE;
    if (oh) *oh = a;
    if (ow) *ow = b;
    return EP_OK;
}

/* Geometry + algorithm choice. van Herk costs ~2 s + 1 vmax per output along an axis (prefix and
 * suffix over every input element, then one combine), direct costs k - 1: van Herk when
 * k > 2 s + 2 (AUTO), always when asked (vertically only with dilation 1). */
static int win_init(const ep_pool_params *p, int allow_vh, ep_win *g) {
    int rc = ep_pool_output_shape(p, &g->OH, &g->OW);
    if (rc) return rc;
    g->H = p->h; g->W = p->w; g->C = p->c;
    g->kh = p->kh; g->kw = p->kw; g->sh = p->sh; g->sw = p->sw;
    g->pt = p->pt; g->pl = p->pl; g->pb = p->pb; g->pr = p->pr; g->dh = p->dh; g->dw = p->dw;
    g->Wp = ep_imax(p->pl + p->w, (g->OW - 1) * p->sw + (p->kw - 1) * p->dw + 1);
    int want = p->algo == EP_ALGO_VANHERK;
    int autoh = p->algo == EP_ALGO_AUTO;
    g->hvh = allow_vh && (want || (autoh && p->kw > 2 * p->sw + 2));
    g->vvh = allow_vh && p->dh == 1 && (want || (autoh && p->kh > 2 * p->sh + 2));
    g->nrows = g->vvh ? 2 * p->kh + 1 : (p->kh - 1) * p->dh + 1;
    if (g->nrows > EP_MAX_ROWS || p->kh > EP_MAX_ROWS) return EP_EINVAL;
    return EP_OK;
}

/* ------------------------------------------------------------------ instantiations */
#define EP_MCA_HERE
#define SFX i8
#define T int8_t
#define V int8x16_t
#define L 16
#define VLD vld1q_s8
#define VLDX4 vld1q_s8_x4
#define VX4 int8x16x4_t
#define VST vst1q_s8
#define VOP vmaxq_s8
#define FILLV INT8_MIN
#define VH_OK 1
#include "pool_tmpl.h"
#undef EP_MCA_HERE
#undef SFX
#undef T
#undef V
#undef L
#undef VLD
#undef VLDX4
#undef VX4
#undef VST
#undef VOP
#undef FILLV

#define SFX u8
#define T uint8_t
#define V uint8x16_t
#define L 16
#define VLD vld1q_u8
#define VLDX4 vld1q_u8_x4
#define VX4 uint8x16x4_t
#define VST vst1q_u8
#define VOP vmaxq_u8
#define FILLV 0
#include "pool_tmpl.h"
#undef SFX
#undef T
#undef V
#undef L
#undef VLD
#undef VLDX4
#undef VX4
#undef VST
#undef VOP
#undef FILLV

#define SFX i16
#define T int16_t
#define V int16x8_t
#define L 8
#define VLD vld1q_s16
#define VLDX4 vld1q_s16_x4
#define VX4 int16x8x4_t
#define VST vst1q_s16
#define VOP vmaxq_s16
#define FILLV INT16_MIN
#include "pool_tmpl.h"
#undef SFX
#undef T
#undef V
#undef L
#undef VLD
#undef VLDX4
#undef VX4
#undef VST
#undef VOP
#undef FILLV

#define SFX u16
#define T uint16_t
#define V uint16x8_t
#define L 8
#define VLD vld1q_u16
#define VLDX4 vld1q_u16_x4
#define VX4 uint16x8x4_t
#define VST vst1q_u16
#define VOP vmaxq_u16
#define FILLV 0
#include "pool_tmpl.h"
#undef SFX
#undef T
#undef V
#undef L
#undef VLD
#undef VLDX4
#undef VX4
#undef VST
#undef VOP
#undef FILLV

#define SFX f32
#define T float
#define V float32x4_t
#define L 4
#define VLD vld1q_f32
#define VLDX4 vld1q_f32_x4
#define VX4 float32x4x4_t
#define VST vst1q_f32
#define VOP vmaxq_f32
#define FILLV (-INFINITY)
#include "pool_tmpl.h"
#undef SFX
#undef VOP
#undef FILLV
#undef VH_OK

/* float window sums (average pooling of float graphs): same engine, add instead of max */
#define SFX fsum
#define VOP vaddq_f32
#define FILLV 0.0f
#define VH_OK 0
#include "pool_tmpl.h"
#undef SFX
#undef T
#undef V
#undef L
#undef VLD
#undef VLDX4
#undef VX4
#undef VST
#undef VOP
#undef FILLV
#undef VH_OK

/* ------------------------------------------------------------------ max pooling */
typedef struct {
    const char *in;
    size_t row_bytes;
} copy_ctx;

static void copy_row(void *ctx, int y, void *dst) {
    const copy_ctx *c = (const copy_ctx *)ctx;
    memcpy(dst, c->in + (size_t)y * c->row_bytes, c->row_bytes);
}

static int lanes_of(ep_dtype t) { return (int)(16 / ep_dtype_size(t)); }

/* does some output along an axis have every tap outside the input (padding / overhang only)? */
static int axis_has_empty(int n_out, int k, int s, int pb, int size, int d) {
    if (d == 1)      /* contiguous windows: only the first or the last can miss the input */
        return k - 1 < pb || (long long)(n_out - 1) * s - pb >= size;
    for (int o = 0; o < n_out; o++) {
        int any = 0;
        for (int i = 0; i < k && !any; i++) {
            int x = o * s - pb + i * d;
            any = x >= 0 && x < size;
        }
        if (!any) return 1;
    }
    return 0;
}

static int win_empty(const ep_win *g) {
    return axis_has_empty(g->OH, g->kh, g->sh, g->pt, g->H, g->dh) ||
           axis_has_empty(g->OW, g->kw, g->sw, g->pl, g->W, g->dw);
}

/* A window covering only padding has no value in fixed point (edgepool.ir.kernels.max_pool
 * rejects it); float gives -inf. */
int ep__max_empty_window(const ep_pool_params *p, ep_dtype t) {
    int oh, ow;
    if (t == EP_F32 || ep_pool_output_shape(p, &oh, &ow)) return 0;
    return axis_has_empty(oh, p->kh, p->sh, p->pt, p->h, p->dh) ||
           axis_has_empty(ow, p->kw, p->sw, p->pl, p->w, p->dw);
}

/* In-place fast paths (pool_tmpl.h): dilation 1, square 2x2 or 3x3 window, no window made
 * of padding only; AUTO and DIRECT only (VANHERK forces the engine). 3x3 with horizontal
 * stride 2: the column-sharing sweep when a pixel is narrower than a cache line, else the
 * per-pixel channel loop (the strided sweep measured 1.3-6x slower for wide C on x86). */
enum { FP_NONE = 0, FP_K3S1, FP_K3S1_FLAT, FP_K3S2, FP_K2, FP_K2I, FP_K3S2I, FP_K5S1 };

/* empty: some window is made of padding only (computed once by the caller) */
static int fast_path(const ep_pool_params *p, const ep_win *g, ep_dtype t, int empty) {
    if (p->algo == EP_ALGO_VANHERK || p->dh != 1 || p->dw != 1 || p->kh != p->kw || empty)
        return FP_NONE;
    const int wide = p->c >= lanes_of(t), lanes = lanes_of(t);
    /* whole map interior: no padding, no ceil-mode overhang */
    const int inner = p->pt == 0 && p->pl == 0 && (g->OH - 1) * p->sh + p->kh <= p->h &&
                      (g->OW - 1) * p->sw + p->kw <= p->w;
    if (inner && p->kh == 2 && p->c % lanes == 0 && (p->c <= 2 * lanes || p->c % (2 * lanes) == 0))
        return FP_K2I;
    if (inner && p->kh == 3 && p->sw == 2 && (p->c == lanes || p->c % (2 * lanes) == 0))
        return FP_K3S2I;
    if (p->kh == 3 && p->sh == 1 && p->sw == 1) return wide ? FP_K3S1 : FP_K3S1_FLAT;
    if (p->kh == 5 && p->sh == 1 && p->sw == 1 && wide) return FP_K5S1;
    if (p->kh == 3 && p->sw == 2 && wide) return FP_K3S2;
    if (p->kh == 2 && wide) return FP_K2;
    return FP_NONE;
}

static size_t fast_scratch(int fp, const ep_win *g, ep_dtype t) {
    if (fp != FP_K3S1_FLAT) return 0;
    ep_carver cv;
    ep_carver_init(&cv, NULL);
    ep_carve(&cv, (size_t)(ep_imax(g->OW + 2, g->pl + g->W) * g->C) * ep_dtype_size(t));
    return ep_carver_size(&cv);
}

static int max_type_ok(ep_dtype t) {
    return t == EP_I8 || t == EP_U8 || t == EP_I16 || t == EP_U16 || t == EP_F32;
}

size_t ep_maxpool_scratch_bytes(const ep_pool_params *p, ep_dtype t) {
    ep_win g;
    if (!max_type_ok(t) || win_init(p, 1, &g)) return 0;
    int fp = fast_path(p, &g, t, win_empty(&g));
    if (fp) return fast_scratch(fp, &g, t);
    switch (t) {
    case EP_I8: return scratch_i8(&g);
    case EP_U8: return scratch_u8(&g);
    case EP_I16: return scratch_i16(&g);
    case EP_U16: return scratch_u16(&g);
    default: return scratch_f32(&g);
    }
}

/* Runs the max engine of type t over rows from produce(); used by ep_maxpool and the fused
 * conv + max pool. */
int ep__max_engine(const ep_pool_params *p, ep_dtype t, ep_row_fn produce, void *ctx, void *out,
                   void *scratch) {
    ep_win g;
    int rc = win_init(p, 1, &g);
    if (rc) return rc;
    if (ep__max_empty_window(p, t)) return EP_EINVAL;
    switch (t) {
    case EP_I8: engine_i8(&g, produce, ctx, (int8_t *)out, scratch); break;
    case EP_U8: engine_u8(&g, produce, ctx, (uint8_t *)out, scratch); break;
    case EP_I16: engine_i16(&g, produce, ctx, (int16_t *)out, scratch); break;
    case EP_U16: engine_u16(&g, produce, ctx, (uint16_t *)out, scratch); break;
    case EP_F32: engine_f32(&g, produce, ctx, (float *)out, scratch); break;
    default: return EP_ETYPE;
    }
    return EP_OK;
}

size_t ep__max_engine_scratch(const ep_pool_params *p, ep_dtype t) {
    ep_win g;
    if (!max_type_ok(t) || win_init(p, 1, &g)) return 0;
    switch (t) {
    case EP_I8: return scratch_i8(&g);
    case EP_U8: return scratch_u8(&g);
    case EP_I16: return scratch_i16(&g);
    case EP_U16: return scratch_u16(&g);
    default: return scratch_f32(&g);
    }
}

/* Lean dispatch for the most common shapes (2x2 any stride, 3x3 horizontal stride 2, no
 * padding, dilation 1, no ceil-mode overhang, C = L / 2L / multiple of 2L): skips the general
 * geometry set-up, whose cost is ~400 instructions per call (significant on small maps). */
static int max_lean(const ep_pool_params *p, ep_dtype t, const void *in, void *out) {
    const int k = p->kh, L = lanes_of(t), C = p->c;
    if (k != p->kw || (k != 2 && k != 3) || p->dh != 1 || p->dw != 1 || p->pt || p->pl ||
        p->pb || p->pr || p->algo == EP_ALGO_VANHERK || p->sh < 1 || p->sw < 1 || p->h < k ||
        p->w < k || C < L || C % L)
        return 0;
    if (k == 3 ? p->sw != 2 || (C > L && C % (2 * L)) : C > 2 * L && C % (2 * L)) return 0;
    const int sy = p->h - k, sx = p->w - k;
    if (p->ceil_mode && (sy % p->sh || sx % p->sw)) return 0;
    ep_win g;
    g.H = p->h; g.W = p->w; g.C = C; g.OH = sy / p->sh + 1; g.OW = sx / p->sw + 1;
    g.sh = p->sh; g.sw = p->sw;
#define LEAN(S, TT)                                                          \
    do {                                                                     \
        if (k == 2) k2i_##S(&g, (const TT *)in, (TT *)out);                  \
        else k3s2i_##S(&g, (const TT *)in, (TT *)out);                       \
    } while (0)
    switch (t) {
    case EP_I8: LEAN(i8, int8_t); break;
    case EP_U8: LEAN(u8, uint8_t); break;
    case EP_I16: LEAN(i16, int16_t); break;
    case EP_U16: LEAN(u16, uint16_t); break;
    default: LEAN(f32, float); break;
    }
#undef LEAN
    return 1;
}

int ep_maxpool(const ep_pool_params *p, ep_dtype t, const void *in, void *out, void *scratch) {
    ep_win g;
    if (!p || !in || !out) return EP_EINVAL;
    if (!max_type_ok(t)) return EP_ETYPE;
    if (max_lean(p, t, in, out)) return EP_OK;
    int rc = win_init(p, 1, &g);
    if (rc) return rc;
    const int empty = win_empty(&g);
    if (empty && t != EP_F32) return EP_EINVAL;
    int fp = fast_path(p, &g, t, empty);
    if (fp) {
        void *tmp = NULL;
        if (fp == FP_K3S1_FLAT) {
            if (!scratch) return EP_EINVAL;
            ep_carver cv;
            ep_carver_init(&cv, scratch);
            tmp = ep_carve(&cv, (size_t)(ep_imax(g.OW + 2, g.pl + g.W) * g.C) * ep_dtype_size(t));
        }
#define FAST(S, TT)                                                                    \
    switch (fp) {                                                                      \
    case FP_K3S1: k3s1_##S(&g, (const TT *)in, (TT *)out); break;                      \
    case FP_K3S1_FLAT: k3s1_flat_##S(&g, (const TT *)in, (TT *)out, (TT *)tmp); break; \
    case FP_K2I: k2i_##S(&g, (const TT *)in, (TT *)out); break;                        \
    case FP_K3S2I: k3s2i_##S(&g, (const TT *)in, (TT *)out); break;                    \
    case FP_K5S1: k5s1_##S(&g, (const TT *)in, (TT *)out); break;                      \
    case FP_K3S2:                                                                      \
        if (g.C * sizeof(TT) >= 64) k3px_##S(&g, (const TT *)in, (TT *)out);           \
        else k3s2_##S(&g, (const TT *)in, (TT *)out);                                  \
        break;                                                                         \
    default: k2_##S(&g, (const TT *)in, (TT *)out); break;                             \
    }
        switch (t) {
        case EP_I8: FAST(i8, int8_t) break;
        case EP_U8: FAST(u8, uint8_t) break;
        case EP_I16: FAST(i16, int16_t) break;
        case EP_U16: FAST(u16, uint16_t) break;
        default: FAST(f32, float) break;
        }
#undef FAST
        return EP_OK;
    }
    if (!scratch) return EP_EINVAL;
    copy_ctx c = {(const char *)in, (size_t)p->w * p->c * ep_dtype_size(t)};
    return ep__max_engine(p, t, copy_row, &c, out, scratch);
}

/* ------------------------------------------------------------------ average pooling */
/* elements counted along one axis for output index o: real input, plus explicit padding when
 * count_include_pad; never the ceil-mode overhang */
static int axis_count(int o, int k, int s, int pb, int size, int pe, int d, int cip) {
    int n = 0;
    for (int i = 0; i < k; i++) {
        int x = o * s - pb + i * d;
        if ((x >= 0 && x < size) || (cip && x >= -pb && x < size + pe)) n++;
    }
    return n;
}

/* src (n elements of t) widened to int32; 16 / 8 elements per step, scalar tail */
static void widen_row(ep_dtype t, const void *src, int32_t *dst, size_t n) {
    size_t i = 0;
    switch (t) {
    case EP_I8: {
        const int8_t *x = (const int8_t *)src;
        for (; i + 16 <= n; i += 16) {
            const int8x16_t v = vld1q_s8(x + i);
            const int16x8_t lo = vmovl_s8(vget_low_s8(v)), hi = vmovl_s8(vget_high_s8(v));
            vst1q_s32(dst + i, vmovl_s16(vget_low_s16(lo)));
            vst1q_s32(dst + i + 4, vmovl_s16(vget_high_s16(lo)));
            vst1q_s32(dst + i + 8, vmovl_s16(vget_low_s16(hi)));
            vst1q_s32(dst + i + 12, vmovl_s16(vget_high_s16(hi)));
        }
        for (; i < n; i++) dst[i] = x[i];
        break;
    }
    case EP_U8: {
        const uint8_t *x = (const uint8_t *)src;
        for (; i + 16 <= n; i += 16) {
            const uint8x16_t v = vld1q_u8(x + i);
            const uint16x8_t lo = vmovl_u8(vget_low_u8(v)), hi = vmovl_u8(vget_high_u8(v));
            vst1q_s32(dst + i, vreinterpretq_s32_u32(vmovl_u16(vget_low_u16(lo))));
            vst1q_s32(dst + i + 4, vreinterpretq_s32_u32(vmovl_u16(vget_high_u16(lo))));
            vst1q_s32(dst + i + 8, vreinterpretq_s32_u32(vmovl_u16(vget_low_u16(hi))));
            vst1q_s32(dst + i + 12, vreinterpretq_s32_u32(vmovl_u16(vget_high_u16(hi))));
        }
        for (; i < n; i++) dst[i] = x[i];
        break;
    }
    case EP_I16: {
        const int16_t *x = (const int16_t *)src;
        for (; i + 8 <= n; i += 8) {
            const int16x8_t v = vld1q_s16(x + i);
            vst1q_s32(dst + i, vmovl_s16(vget_low_s16(v)));
            vst1q_s32(dst + i + 4, vmovl_s16(vget_high_s16(v)));
        }
        for (; i < n; i++) dst[i] = x[i];
        break;
    }
    default: {
        const uint16_t *x = (const uint16_t *)src;
        for (; i + 8 <= n; i += 8) {
            const uint16x8_t v = vld1q_u16(x + i);
            vst1q_s32(dst + i, vreinterpretq_s32_u32(vmovl_u16(vget_low_u16(v))));
            vst1q_s32(dst + i + 4, vreinterpretq_s32_u32(vmovl_u16(vget_high_u16(v))));
        }
        for (; i < n; i++) dst[i] = x[i];
        break;
    }
    }
}

/* int32 row (values inside the range of t) narrowed into n elements of t */
static void narrow_row(ep_dtype t, const int32_t *src, void *dst, size_t n) {
    size_t i = 0;
    switch (t) {
    case EP_I8: case EP_U8: {
        int8_t *o = (int8_t *)dst;
        for (; i + 16 <= n; i += 16) {
            const int16x8_t lo = vcombine_s16(vmovn_s32(vld1q_s32(src + i)),
                                              vmovn_s32(vld1q_s32(src + i + 4)));
            const int16x8_t hi = vcombine_s16(vmovn_s32(vld1q_s32(src + i + 8)),
                                              vmovn_s32(vld1q_s32(src + i + 12)));
            vst1q_s8(o + i, vcombine_s8(vmovn_s16(lo), vmovn_s16(hi)));
        }
        for (; i < n; i++) o[i] = (int8_t)(uint8_t)(uint32_t)src[i];
        break;
    }
    default: {
        int16_t *o = (int16_t *)dst;
        for (; i + 8 <= n; i += 8)
            vst1q_s16(o + i, vcombine_s16(vmovn_s32(vld1q_s32(src + i)),
                                          vmovn_s32(vld1q_s32(src + i + 4))));
        for (; i < n; i++) o[i] = (int16_t)(uint16_t)(uint32_t)src[i];
        break;
    }
    }
}

/* Exact division of window sums by a count n (2 <= n <= EP_AVG_MAX_COUNT), rounded half to
 * even, in int32 lanes (edgepool.ir.kernels.div_round):
 *   N = s + K n + floor(n / 2) >= 0 (K = 32768 for signed inputs, 0 for unsigned; K even)
 *   q = floor(N * m / 2^31) with m = floor(2^31 / n) (one sqdmulh): q is floor(N / n) or one
 *       less (the error N (2^31 / n - m) / 2^31 < 1 because N < 2^31), fixed with r = N - q n;
 *   floor((s + floor(n/2)) / n) is s / n rounded half up (odd n has no ties); a tie (even n,
 *   r == 0) with an odd q steps down to the even neighbour; K is even, so q - K has q's parity.
 * ~12 vector ops per 4 lanes, no division, no float. */
#define EP_AVG_MAX_COUNT 32767

typedef struct {
    int32x4_t add, m, n, k;
    int even;
} avg_div;

static inline avg_div avg_div_make(int n, int sign) {
    avg_div d;
    const int32_t K = sign ? 32768 : 0;
    d.add = vdupq_n_s32(K * n + n / 2);
    d.m = vdupq_n_s32((int32_t)((1u << 31) / (uint32_t)n));
    d.n = vdupq_n_s32(n);
    d.k = vdupq_n_s32(K);
    d.even = !(n & 1);
    return d;
}

static inline int32x4_t avg_div_run(int32x4_t s, const avg_div *d) {
    const int32x4_t N = vaddq_s32(s, d->add);
    int32x4_t q = ep_vqdmulhq_s32(N, d->m);
    int32x4_t r = vmlsq_s32(N, q, d->n);
    const uint32x4_t ge = vcgeq_s32(r, d->n);
    q = vsubq_s32(q, vreinterpretq_s32_u32(ge));
    if (d->even) {
        r = vsubq_s32(r, vandq_s32(d->n, vreinterpretq_s32_u32(ge)));
        const uint32x4_t tie = vandq_u32(vceqq_s32(r, vdupq_n_s32(0)),
                                         vtstq_s32(q, vdupq_n_s32(1)));
        q = vaddq_s32(q, vreinterpretq_s32_u32(tie));
    }
    return vsubq_s32(q, d->k);
}

typedef struct {
    int32_t *prow, *P, *hs, *sum, *pv[EP_MAX_ROWS + 1];
    int *cx, *cy;
} avg_layout;

static void avg_carve(const ep_win *g, ep_carver *cv, avg_layout *a) {
    const size_t C = (size_t)g->C, rowo = (size_t)g->OW * C;
    a->prow = (int32_t *)ep_carve(cv, (size_t)g->Wp * C * 4);
    a->P = (int32_t *)ep_carve(cv, (size_t)(g->Wp + g->dw) * C * 4);
    a->hs = (int32_t *)ep_carve(cv, rowo * 4);
    a->sum = (int32_t *)ep_carve(cv, rowo * 4);
    for (int i = 0; i < g->kh * g->dh + 1; i++) a->pv[i] = (int32_t *)ep_carve(cv, rowo * 4);
    a->cx = (int *)ep_carve(cv, (size_t)g->OW * sizeof(int));
    a->cy = (int *)ep_carve(cv, (size_t)g->OH * sizeof(int));
}

/* horizontal window sums of one widened, zero-padded row via running (prefix) sums per
 * dilation phase: P[x] = P[x - dw] + v[x - dw]; sum(x) = P[x + kw dw] - P[x]. int32 lanes wrap,
 * the differences are exact. */
static void avg_hsum(const ep_win *g, const avg_layout *a) {
    const size_t C = (size_t)g->C, dwc = (size_t)g->dw * C;
    const size_t np = (size_t)(g->Wp + g->dw) * C;
    memset(a->P, 0, dwc * 4);
    if (dwc >= 4) {
        for (size_t j = dwc; j < np; j += 4)
            vst1q_s32(a->P + j, vaddq_s32(vld1q_s32(a->P + j - dwc), vld1q_s32(a->prow + j - dwc)));
    } else {
        uint32_t *P = (uint32_t *)a->P;
        for (size_t j = dwc; j < np; j++) P[j] = P[j - dwc] + (uint32_t)a->prow[j - dwc];
    }
    const size_t off = (size_t)g->kw * dwc;
    if (g->sw == 1) {
        const size_t n = (size_t)g->OW * C;
        for (size_t j = 0; j < n; j += 4)
            vst1q_s32(a->hs + j, vsubq_s32(vld1q_s32(a->P + j + off), vld1q_s32(a->P + j)));
    } else {
        for (int ox = 0; ox < g->OW; ox++) {
            const int32_t *b = a->P + (size_t)ox * g->sw * C;
            int32_t *o = a->hs + (size_t)ox * C;
            for (size_t c = 0; c < C; c += 4)
                vst1q_s32(o + c, vsubq_s32(vld1q_s32(b + c + off), vld1q_s32(b + c)));
        }
    }
}

static void avg_int(const ep_pool_params *p, const ep_win *g, ep_dtype t, const void *in,
                    void *out, void *scratch) {
    ep_carver cv;
    avg_layout a;
    ep_carver_init(&cv, scratch);
    avg_carve(g, &cv, &a);
    const size_t C = (size_t)g->C, rowo = (size_t)g->OW * C, es = ep_dtype_size(t);
    const int Rv = g->kh * g->dh + 1;
    memset(a.prow - EP_SLACK / 4, 0, ((size_t)g->Wp * C + EP_SLACK / 2) * 4);
    for (int ox = 0; ox < g->OW; ox++)
        a.cx[ox] = axis_count(ox, g->kw, g->sw, g->pl, g->W, g->pr, g->dw, p->count_include_pad);
    for (int oy = 0; oy < g->OH; oy++)
        a.cy[oy] = axis_count(oy, g->kh, g->sh, g->pt, g->H, g->pb, g->dh, p->count_include_pad);
    int next = 0;   /* next vertical prefix row PV[next] to compute (padded row coordinates) */
    for (int oy = 0; oy < g->OH; oy++) {
        const int p0 = oy * g->sh, p1 = p0 + g->kh * g->dh;
        for (; next <= p1; next++) {
            int32_t *dst = a.pv[next % Rv];
            if (next < g->dh) { memset(dst, 0, rowo * 4); continue; }
            const int32_t *src = a.pv[(next - g->dh) % Rv];
            const int y = next - g->dh - g->pt;
            if (y < 0 || y >= g->H) { memcpy(dst, src, rowo * 4); continue; }
            widen_row(t, (const char *)in + (size_t)y * g->W * C * es, a.prow + (size_t)g->pl * C,
                      (size_t)g->W * C);
            avg_hsum(g, &a);
            for (size_t j = 0; j < rowo; j += 4)
                vst1q_s32(dst + j, vaddq_s32(vld1q_s32(src + j), vld1q_s32(a.hs + j)));
        }
        const int32_t *top = a.pv[p0 % Rv], *bot = a.pv[p1 % Rv];
        /* runs of outputs with the same count share one set of constants; each run's vectors
         * may spill into the next run's elements (rewritten next) or the row's slack */
        for (int ox = 0; ox < g->OW;) {
            int end = ox + 1;
            while (end < g->OW && a.cx[end] == a.cx[ox]) end++;
            int cnt = a.cy[oy] * a.cx[ox];
            if (cnt < 1) cnt = 1;
            const size_t j0 = (size_t)ox * C, j1 = (size_t)end * C;
            if (cnt == 1) {
                for (size_t j = j0; j < j1; j += 4)
                    vst1q_s32(a.sum + j, vsubq_s32(vld1q_s32(bot + j), vld1q_s32(top + j)));
            } else {
                const avg_div d = avg_div_make(cnt, t == EP_I8 || t == EP_I16);
                for (size_t j = j0; j < j1; j += 4)
                    vst1q_s32(a.sum + j, avg_div_run(vsubq_s32(vld1q_s32(bot + j),
                                                               vld1q_s32(top + j)), &d));
            }
            ox = end;
        }
        narrow_row(t, a.sum, (char *)out + (size_t)oy * rowo * es, rowo);
    }
}

/* ---- 8-bit inputs, windows of at most 256 elements: 16-bit lanes throughout.
 * Direct separable sums (vaddl/vaddw straight from the int8/uint8 rows: no widened copy), then
 * the exact division in uint16 lanes: N = s + K n + floor(n/2) (K = 128 for int8, 0 for
 * uint8; N < 2^16 since |s| <= 128 n, n <= 256), q = (N * floor(2^16 / n)) >> 16 is floor(N/n)
 * or one less, fixed with r = N - q n, ties (even n, r == 0) to even as in avg_div_run. */
#define EP_AVG8_MAX_COUNT 256

static int avg8_ok(const ep_win *g, ep_dtype t) {
    return (t == EP_I8 || t == EP_U8) && (long long)g->kh * g->kw <= EP_AVG8_MAX_COUNT;
}

typedef struct {
    int16_t *vrow, *hs;
    uint8_t *res;
    int *cx, *cy;
} avg8_layout;

static void avg8_carve(const ep_win *g, ep_carver *cv, avg8_layout *a) {
    const size_t C = (size_t)g->C, rowo = (size_t)g->OW * C;
    a->vrow = (int16_t *)ep_carve(cv, (size_t)(g->Wp + 1) * C * 2);
    a->hs = (int16_t *)ep_carve(cv, rowo * 2 + 32);
    a->res = (uint8_t *)ep_carve(cv, rowo + 32);
    a->cx = (int *)ep_carve(cv, (size_t)g->OW * sizeof(int));
    a->cy = (int *)ep_carve(cv, (size_t)g->OH * sizeof(int));
}

/* dst[0:n] (int16) = sum of nr 8-bit rows, widened; never reads a row past n */
static void vsum8(int16_t *dst, const uint8_t *const *rows, int nr, size_t n, int sign) {
    if (nr == 0) {
        memset(dst, 0, n * 2);
        return;
    }
    if (n < 16) {
        for (size_t j = 0; j < n; j++) {
            int v = 0;
            for (int r = 0; r < nr; r++) v += sign ? (int8_t)rows[r][j] : rows[r][j];
            dst[j] = (int16_t)(uint16_t)v;
        }
        return;
    }
    for (size_t j = 0;; j += 16) {
        if (j + 16 > n) j = n - 16;            /* overlapping last vector */
        int16x8_t lo, hi;
        if (sign && nr == 3) {
            const int8x16_t u = vld1q_s8((const int8_t *)rows[0] + j);
            const int8x16_t w = vld1q_s8((const int8_t *)rows[1] + j);
            const int8x16_t z = vld1q_s8((const int8_t *)rows[2] + j);
            lo = vaddw_s8(vaddl_s8(vget_low_s8(u), vget_low_s8(w)), vget_low_s8(z));
            hi = vaddw_high_s8(vaddl_high_s8(u, w), z);
        } else if (sign) {
            const int8x16_t v = vld1q_s8((const int8_t *)rows[0] + j);
            lo = vmovl_s8(vget_low_s8(v));
            hi = vmovl_s8(vget_high_s8(v));
            for (int r = 1; r < nr; r++) {
                const int8x16_t w = vld1q_s8((const int8_t *)rows[r] + j);
                lo = vaddw_s8(lo, vget_low_s8(w));
                hi = vaddw_s8(hi, vget_high_s8(w));
            }
        } else {
            const uint8x16_t v = vld1q_u8(rows[0] + j);
            uint16x8_t l = vmovl_u8(vget_low_u8(v)), h = vmovl_u8(vget_high_u8(v));
            for (int r = 1; r < nr; r++) {
                const uint8x16_t w = vld1q_u8(rows[r] + j);
                l = vaddw_u8(l, vget_low_u8(w));
                h = vaddw_u8(h, vget_high_u8(w));
            }
            lo = vreinterpretq_s16_u16(l);
            hi = vreinterpretq_s16_u16(h);
        }
        vst1q_s16(dst + j, lo);
        vst1q_s16(dst + j + 8, hi);
        if (j + 16 >= n) break;
    }
}

static inline __attribute__((always_inline)) uint16x8_t avg8_div(uint16x8_t N, uint16x8_t m,
                                                                  uint16x8_t n, int even) {
    const uint32x4_t pl = vmull_u16(vget_low_u16(N), vget_low_u16(m));
    const uint32x4_t ph = vmull_high_u16(N, m);
    uint16x8_t q = vuzp2q_u16(vreinterpretq_u16_u32(pl), vreinterpretq_u16_u32(ph));
    uint16x8_t r = vmlsq_u16(N, q, n);
    const uint16x8_t ge = vcgeq_u16(r, n);
    q = vsubq_u16(q, ge);
    if (even) {
        r = vsubq_u16(r, vandq_u16(n, ge));
        q = vaddq_u16(q, vandq_u16(vceqq_u16(r, vdupq_n_u16(0)), vtstq_u16(q, vdupq_n_u16(1))));
    }
    return q;
}

static void avg8(const ep_pool_params *p, const ep_win *g, ep_dtype t, const void *in, void *out,
                 void *scratch) {
    ep_carver cv;
    avg8_layout a;
    ep_carver_init(&cv, scratch);
    avg8_carve(g, &cv, &a);
    const size_t C = (size_t)g->C, rowo = (size_t)g->OW * C, irow = (size_t)g->W * C;
    const int sign = t == EP_I8;
    const size_t dwc = (size_t)g->dw * C;
    memset(a.vrow - EP_SLACK / 2, 0, ((size_t)(g->Wp + 1) * C + EP_SLACK) * 2);
    for (int ox = 0; ox < g->OW; ox++)
        a.cx[ox] = axis_count(ox, g->kw, g->sw, g->pl, g->W, g->pr, g->dw, p->count_include_pad);
    for (int oy = 0; oy < g->OH; oy++)
        a.cy[oy] = axis_count(oy, g->kh, g->sh, g->pt, g->H, g->pb, g->dh, p->count_include_pad);
    int16_t *v = a.vrow + (size_t)g->pl * C;
    for (int oy = 0; oy < g->OH; oy++) {
        const uint8_t *rows[EP_MAX_ROWS];
        int nr = 0;
        for (int i = 0; i < g->kh; i++) {
            const int y = oy * g->sh - g->pt + i * g->dh;
            if (y >= 0 && y < g->H) rows[nr++] = (const uint8_t *)in + (size_t)y * irow;
        }
        vsum8(v, rows, nr, irow, sign);
        /* horizontal window sums (int16 lanes wrap; the true sums fit) */
        if (g->sw == 1 && g->kw == 3) {
            const int16_t *b = a.vrow;
            for (size_t j = 0; j < rowo; j += 8)
                vst1q_s16(a.hs + j, vaddq_s16(vaddq_s16(vld1q_s16(b + j), vld1q_s16(b + j + dwc)),
                                              vld1q_s16(b + j + 2 * dwc)));
        } else if (g->sw == 1 && g->kw == 2) {
            const int16_t *b = a.vrow;
            for (size_t j = 0; j < rowo; j += 8)
                vst1q_s16(a.hs + j, vaddq_s16(vld1q_s16(b + j), vld1q_s16(b + j + dwc)));
        } else if (g->sw == 1) {
            for (size_t j = 0; j < rowo; j += 8) {
                int16x8_t acc = vld1q_s16(a.vrow + j);
                for (int i = 1; i < g->kw; i++) acc = vaddq_s16(acc, vld1q_s16(a.vrow + j + i * dwc));
                vst1q_s16(a.hs + j, acc);
            }
        } else {
            for (int ox = 0; ox < g->OW; ox++) {
                const int16_t *b = a.vrow + (size_t)ox * g->sw * C;
                for (size_t c = 0; c < C; c += 8) {     /* spills into pixel ox + 1 (rewritten) */
                    int16x8_t acc = vld1q_s16(b + c);
                    for (int i = 1; i < g->kw; i++) acc = vaddq_s16(acc, vld1q_s16(b + c + i * dwc));
                    vst1q_s16(a.hs + (size_t)ox * C + c, acc);
                }
            }
        }
        /* division per run of equal counts, 16 lanes at a time, narrowed to 8 bits */
        for (int ox = 0; ox < g->OW;) {
            int end = ox + 1;
            while (end < g->OW && a.cx[end] == a.cx[ox]) end++;
            int n = a.cy[oy] * a.cx[ox];
            if (n < 1) n = 1;
            const size_t j0 = (size_t)ox * C, j1 = (size_t)end * C;
            if (n == 1) {
                for (size_t j = j0; j < j1; j += 16)
                    vst1q_u8(a.res + j, vcombine_u8(vmovn_u16(vld1q_u16((uint16_t *)a.hs + j)),
                                                    vmovn_u16(vld1q_u16((uint16_t *)a.hs + j + 8))));
            } else {
                const int K = sign ? 128 : 0;
                const uint16x8_t add = vdupq_n_u16((uint16_t)(K * n + n / 2));
                const uint16x8_t m = vdupq_n_u16((uint16_t)(65536 / n)), nv = vdupq_n_u16((uint16_t)n);
                const uint8x16_t kk = vdupq_n_u8((uint8_t)K);
#if defined(EP_MCA)
#define MCA_AVG(x) __asm__ volatile("# LLVM-MCA-" x " avg8-div")
#else
#define MCA_AVG(x) ((void)0)
#endif
#define AVG8_LOOP(EVEN)                                                                       \
    for (size_t j = j0; j < j1; j += 16) {                                                    \
        if (!(EVEN)) MCA_AVG("BEGIN");                                                        \
        const uint16x8_t s0 = vaddq_u16(vld1q_u16((uint16_t *)a.hs + j), add);               \
        const uint16x8_t s1 = vaddq_u16(vld1q_u16((uint16_t *)a.hs + j + 8), add);           \
        const uint8x16_t q = vcombine_u8(vmovn_u16(avg8_div(s0, m, nv, EVEN)),               \
                                         vmovn_u16(avg8_div(s1, m, nv, EVEN)));              \
        vst1q_u8(a.res + j, vsubq_u8(q, kk));                                                 \
        if (!(EVEN)) MCA_AVG("END");                                                          \
    }
                if (n & 1) {
                    AVG8_LOOP(0)
                } else {
                    AVG8_LOOP(1)
                }
#undef AVG8_LOOP
            }
            ox = end;
        }
        memcpy((uint8_t *)out + (size_t)oy * rowo, a.res, rowo);
    }
}

/* ------------------------------------------------------------------ average 2x2 stride 2, 8-bit
 * Every count is 1, 2 or 4 (count_y, count_x <= 2), so the division is a round-half-even shift:
 * s / 2^k = (s + 2^(k-1) - 1 + ((s >> k) & 1)) >> k (arithmetic shifts). Sums of <= 4 8-bit
 * values fit int16 lanes for int8 and uint8 alike. Interior windows (4 real taps, count 4):
 * vaddl pairs, then vrhadd(s, (s >> 2) & 1) >> 1 = (s + 1 + ((s >> 2) & 1)) >> 2 narrowed by
 * vshrn; border windows (padding / ceil-mode overhang) sum only their real taps. No scratch. */
static int avg2_ok(const ep_pool_params *p, ep_dtype t) {
    return (t == EP_I8 || t == EP_U8) && p->kh == 2 && p->kw == 2 && p->sh == 2 && p->sw == 2 &&
           p->dh == 1 && p->dw == 1 && p->c >= 16;
}

static inline __attribute__((always_inline)) void avg2_pair(int sign, const uint8_t *a,
                                                            const uint8_t *b, int16x8_t *lo,
                                                            int16x8_t *hi) {
    if (sign) {
        const int8x16_t x = vld1q_s8((const int8_t *)a), y = vld1q_s8((const int8_t *)b);
        *lo = vaddl_s8(vget_low_s8(x), vget_low_s8(y));
        *hi = vaddl_high_s8(x, y);
    } else {
        const uint8x16_t x = vld1q_u8(a), y = vld1q_u8(b);
        *lo = vreinterpretq_s16_u16(vaddl_u8(vget_low_u8(x), vget_low_u8(y)));
        *hi = vreinterpretq_s16_u16(vaddl_high_u8(x, y));
    }
}

/* round-half-even (s0 + s1) / 4 of 16 lanes, narrowed */
static inline __attribute__((always_inline)) uint8x16_t avg2_div4(int16x8_t l0, int16x8_t h0,
                                                                  int16x8_t l1, int16x8_t h1) {
    const int16x8_t one = vdupq_n_s16(1);
    const int16x8_t l = vaddq_s16(l0, l1), h = vaddq_s16(h0, h1);
    const int16x8_t rl = vrhaddq_s16(l, vandq_s16(vshrq_n_s16(l, 2), one));
    const int16x8_t rh = vrhaddq_s16(h, vandq_s16(vshrq_n_s16(h, 2), one));
    return vreinterpretq_u8_s8(vcombine_s8(vshrn_n_s16(rl, 1), vshrn_n_s16(rh, 1)));
}

static inline __attribute__((always_inline)) void avg2_px4(int sign, uint8_t *o, const uint8_t *a,
                                                           const uint8_t *e, size_t C) {
    int16x8_t l0, h0, l1, h1;
    for (size_t c = 0;; c += 16) {
        if (c + 16 > C) c = C - 16;
        avg2_pair(sign, a + c, a + C + c, &l0, &h0);
        avg2_pair(sign, e + c, e + C + c, &l1, &h1);
        vst1q_u8(o + c, avg2_div4(l0, h0, l1, h1));
        if (c + 16 >= C) break;
    }
}

/* border window: nt (0..4) real taps, count 2^k */
static void avg2_px_any(int sign, uint8_t *o, const uint8_t *const *tap, int nt, int k, size_t C) {
    const int16x8_t sh = vdupq_n_s16((int16_t)-k), one = vdupq_n_s16(k ? 1 : 0);
    const int16x8_t bias = vdupq_n_s16((int16_t)(k ? (1 << (k - 1)) - 1 : 0));
    for (size_t c = 0;; c += 16) {
        if (c + 16 > C) c = C - 16;
        int16x8_t lo = vdupq_n_s16(0), hi = vdupq_n_s16(0);
        for (int i = 0; i < nt; i++) {
            if (sign) {
                const int8x16_t x = vld1q_s8((const int8_t *)tap[i] + c);
                lo = vaddw_s8(lo, vget_low_s8(x));
                hi = vaddw_high_s8(hi, x);
            } else {
                const uint8x16_t x = vld1q_u8(tap[i] + c);
                lo = vreinterpretq_s16_u16(vaddw_u8(vreinterpretq_u16_s16(lo), vget_low_u8(x)));
                hi = vreinterpretq_s16_u16(vaddw_high_u8(vreinterpretq_u16_s16(hi), x));
            }
        }
        lo = vshlq_s16(vaddq_s16(vaddq_s16(lo, bias), vandq_s16(vshlq_s16(lo, sh), one)), sh);
        hi = vshlq_s16(vaddq_s16(vaddq_s16(hi, bias), vandq_s16(vshlq_s16(hi, sh), one)), sh);
        vst1q_u8(o + c, vreinterpretq_u8_s8(vcombine_s8(vmovn_s16(lo), vmovn_s16(hi))));
        if (c + 16 >= C) break;
    }
}

static inline __attribute__((always_inline)) void avg2_run(int sign, const ep_pool_params *p,
                                                           int OH, int OW, const uint8_t *in,
                                                           uint8_t *out) {
    const int H = p->h, W = p->w, pt = p->pt, pl = p->pl, cip = p->count_include_pad;
    const size_t C = (size_t)p->c, irow = (size_t)W * C, orow = (size_t)OW * C;
    const int i0 = ep_imin(OW, (pl + 1) / 2);
    const int i1 = ep_imax(i0, ep_imin(OW, ep_floordiv(W - 2 + pl, 2) + 1));
    for (int oy = 0; oy < OH; oy++) {
        const int y = 2 * oy - pt;
        uint8_t *q = out + (size_t)oy * orow;
        int ox = 0;
        if (y >= 0 && y + 1 < H && i1 > i0) {
            const uint8_t *a = in + (size_t)y * irow + (size_t)(2 * i0 - pl) * C, *e = a + irow;
            uint8_t *o = q + (size_t)i0 * C;
            const size_t step = 2 * C;
            if (C == 32) {
                for (int n = i1 - i0; n > 0; n--, a += step, e += step, o += C) {
#if defined(EP_MCA)
                    if (sign) __asm__ volatile("# LLVM-MCA-BEGIN avg2");
#endif
                    int16x8_t l0, h0, l1, h1;
                    avg2_pair(sign, a, a + 32, &l0, &h0);
                    avg2_pair(sign, e, e + 32, &l1, &h1);
                    const uint8x16_t v0 = avg2_div4(l0, h0, l1, h1);
                    avg2_pair(sign, a + 16, a + 48, &l0, &h0);
                    avg2_pair(sign, e + 16, e + 48, &l1, &h1);
                    vst1q_u8(o, v0);
                    vst1q_u8(o + 16, avg2_div4(l0, h0, l1, h1));
#if defined(EP_MCA)
                    if (sign) __asm__ volatile("# LLVM-MCA-END avg2");
#endif
                }
            } else if (C == 16) {
                for (int n = i1 - i0; n > 0; n--, a += step, e += step, o += C) {
                    int16x8_t l0, h0, l1, h1;
                    avg2_pair(sign, a, a + 16, &l0, &h0);
                    avg2_pair(sign, e, e + 16, &l1, &h1);
                    vst1q_u8(o, avg2_div4(l0, h0, l1, h1));
                }
            } else if (C % 32 == 0) {
                for (int n = i1 - i0; n > 0; n--, a += step, e += step)
                    for (size_t c = 0; c < C; c += 32, o += 32) {
                        int16x8_t l0, h0, l1, h1, l2, h2, l3, h3;
                        avg2_pair(sign, a + c, a + C + c, &l0, &h0);
                        avg2_pair(sign, e + c, e + C + c, &l1, &h1);
                        avg2_pair(sign, a + c + 16, a + C + c + 16, &l2, &h2);
                        avg2_pair(sign, e + c + 16, e + C + c + 16, &l3, &h3);
                        vst1q_u8(o, avg2_div4(l0, h0, l1, h1));
                        vst1q_u8(o + 16, avg2_div4(l2, h2, l3, h3));
                    }
            } else {
                for (int n = i1 - i0; n > 0; n--, a += step, e += step, o += C)
                    avg2_px4(sign, o, a, e, C);
            }
            if (i0 == 0 && i1 == OW) continue;
        }
        const int cy = axis_count(oy, 2, 2, pt, H, p->pb, 1, cip);
        const int full = y >= 0 && y + 1 < H;
        for (; ox < OW; ox++) {
            if (full && ox == i0 && i1 > i0) ox = i1;
            if (ox >= OW) break;
            const int x = 2 * ox - pl;
            const int n = cy * axis_count(ox, 2, 2, pl, W, p->pr, 1, cip);
            const uint8_t *tap[4];
            int nt = 0;
            for (int dy = 0; dy < 2; dy++)
                for (int dx = 0; dx < 2; dx++)
                    if (y + dy >= 0 && y + dy < H && x + dx >= 0 && x + dx < W)
                        tap[nt++] = in + (size_t)(y + dy) * irow + (size_t)(x + dx) * C;
            avg2_px_any(sign, q + (size_t)ox * C, tap, nt, n >= 4 ? 2 : n >> 1, C);
        }
    }
}

static void avg2_i8(const ep_pool_params *p, int OH, int OW, const void *in, void *out) {
    avg2_run(1, p, OH, OW, (const uint8_t *)in, (uint8_t *)out);
}

static void avg2_u8(const ep_pool_params *p, int OH, int OW, const void *in, void *out) {
    avg2_run(0, p, OH, OW, (const uint8_t *)in, (uint8_t *)out);
}

static int avg_type_ok(ep_dtype t) {
    return t == EP_I8 || t == EP_U8 || t == EP_I16 || t == EP_U16 || t == EP_F32;
}

size_t ep_avgpool_scratch_bytes(const ep_pool_params *p, ep_dtype t) {
    ep_win g;
    if (!avg_type_ok(t) || win_init(p, 0, &g)) return 0;
    if (avg2_ok(p, t)) return 0;
    if (t == EP_F32) return scratch_fsum(&g);
    if (g.kh * g.dh + 1 > EP_MAX_ROWS + 1) return 0;
    ep_carver cv;
    ep_carver_init(&cv, NULL);
    if (avg8_ok(&g, t)) {
        avg8_layout a8;
        avg8_carve(&g, &cv, &a8);
        return ep_carver_size(&cv);
    }
    avg_layout a;
    avg_carve(&g, &cv, &a);
    return ep_carver_size(&cv);
}

int ep_avgpool(const ep_pool_params *p, ep_dtype t, const void *in, void *out, void *scratch) {
    ep_win g;
    if (!p || !in || !out) return EP_EINVAL;
    if (!avg_type_ok(t)) return EP_ETYPE;
    if (avg2_ok(p, t)) {            /* no scratch */
        int oh, ow, rc = ep_pool_output_shape(p, &oh, &ow);
        if (rc) return rc;
        if (t == EP_I8) avg2_i8(p, oh, ow, in, out);
        else avg2_u8(p, oh, ow, in, out);
        return EP_OK;
    }
    if (!scratch) return EP_EINVAL;
    int rc = win_init(p, 0, &g);
    if (rc) return rc;
    if (t != EP_F32) {
        if (g.kh * g.dh + 1 > EP_MAX_ROWS + 1) return EP_EINVAL;
        if ((long long)g.kh * g.kw > EP_AVG_MAX_COUNT) return EP_EINVAL;   /* int32 sums */
        if (avg8_ok(&g, t)) {
            avg8(p, &g, t, in, out, scratch);
            return EP_OK;
        }
        avg_int(p, &g, t, in, out, scratch);
        return EP_OK;
    }
    copy_ctx c = {(const char *)in, (size_t)p->w * p->c * 4};
    engine_fsum(&g, copy_row, &c, (float *)out, scratch);
    float *o = (float *)out;
    for (int oy = 0; oy < g.OH; oy++) {
        int cy = axis_count(oy, g.kh, g.sh, g.pt, g.H, g.pb, g.dh, p->count_include_pad);
        for (int ox = 0; ox < g.OW; ox++) {
            int cnt = cy * axis_count(ox, g.kw, g.sw, g.pl, g.W, g.pr, g.dw, p->count_include_pad);
            const float den = (float)(cnt < 1 ? 1 : cnt);
            float *q = o + ((size_t)oy * g.OW + ox) * g.C;
            for (int c = 0; c < g.C; c++) q[c] /= den;
        }
    }
    return EP_OK;
}

/* ------------------------------------------------------------------ global pooling */
#define GMAX(TT, VV, LL, VLDX, VSTX, VMAXX)                                           \
    do {                                                                             \
        const TT *x = (const TT *)in;                                                \
        TT *o = (TT *)out;                                                           \
        int c = 0;                                                                   \
        if (C >= LL) {                                                               \
            for (;; c += LL) {                                                       \
                if (c + LL > C) c = C - LL;                                          \
                VV m = VLDX(x + c);                                                  \
                for (size_t i = 1; i < n; i++) m = VMAXX(m, VLDX(x + i * C + c));    \
                VSTX(o + c, m);                                                      \
                if (c + LL >= C) break;                                              \
            }                                                                        \
        } else {                                                                     \
            for (; c < C; c++) {                                                     \
                TT m = x[c];                                                         \
                for (size_t i = 1; i < n; i++) m = x[i * C + c] > m ? x[i * C + c] : m; \
                o[c] = m;                                                            \
            }                                                                        \
        }                                                                            \
    } while (0)

int ep_global_maxpool(int h, int w, int c, ep_dtype t, const void *in, void *out) {
    if (h < 1 || w < 1 || c < 1 || !in || !out) return EP_EINVAL;
    const size_t n = (size_t)h * w;
    const int C = c;
    switch (t) {
    case EP_I8: GMAX(int8_t, int8x16_t, 16, vld1q_s8, vst1q_s8, vmaxq_s8); break;
    case EP_U8: GMAX(uint8_t, uint8x16_t, 16, vld1q_u8, vst1q_u8, vmaxq_u8); break;
    case EP_I16: GMAX(int16_t, int16x8_t, 8, vld1q_s16, vst1q_s16, vmaxq_s16); break;
    case EP_U16: GMAX(uint16_t, uint16x8_t, 8, vld1q_u16, vst1q_u16, vmaxq_u16); break;
    case EP_F32: GMAX(float, float32x4_t, 4, vld1q_f32, vst1q_f32, vmaxq_f32); break;
    default: return EP_ETYPE;
    }
    return EP_OK;
}

/* four channels widened to int32 lanes */
static inline int32x4_t widen4(ep_dtype t, const void *p) {
    switch (t) {
    case EP_I8: {
        int8_t b[8] = {0};
        memcpy(b, p, 4);
        return vmovl_s16(vget_low_s16(vmovl_s8(vld1_s8(b))));
    }
    case EP_U8: {
        uint8_t b[8] = {0};
        memcpy(b, p, 4);
        return vreinterpretq_s32_u32(vmovl_u16(vget_low_u16(vmovl_u8(vld1_u8(b)))));
    }
    case EP_I16: return vmovl_s16(vld1_s16((const int16_t *)p));
    default: return vreinterpretq_s32_u32(vmovl_u16(vld1_u16((const uint16_t *)p)));
    }
}

int ep_global_avgpool(int h, int w, int c, ep_dtype t, const void *in, void *out) {
    if (h < 1 || w < 1 || c < 1 || !in || !out) return EP_EINVAL;
    const size_t n = (size_t)h * w, C = (size_t)c;
    if (t == EP_F32) {
        const float *x = (const float *)in;
        size_t ch = 0;
        for (; ch + 4 <= C; ch += 4) {
            float64x2_t lo = vdupq_n_f64(0), hi = vdupq_n_f64(0);
            for (size_t i = 0; i < n; i++) {
                float32x4_t v = vld1q_f32(x + i * C + ch);
                lo = vaddq_f64(lo, vcvt_f64_f32(vget_low_f32(v)));
                hi = vaddq_f64(hi, ep_vcvt_high_f64_f32(v));
            }
            float r[4];
            vst1q_f32(r, vcombine_f32(vcvt_f32_f64(ep_vdivq_f64(lo, vdupq_n_f64((double)n))),
                                      vcvt_f32_f64(ep_vdivq_f64(hi, vdupq_n_f64((double)n)))));
            memcpy((float *)out + ch, r, sizeof r);
        }
        for (; ch < C; ch++) {
            double s = 0;
            for (size_t i = 0; i < n; i++) s += x[i * C + ch];
            ((float *)out)[ch] = (float)(s / (double)n);
        }
        return EP_OK;
    }
    if (t != EP_I8 && t != EP_U8 && t != EP_I16 && t != EP_U16) return EP_ETYPE;
    const size_t es = ep_dtype_size(t);
    const char *x = (const char *)in;
    size_t ch = 0;
    /* int32 partial sums over chunks of 2**14 pixels (|v| < 2**16: no overflow), int64 total */
    for (; ch + 4 <= C; ch += 4) {
        int64x2_t lo = vdupq_n_s64(0), hi = vdupq_n_s64(0);
        for (size_t i0 = 0; i0 < n; i0 += 16384) {
            size_t i1 = i0 + 16384 < n ? i0 + 16384 : n;
            int32x4_t s = vdupq_n_s32(0);
            for (size_t i = i0; i < i1; i++) s = vaddq_s32(s, widen4(t, x + (i * C + ch) * es));
            lo = vaddw_s32(lo, vget_low_s32(s));
            hi = vaddw_s32(hi, vget_high_s32(s));
        }
        int64_t tot[4];
        vst1q_s64(tot, lo);
        vst1q_s64(tot + 2, hi);
        for (int k = 0; k < 4; k++)
            ep_rq_store(out, ch + k, t, ep_div_round_s64(tot[k], (int64_t)n));
    }
    for (; ch < C; ch++) {
        int64_t s = 0;
        for (size_t i = 0; i < n; i++) {
            const char *q = x + (i * C + ch) * es;
            switch (t) {
            case EP_I8: s += *(const int8_t *)q; break;
            case EP_U8: s += *(const uint8_t *)q; break;
            case EP_I16: { int16_t v; memcpy(&v, q, 2); s += v; break; }
            default: { uint16_t v; memcpy(&v, q, 2); s += v; break; }
            }
        }
        ep_rq_store(out, ch, t, ep_div_round_s64(s, (int64_t)n));
    }
    return EP_OK;
}
