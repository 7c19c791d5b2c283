// SPDX-License-Identifier: Apache-2.0
/*
 * edgepool_neon.h -- ARM NEON sliding-window kernels (Cortex-A53 class, no sdot).
 *
 * Conventions
 * -----------
 *  * Tensors are channels last (H, W, C), batch 1, densely packed.
 *  * Integer tensors hold fixed-point values ``real * 2**frac``; the kernels never see ``frac``:
 *    power-of-two rescaling is the requantizer's ``shift``.
 *  * Every result is bit-exact with edgepool.ir.kernels (round half to even everywhere, exact
 *    accumulation: int8 x int8 -> int32, int16 x int16 -> int32 products summed in int64).
 *  * Pads are (top, left, bottom, right) as in ONNX. Max pooling: padding never wins (-inf).
 *  * Every kernel that needs memory beyond its input and output takes a caller-provided
 *    ``scratch`` buffer of ``*_scratch_bytes()`` bytes (any alignment is fine; 16 is best).
 *    No kernel allocates.
 *  * Functions return 0 on success, a negative EP_E* code on bad parameters.
 */
#ifndef EDGEPOOL_NEON_H
#define EDGEPOOL_NEON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Element types. The integer value is part of the driver's binary descriptor format. */
typedef enum {
    EP_I8 = 0,   /**< int8_t   */
    EP_U8 = 1,   /**< uint8_t  */
    EP_I16 = 2,  /**< int16_t  */
    EP_U16 = 3,  /**< uint16_t */
    EP_I32 = 4,  /**< int32_t  (accumulators) */
    EP_I64 = 5,  /**< int64_t  (accumulators) */
    EP_F32 = 6   /**< float    */
} ep_dtype;

enum { EP_OK = 0, EP_EINVAL = -1, EP_ETYPE = -2, EP_ESHAPE = -3,
       EP_ERANGE = -4   /**< a weight outside its declared bit width, or an accumulator bound
                             (proven from the types and the bias) that does not hold        */
};

/** Most threads a kernel splits its output over (ep_conv_params.threads, EP_D_THREADS). */
#define EP_MAX_THREADS 8

/** Algorithm choice for pooling / convolution (EP_ALGO_AUTO picks by a cost model). */
typedef enum {
    EP_ALGO_AUTO = 0,
    EP_ALGO_DIRECT = 1,     /**< pooling: direct separable max/sum over the k taps          */
    EP_ALGO_VANHERK = 2,    /**< max pooling: van Herk/Gil-Werman in both directions          */
    EP_ALGO_SLIDING = 3,    /**< conv: sliding-window (shifted rows x weight, row accumulator) */
    EP_ALGO_IM2COL = 4,     /**< conv: im2col + GEMM (same micro-kernel, k^2-times the input)  */
    EP_ALGO_RB = 5,         /**< conv: register-blocked tiles (4 pixels x 16/8 output channels
                                 in registers, fused requantize), see ep_conv_algo()          */
    EP_ALGO_WINO = 6,       /**< conv: Winograd F(2x2, 3x3), int8 3x3 stride 1, exact
                                 (neon/src/conv_wino.c), see ep_conv_algo()                   */
    EP_ALGO_DW = 7          /**< conv: register-blocked depthwise 3x3 (and 3x3 of one input
                                 channel), int8, horizontal stride 1 or 2
                                 (neon/src/conv_dw.c), see ep_conv_algo()                     */
} ep_algo;

/** Size of one element of ``t`` in bytes. */
size_t ep_dtype_size(ep_dtype t);

/* ----------------------------------------------------------------------------- pooling */

/** A 2-D pooling window over an (h, w, c) input, ONNX attribute meanings. */
typedef struct {
    int h, w, c;                 /**< input shape (H, W, C)                                  */
    int kh, kw;                  /**< kernel                                                 */
    int sh, sw;                  /**< strides (>= 1)                                         */
    int pt, pl, pb, pr;          /**< pads top, left, bottom, right (>= 0)                   */
    int dh, dw;                  /**< dilations (>= 1)                                       */
    int ceil_mode;               /**< ONNX/PyTorch ceil_mode (window starting in the end pad
                                      is dropped)                                            */
    int count_include_pad;       /**< average: explicit padding counts in the divisor; the
                                      ceil-mode overhang never does                          */
    int algo;                    /**< ep_algo: AUTO, DIRECT or VANHERK (max pooling)          */
} ep_pool_params;

/** ONNX output length of one axis (the rule of edgepool.ir.kernels.pool_output_size), or -1
 *  when the dilated window is larger than the padded input. */
int ep_pool_output_size(int size, int k, int s, int pad_begin, int pad_end, int dilation,
                        int ceil_mode);

/** Output (oh, ow) of a pooling window; returns EP_OK or an error code. */
int ep_pool_output_shape(const ep_pool_params *p, int *oh, int *ow);

/**
 * Max pooling, dtype EP_I8, EP_U8, EP_I16, EP_U16 or EP_F32; output (oh, ow, c) of the same type.
 * Algorithm: separable, rows then columns, vectorized across channels (16/8/4 lanes).
 * Horizontally every needed input row is copied once into a padded row (padding = type minimum
 * / -inf), then reduced over kw taps either directly (kw - 1 vmax per output) or by van Herk /
 * Gil-Werman (prefix and suffix maxima over blocks of kw: 3 vmax per output for any kw).
 * Vertically the same choice over cached horizontal rows. Fast paths: 2x2 stride 2 and 3x3
 * stride 2 without padding/dilation read the input directly (no scratch).
 * Scratch: O(kh * ow * c + w * c) elements (a few rows), never O(h * w * c).
 * Integer types: a configuration where some window covers only padding (possible with dilation
 * or large pads) has no fixed-point value and returns EP_EINVAL (float gives -inf), as
 * edgepool.ir.kernels.max_pool / empty_windows.
 */
size_t ep_maxpool_scratch_bytes(const ep_pool_params *p, ep_dtype t);
int ep_maxpool(const ep_pool_params *p, ep_dtype t, const void *in, void *out, void *scratch);

/**
 * Average pooling, dtype EP_I8, EP_U8, EP_I16, EP_U16 (exact) or EP_F32.
 * Integers: sliding-window sums from running (prefix) sums in int32 lanes, horizontally then
 * vertically (2 adds + 1 subtract per output whatever the window), then the exact integer
 * division by the element count rounded half to even (edgepool.ir.kernels.div_round).
 * Float: direct separable float32 sums, then one division.
 * Scratch: O((kh * dh + 2) * ow * c + w * c) int32 (a few rows).
 */
size_t ep_avgpool_scratch_bytes(const ep_pool_params *p, ep_dtype t);
int ep_avgpool(const ep_pool_params *p, ep_dtype t, const void *in, void *out, void *scratch);

/** Global max pooling of (h, w, c) to (c,); no scratch. */
int ep_global_maxpool(int h, int w, int c, ep_dtype t, const void *in, void *out);
/** Global average pooling of (h, w, c) to (c,), integer mean rounded half to even. No scratch. */
int ep_global_avgpool(int h, int w, int c, ep_dtype t, const void *in, void *out);

/* ----------------------------------------------------------------------------- requantization */

/**
 * Accumulator -> output type: ``y = clamp(relu?(round_half_even(acc * 2**-shift)), qmin, qmax)``
 * (edgepool.ir.kernels.requantize with shift = acc_frac - out_frac; shift <= 0 is an exact left
 * shift, saturating). ``out`` is EP_I8, EP_U8, EP_I16, EP_U16 or EP_I32; qmin/qmax give the range
 * (narrow types: qmin = -127 etc.) and must lie inside the range of ``out``.
 */
typedef struct {
    int shift;
    int relu;
    int32_t qmin, qmax;
    int out;                     /**< ep_dtype of the output */
} ep_requant;

int ep_requantize_i32(const int32_t *acc, size_t n, const ep_requant *rq, void *out);
int ep_requantize_i64(const int64_t *acc, size_t n, const ep_requant *rq, void *out);

/* ----------------------------------------------------------------------------- thresholds */
/* Multi-threshold activation (edgepool.ir.kernels.threshold) of channels-last int32
 * accumulators acc[pixels][channels]: y = base + step * #{k : dir[c] * acc >= thr[k][c]}
 * (thresholds k-major, each channel's column non-decreasing; dir NULL = all +1; step 2 and
 * base -1 for bipolar codes). out_dtype: EP_I8/U8/I16/U16/I32 (values are not saturated: the
 * caller's thresholds keep them in range). Returns EP_OK, EP_EINVAL or EP_ETYPE. */
int ep_threshold_i32(const int32_t *acc, size_t pixels, size_t channels, const int32_t *thr,
                     size_t n, const int32_t *dir, int32_t base, int32_t step, int out_dtype,
                     void *out);

/* ----------------------------------------------------------------------------- XNOR-popcount */
/* Fully connected layer with bipolar (±1) weights, batch 1 (xnor.c): y = W x + b for int8 x,
 * W packed one bit per weight (1 = +1, bit j of byte k = weight 8k + j, rows of
 * ep_xnor_row_bytes(n) bytes) by ep_xnor_pack (EP_ERANGE for a weight other than ±1). An
 * all-±1 input runs XNOR (eor) + popcount (cnt); zeros or wider codes stay exact on slower
 * paths. bias int32 or NULL; rq NULL = int32 accumulators out. */
size_t ep_xnor_row_bytes(int n);
int ep_xnor_pack(int n, int m, const int8_t *w, uint8_t *bits);
int ep_fc_xnor(int n, int m, const int8_t *x, const uint8_t *wbits, const int32_t *bias,
               const ep_requant *rq, void *out);

/* ----------------------------------------------------------------------------- convolution */

/** Convolution geometry (ONNX Conv with explicit pads); input (h, w, ic), output (oh, ow, oc). */
typedef struct {
    int h, w, ic, oc;
    int kh, kw, sh, sw;
    int pt, pl, pb, pr;
    int dh, dw;
    int groups;                  /**< 1 dense, ic == oc == groups depthwise, any divisor works */
    int algo;                    /**< ep_algo: AUTO, SLIDING, IM2COL, RB, WINO or DW          */
    /* Trailing fields (zero = the defaults, so designated initializers written before they
     * existed keep their meaning): */
    int threads;                 /**< 0 or 1: one thread; up to EP_MAX_THREADS (RB only)      */
    int wbits;                   /**< declared weight bit width (signed, e.g. 4 for int4 values
                                      stored in int8); 0 = the full width of the type. Packing
                                      checks it (EP_ERANGE); the accumulator bound uses it.   */
    int narrow;                  /**< 1: weights symmetric, |w| <= 2^(wbits-1) - 1 (int8:
                                      [-127, 127]; checked when packing). With int8 and
                                      narrow or wbits <= 7, RB may take the dot-product tile. */
} ep_conv_params;

/**
 * dtype selects the arithmetic:
 *  * EP_I8:  int8 input and weights, int32 bias and accumulators (vmull_s8 + vpadalq_s16);
 *  * EP_I16: int16 input and weights, int64 bias and accumulators (vmull_s16 + vpadalq_s32);
 *  * EP_F32: float input, weights, bias, float32 accumulation (vfmaq).
 * Weights come in HwLayer layout (oc, kh, kw, ic / groups) and are packed once with
 * ep_conv_pack() into ep_conv_packed_bytes(): [group][tap][ic pair][oc rounded to 8][2]
 * (depthwise: [tap][c]).
 */
int ep_conv_output_shape(const ep_conv_params *p, int *oh, int *ow);
size_t ep_conv_packed_bytes(const ep_conv_params *p, ep_dtype t);
int ep_conv_pack(const ep_conv_params *p, ep_dtype t, const void *w_ohwi, void *packed);

/**
 * The algorithm ep_conv runs for ``p`` (AUTO resolved by the cost model; the packed layout
 * follows it). EP_ALGO_RB -- register-blocked, dense (groups 1), dilation 1, EP_I8 / EP_I16:
 *  * EP_I8: for each output row and kernel row ky, the KW * IC input elements of a window row
 *    are contiguous (channels last), so the reduction runs over them as one vector of
 *    Kr = KW * IC (rounded up to 8). A tile of 4 output pixels x 16 (or 8) output channels
 *    stays in 16 int32x4 registers; 8 inputs per pixel are widened to int16 (sxtl) and each
 *    multiplies 16 pre-widened int16 weights by lane (smlal / smlal2 by lane). Packed:
 *    [oc block][ky][Kr rounded to 8][16 or 8] int16 (blocks of 16, the last one 8 wide when
 *    at most 8 channels remain). Accumulator bound: KH*KW*IC * 128 * 2^(wbits-1) + max|bias|
 *    <= INT32_MAX, else EP_ERANGE.
 *  * EP_I8 with narrow weights (p->narrow, or wbits <= 7) and KH*KW*IC >= 128 (shorter
 *    reductions keep the lane tile, whose epilogue serves 4x more MACs): the dot-product
 *    tile, 4 pixels x 4 channels: 16 inputs times 16 weights by smull + smlal2 (two products per int16 lane:
 *    2 * 128 * 127 = 32,512 fits), sadalp into int32x4, one horizontal addp reduction per
 *    tile. Packed [oc block of 4][ky][Kr rounded to 16 / 16][4][16] int8.
 *  * EP_ALGO_WINO (AUTO where its cost is lowest): EP_I8, 3x3, stride 1, dilation 1, groups 1,
 *    any padding and int8 weights, 4 * 9 * IC * 128 * 2^(wbits-1) <= INT32_MAX: exact integer
 *    Winograd F(2x2, 3x3) with U' = G'gG'^T (G' = 2G), 4Y >> 2; packed [oc block of 16][16]
 *    [IC rounded to 8][16] int16 (neon/src/conv_wino.c, neon/README.md).
 *  * EP_I16: 4 pixels x 8 channels of int64 accumulators; pairs of inputs times pairs of
 *    weights (smull) added pairwise into int64 (sadalp): exact for any int16 values.
 *    Packed [oc block of 8][ky][Kr/2][8][2] int16.
 *  * EP_ALGO_DW (AUTO where its cost is lower than sliding): EP_I8 depthwise (groups == ic ==
 *    oc), 3x3, dilation 1, horizontal stride 1 or 2, any vertical stride and padding, any
 *    int8 weight width: tiles of 8 (4, 1) output pixels x 8 channels in 2 int32x4 registers
 *    per pixel across all 9 taps; inputs widened to int16 once per kernel row and shared by
 *    the overlapping windows, the channel block's 9 weight vectors in registers, smlal /
 *    smlal2. Packed [channel block of 8][9][8] int16 (neon/src/conv_dw.c). Accumulator
 *    bound as for RB (K = 9). Also EP_I8 3x3 convs of ONE input channel (groups 1, any
 *    output channels; the first layer of an image model): the input broadcast to 8 output
 *    channels, 4 pixels per tile from one 8-byte load per kernel row (smlal by lane).
 *  Requantize + ReLU + clamp run on the register tile before the store (no accumulator row).
 *  Padding: input rows are copied into zero-padded row buffers (scratch: KH rows per thread);
 *  without horizontal padding and with Kr % 8 == 0 the input is read in place.
 *  Threads: output (row, channel block) tiles split evenly over p->threads (pthreads).
 */
int ep_conv_algo(const ep_conv_params *p, ep_dtype t);
/** Estimated aarch64 instructions of a call with algorithm ``algo`` (AUTO's cost model). */
double ep_conv_cost(const ep_conv_params *p, ep_dtype t, int algo);

/**
 * Convolution. ``bias`` may be NULL. With ``rq == NULL`` the output is the raw accumulator
 * (int32 for EP_I8, int64 for EP_I16, float for EP_F32); otherwise every output row is
 * requantized (``rq->out`` type) as soon as it is complete (float: rq->relu only).
 * Sliding window (default): for each output row, for each tap (ky, kx), the shifted input row
 * times the tap's (ic x oc) weight matrix is accumulated into one output-row accumulator.
 * Scratch: ow * oc accumulators (+ one output row) -- O(one row).
 * im2col: scratch oh * ow * kh * kw * ic elements plus the accumulators -- O(k^2 * input).
 */
size_t ep_conv_scratch_bytes(const ep_conv_params *p, ep_dtype t);
int ep_conv(const ep_conv_params *p, ep_dtype t, const void *x, const void *packed,
            const void *bias, const ep_requant *rq, void *out, void *scratch);

/**
 * conv -> requantize (+ReLU) -> max pool, fused: the pre-pool tensor never reaches memory; only
 * the conv rows the pool window needs are kept (ring of pooled rows). ``pool->h, w, c`` are
 * ignored (they are the conv output shape); ``pool->count_include_pad`` unused. The output has
 * type ``rq->out`` (EP_I8, EP_U8, EP_I16, EP_U16), shape (poh, pow, oc).
 */
size_t ep_conv_maxpool_scratch_bytes(const ep_conv_params *p, ep_dtype t,
                                     const ep_pool_params *pool, const ep_requant *rq);
int ep_conv_maxpool(const ep_conv_params *p, ep_dtype t, const void *x, const void *packed,
                    const void *bias, const ep_requant *rq, const ep_pool_params *pool,
                    void *out, void *scratch);

/* ----------------------------------------------------------------------------- fully connected */

/**
 * y = W x + b for W (m, n) row-major (batch 1), widening MAC (smull/smull2 + sadalp):
 * EP_I8 -> int32 accumulators, EP_I16 -> int64, EP_F32 -> float. ``rq`` as in ep_conv.
 * No scratch.
 */
int ep_fc(int n, int m, ep_dtype t, const void *x, const void *w, const void *bias,
          const ep_requant *rq, void *out);

/**
 * Fully connected GEMV on pre-packed weights (EP_I8 only): weights streamed once, in blocks of
 * 4 rows interleaved per 16 inputs ([m / 4][n / 16][4][16] int8, zero padded), one input load
 * shared by 4 rows. Accumulation per proven bound (``wbits`` = declared weight width, checked
 * by ep_fc_pack):
 *  * wbits <= 4: smull + smlal2 products summed in int16 lanes for up to 15 input blocks
 *    (30 products of |x * w| <= 128 * 8 = 1024: <= 30,720 < 32,767), then sadalp into int32;
 *  * weights in [-127, 127] (``wbits`` = 8 and ``narrow`` = 1): two products per int16 lane
 *    (2 * 127 * 128 = 32,512), then sadalp;
 *  * otherwise: sadalp after every smull (int32 lanes).
 * ``threads``: row blocks split evenly over up to EP_MAX_THREADS threads. Results equal ep_fc.
 */
typedef struct {
    int n, m;                    /**< inputs, outputs                                         */
    int wbits;                   /**< declared weight width (0 or 8: full int8)               */
    int narrow;                  /**< 1: weights are in [-127, 127] (checked when packing)    */
    int threads;                 /**< 0/1 = one thread                                        */
} ep_fc_params;
size_t ep_fc_packed_bytes(const ep_fc_params *p);
int ep_fc_pack(const ep_fc_params *p, const int8_t *w, int8_t *packed);
int ep_fc_packed(const ep_fc_params *p, const int8_t *x, const int8_t *packed,
                 const int32_t *bias, const ep_requant *rq, void *out);

/* ----------------------------------------------------------------------------- descriptors */

/**
 * A whole operation as a flat int32 descriptor, so that a generic driver (the aarch64 test
 * driver, ctypes) can run any kernel: see neon/README.md "Descriptor format".
 */
enum {
    EP_OP_MAXPOOL = 1, EP_OP_AVGPOOL = 2, EP_OP_GLOBAL_MAX = 3, EP_OP_GLOBAL_AVG = 4,
    EP_OP_CONV = 5, EP_OP_FC = 6, EP_OP_REQUANT32 = 7, EP_OP_REQUANT64 = 8,
    EP_OP_CONV_MAXPOOL = 9,
    /* ep_threshold_i32: in = {acc, thresholds (k-major), dir or NULL}; EP_D_N pixels, EP_D_C
     * channels, EP_D_OC thresholds per channel, EP_D_RQ_QMIN base, EP_D_RQ_QMAX step,
     * EP_D_RQ_OUT output dtype */
    EP_OP_THRESHOLD = 10,
    /* ep_fc_xnor: in = {x int8, weight bits (ep_xnor_pack), bias int32 or NULL}; EP_D_N
     * inputs, EP_D_OC outputs, EP_D_RQ* as EP_OP_FC */
    EP_OP_FC_XNOR = 11
};
enum {
    EP_D_OP = 0, EP_D_DTYPE, EP_D_ALGO, EP_D_H, EP_D_W, EP_D_C, EP_D_KH, EP_D_KW, EP_D_SH,
    EP_D_SW, EP_D_PT, EP_D_PL, EP_D_PB, EP_D_PR, EP_D_DH, EP_D_DW, EP_D_CEIL, EP_D_CIP,
    EP_D_OC, EP_D_GROUPS, EP_D_RQ, EP_D_RQ_SHIFT, EP_D_RQ_RELU, EP_D_RQ_QMIN, EP_D_RQ_QMAX,
    EP_D_RQ_OUT, EP_D_PKH, EP_D_PKW, EP_D_PSH, EP_D_PSW, EP_D_PPT, EP_D_PPL, EP_D_PPB,
    EP_D_PPR, EP_D_PCEIL, EP_D_PALGO, EP_D_N,
    EP_D_THREADS,                /**< thread count (0 = 1)                                    */
    EP_D_FLAGS,                  /**< EP_F_* bits                                             */
    EP_D_WBITS,                  /**< declared weight bit width (0 = full)                    */
    EP_D_COUNT = 40
};
enum {
    EP_F_PREPACKED = 1,          /**< inputs[1] is already packed (ep_conv_pack / ep_fc_pack, or
                                      the identical Python packers in edgepool.neon)          */
    EP_F_NARROW = 2              /**< weights symmetric (int8: [-127, 127]), conv and FC      */
};

/** Output bytes and scratch bytes (including packed weights) of a descriptor; -1 if invalid. */
long long ep_desc_out_bytes(const int32_t *desc);
long long ep_desc_scratch_bytes(const int32_t *desc);
/** Run a descriptor: inputs[0] = x, inputs[1] = weights (HwLayer layout, packed internally),
 *  inputs[2] = bias (or NULL). ``scratch`` of ep_desc_scratch_bytes(). */
int ep_desc_run(const int32_t *desc, const void *const *inputs, void *out, void *scratch);
/** The conv algorithm a descriptor resolves to (ep_conv_algo) and its cost estimate. */
int ep_desc_conv_algo(const int32_t *desc);
double ep_desc_conv_cost(const int32_t *desc, int algo);
/** Packed weight bytes of a conv / int8 FC descriptor (-1 if none) and the packing itself
 *  (ep_conv_pack / ep_fc_pack): the build-time step behind EP_F_PREPACKED. */
long long ep_desc_packed_bytes(const int32_t *desc);
int ep_desc_pack(const int32_t *desc, const void *w, void *packed);

#ifdef __cplusplus
}
#endif
#endif /* EDGEPOOL_NEON_H */
