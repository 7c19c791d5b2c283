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

typedef void (*ep_row_fn)(void *ctx, int y, void *dst);

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
#define SFX i8
#define T int8_t
#define V int8x16_t
#define L 16
#define VLD vld1q_s8
#define VST vst1q_s8
#define VOP vmaxq_s8
#define FILLV INT8_MIN
#define VH_OK 1
#include "pool_tmpl.h"
#undef SFX
#undef T
#undef V
#undef L
#undef VLD
#undef VST
#undef VOP
#undef FILLV

#define SFX u8
#define T uint8_t
#define V uint8x16_t
#define L 16
#define VLD vld1q_u8
#define VST vst1q_u8
#define VOP vmaxq_u8
#define FILLV 0
#include "pool_tmpl.h"
#undef SFX
#undef T
#undef V
#undef L
#undef VLD
#undef VST
#undef VOP
#undef FILLV

#define SFX i16
#define T int16_t
#define V int16x8_t
#define L 8
#define VLD vld1q_s16
#define VST vst1q_s16
#define VOP vmaxq_s16
#define FILLV INT16_MIN
#include "pool_tmpl.h"
#undef SFX
#undef T
#undef V
#undef L
#undef VLD
#undef VST
#undef VOP
#undef FILLV

#define SFX u16
#define T uint16_t
#define V uint16x8_t
#define L 8
#define VLD vld1q_u16
#define VST vst1q_u16
#define VOP vmaxq_u16
#define FILLV 0
#include "pool_tmpl.h"
#undef SFX
#undef T
#undef V
#undef L
#undef VLD
#undef VST
#undef VOP
#undef FILLV

#define SFX f32
#define T float
#define V float32x4_t
#define L 4
#define VLD vld1q_f32
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

/* A window covering only padding has no value in fixed point (edgepool.ir.kernels.max_pool
 * rejects it); float gives -inf. */
int ep__max_empty_window(const ep_pool_params *p, ep_dtype t) {
    int oh, ow;
    if (t == EP_F32 || ep_pool_output_shape(p, &oh, &ow)) return 0;
    return axis_has_empty(oh, p->kh, p->sh, p->pt, p->h, p->dh) ||
           axis_has_empty(ow, p->kw, p->sw, p->pl, p->w, p->dw);
}

/* In-place fast paths (pool_tmpl.h): dilation 1, square 2x2 or 3x3 window, no window made
 * of padding only; AUTO and DIRECT only (VANHERK forces the engine). */
enum { FP_NONE = 0, FP_K3S1, FP_K3S1_FLAT, FP_K3S2, FP_K2 };

static int fast_path(const ep_pool_params *p, const ep_win *g, ep_dtype t) {
    (void)g;
    if (p->algo == EP_ALGO_VANHERK || p->dh != 1 || p->dw != 1 || p->kh != p->kw) return FP_NONE;
    if (axis_has_empty(g->OH, p->kh, p->sh, p->pt, p->h, 1) ||
        axis_has_empty(g->OW, p->kw, p->sw, p->pl, p->w, 1))
        return FP_NONE;
    const int wide = p->c >= lanes_of(t);
    if (p->kh == 3 && p->sh == 1 && p->sw == 1) return wide ? FP_K3S1 : FP_K3S1_FLAT;
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
    int fp = fast_path(p, &g, t);
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

int ep_maxpool(const ep_pool_params *p, ep_dtype t, const void *in, void *out, void *scratch) {
    ep_win g;
    if (!p || !in || !out) return EP_EINVAL;
    if (!max_type_ok(t)) return EP_ETYPE;
    int rc = win_init(p, 1, &g);
    if (rc) return rc;
    if (ep__max_empty_window(p, t)) return EP_EINVAL;
    int fp = fast_path(p, &g, t);
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
    case FP_K3S2: k3s2_##S(&g, (const TT *)in, (TT *)out); break;                      \
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

static void widen_row(ep_dtype t, const void *src, int32_t *dst, size_t n) {
    switch (t) {
    case EP_I8: for (size_t i = 0; i < n; i++) dst[i] = ((const int8_t *)src)[i]; break;
    case EP_U8: for (size_t i = 0; i < n; i++) dst[i] = ((const uint8_t *)src)[i]; break;
    case EP_I16: for (size_t i = 0; i < n; i++) dst[i] = ((const int16_t *)src)[i]; break;
    default: for (size_t i = 0; i < n; i++) dst[i] = ((const uint16_t *)src)[i]; break;
    }
}

/* sum row (int32) / count rounded half to even; |sum| < 2**52 makes the float64 quotient's
 * round-to-nearest-even exact (distance to a tie >= 1/(2 den) > rounding error). */
static inline int32x4_t div_rne_s32(int32x4_t s, float64x2_t den) {
    float64x2_t lo = vcvtq_f64_s64(vmovl_s32(vget_low_s32(s)));
    float64x2_t hi = vcvtq_f64_s64(vmovl_s32(vget_high_s32(s)));
    int64x2_t ql = vcvtq_s64_f64(vrndnq_f64(ep_vdivq_f64(lo, den)));
    int64x2_t qh = vcvtq_s64_f64(vrndnq_f64(ep_vdivq_f64(hi, den)));
    return vcombine_s32(vmovn_s64(ql), vmovn_s64(qh));
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
        for (int ox = 0; ox < g->OW; ox++) {
            int cnt = a.cy[oy] * a.cx[ox];
            if (cnt < 1) cnt = 1;
            const float64x2_t den = vdupq_n_f64((double)cnt);
            const size_t b = (size_t)ox * C;
            for (size_t c = 0; c < C; c += 4) {
                int32x4_t s = vsubq_s32(vld1q_s32(bot + b + c), vld1q_s32(top + b + c));
                vst1q_s32(a.sum + b + c, cnt == 1 ? s : div_rne_s32(s, den));
            }
        }
        void *o = (char *)out + (size_t)oy * rowo * es;
        switch (t) {
        case EP_I8: for (size_t j = 0; j < rowo; j++) ((int8_t *)o)[j] = (int8_t)a.sum[j]; break;
        case EP_U8: for (size_t j = 0; j < rowo; j++) ((uint8_t *)o)[j] = (uint8_t)a.sum[j]; break;
        case EP_I16:
            for (size_t j = 0; j < rowo; j++) ((int16_t *)o)[j] = (int16_t)a.sum[j];
            break;
        default:
            for (size_t j = 0; j < rowo; j++) ((uint16_t *)o)[j] = (uint16_t)a.sum[j];
            break;
        }
    }
}

static int avg_type_ok(ep_dtype t) {
    return t == EP_I8 || t == EP_U8 || t == EP_I16 || t == EP_U16 || t == EP_F32;
}

size_t ep_avgpool_scratch_bytes(const ep_pool_params *p, ep_dtype t) {
    ep_win g;
    if (!avg_type_ok(t) || win_init(p, 0, &g)) return 0;
    if (t == EP_F32) return scratch_fsum(&g);
    if (g.kh * g.dh + 1 > EP_MAX_ROWS + 1) return 0;
    ep_carver cv;
    avg_layout a;
    ep_carver_init(&cv, NULL);
    avg_carve(&g, &cv, &a);
    return ep_carver_size(&cv);
}

int ep_avgpool(const ep_pool_params *p, ep_dtype t, const void *in, void *out, void *scratch) {
    ep_win g;
    if (!p || !in || !out || !scratch) return EP_EINVAL;
    if (!avg_type_ok(t)) return EP_ETYPE;
    int rc = win_init(p, 0, &g);
    if (rc) return rc;
    if (t != EP_F32) {
        if (g.kh * g.dh + 1 > EP_MAX_ROWS + 1) return EP_EINVAL;
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
