// SPDX-License-Identifier: Apache-2.0
// edgepool HLS library: the layer-by-layer, run-time configured overlay (the seed paper's style).
//
// ONE conv engine and ONE pool engine, capacities fixed at synthesis (config OV), run a whole
// HwProgram layer by layer. Per layer the overlay reads a 40-word descriptor (LayerDesc, layout
// below and in hls/README.md), then for each output-channel tile of tile_nf*PE channels:
//   1. loads the tile's weights (tile_nf*KH*KW*CF words of PE*SIMD lanes) and biases (DMA),
//   2. streams the input map from DDR (m_axi, HWC, SIMD container lanes per word) through the
//      conv engine, the optional fused pool engine, and writes the tile's channels back to DDR.
// Activations ping-pong between DDR regions chosen by the host (in_addr / out_addr).
// A standalone pool layer is one pass through the pool engine (LANES = SIMD).
// Conv layers with one output pixel (fully connected) stream their weights from DDR through the
// MAC array (flag bit7): no tile is buffered on chip (each weight is used once per image).
// Element widths: activations between layers use ACT_BITS containers; the conv engine's output
// lanes are OUT_BITS (>= ACT_BITS) wide so that a final raw-accumulator layer (out_bits field =
// OUT_BITS) writes its 32/64-bit values in OUT_BITS containers, while every other layer's lanes
// are narrowed to ACT_BITS (only the multipliers' inputs and the buffers depend on ACT_BITS).
//
// Descriptor: 40 little-endian 32-bit words (signed where noted):
//    0 magic 0xED900001     1 kind (0 conv, 1 pool)   2 flags (bit0 relu, bit1 in_signed,
//    bit2 out_signed, bit3 pool present, bit4 pool is avg, bit5 count_include_pad, bit6 raw
//    accumulator output: no saturation, out_lo/out_hi ignored; for outputs wider than 32 bits,
//    bit7 weights streamed from DDR (no wbuf tile; tile_nf only bounds the bias buffer))
//    3 in_h  4 in_w  5 in_c  6 out_c   7 conv_oh  8 conv_ow (pool input size; = in_h/in_w for a
//    pool layer)   9 kh 10 kw 11 sh 12 sw 13 dh 14 dw 15 pt 16 pl 17 pb 18 pr (conv window)
//   19 shift (int32)  20 out_lo (int32)  21 out_hi (int32)
//   22 pool_kh 23 pool_kw 24 pool_sh 25 pool_sw 26 pool_pt 27 pool_pl 28 pool_pb 29 pool_pr
//   30 pool_oh 31 pool_ow   32 tile_nf (output folds of PE channels per tile)
//   33 in_addr 34 out_addr (activation words)  35 w_addr (weight words)  36 b_addr (bias index)
//   37 out_bits: DDR container of the output elements (ACT_BITS, or OUT_BITS for a final raw
//      accumulator: a conv without pool)   38..39 reserved (0).
#ifndef EDGEPOOL_OVERLAY_H
#define EDGEPOOL_OVERLAY_H

#include <climits>

#include "common.h"
#include "conv.h"
#include "pool.h"

namespace edgepool {

static const int DESC_WORDS = 40;
static const unsigned DESC_MAGIC = 0xED900001u;

enum DescFlags {
    DF_RELU = 1, DF_IN_SIGNED = 2, DF_OUT_SIGNED = 4, DF_POOL = 8, DF_POOL_AVG = 16,
    DF_COUNT_PAD = 32, DF_RAW_ACC = 64, DF_W_STREAM = 128
};

struct LayerDesc {
    int w[DESC_WORDS];
    int kind() const { return w[1]; }
    int flags() const { return w[2]; }
};

// Overlay config OV (example in hls/README.md):
//   SIMD, PE (PE % SIMD == 0), ACT_BITS (activation container in DDR: 8, 16 or 32), OUT_BITS
//   (output container of a final raw-accumulator layer, a multiple of ACT_BITS), W_BITS,
//   ACC_BITS, LB_WORDS (conv line buffer), WBUF_WORDS (weight buffer, words of PE*SIMD lanes),
//   MAX_TILE_NF (bias buffer = MAX_TILE_NF*PE), PLB_WORDS (fused-pool line buffer, words of PE
//   lanes), SPLB_WORDS (standalone-pool line buffer, words of SIMD lanes), SUM_BITS (pool sums).
template <class OV>
struct OvConvT {
    static const int SIMD = OV::SIMD, PE = OV::PE, IN_EW = OV::ACT_BITS, OUT_EW = OV::OUT_BITS;
    static const int W_BITS = OV::W_BITS, ACC_BITS = OV::ACC_BITS, LB_WORDS = OV::LB_WORDS;
};
template <class OV>
struct OvFusedPoolT {
    static const int LANES = OV::PE, EW = OV::ACT_BITS, SUM_BITS = OV::SUM_BITS;
    static const int LB_WORDS = OV::PLB_WORDS;
};
template <class OV>
struct OvPoolT {
    static const int LANES = OV::SIMD, EW = OV::ACT_BITS, SUM_BITS = OV::SUM_BITS;
    static const int LB_WORDS = OV::SPLB_WORDS;
};

template <class OV>
struct OvTypes {
    typedef ap_uint<OV::SIMD * OV::ACT_BITS> act_word;     // DDR activation word
    typedef typename ConvTypes<OvConvT<OV> >::w_word w_word;
    typedef typename ConvTypes<OvConvT<OV> >::out_word pe_word;     // PE lanes of OUT_BITS
    typedef ap_uint<OV::PE * OV::ACT_BITS> pe_act_word;                // PE lanes of ACT_BITS
    typedef ap_int<64> bias_t;                             // bias memory entries
};

// DDR -> stream of n words from act[addr].
template <class OV>
void ov_read(const typename OvTypes<OV>::act_word* act, int addr, int n,
             hls::stream<typename OvTypes<OV>::act_word>& s) {
OV_RD:
    for (int i = 0; i < n; i++) {
#pragma HLS PIPELINE II = 1
        EP_COUNT("ovl.rd");
        s.write(act[addr + i]);
    }
}

// Narrow PE lanes of OUT_BITS to ACT_BITS (values already saturated to the output type).
template <class OV>
void ov_narrow(hls::stream<typename OvTypes<OV>::pe_word>& in,
               hls::stream<typename OvTypes<OV>::pe_act_word>& out, int n) {
OV_NAR:
    for (int i = 0; i < n; i++) {
#pragma HLS PIPELINE II = 1
        EP_COUNT("ovl.nar");
        const typename OvTypes<OV>::pe_word w = in.read();
        typename OvTypes<OV>::pe_act_word o;
        for (int l = 0; l < OV::PE; l++) {
#pragma HLS UNROLL
            o.range(l * OV::ACT_BITS + OV::ACT_BITS - 1, l * OV::ACT_BITS) =
                w.range(l * OV::OUT_BITS + OV::ACT_BITS - 1, l * OV::OUT_BITS);
        }
        out.write(o);
    }
}

// Stream of pixels x words_per_pixel words (LANES lanes of EW bits each) -> DDR words at
// act[addr + pixel * pix_stride + ch_off + j]. k = DDR words per SIMD lanes: 1 = ACT_BITS
// containers (lanes narrowed from EW to ACT_BITS), EW / ACT_BITS = EW-bit containers (a raw
// accumulator output: the lanes' bits as they are, little-endian lane order).
template <class OV, int LANES, int EW>
void ov_write(hls::stream<ap_uint<LANES * EW> >& s, typename OvTypes<OV>::act_word* act,
              int addr, int pixels, int words_per_pixel, int pix_stride, int ch_off, int k) {
    const int AW = OV::SIMD * OV::ACT_BITS;                  // bits of a DDR word
    const int per_word = LANES / OV::SIMD * k;               // DDR words per stream word
    const int per_pixel = words_per_pixel * per_word;
    ap_uint<LANES * EW> w = 0;
    int px = 0, j = 0, r = 0;
OV_WR:
    for (int i = 0; i < pixels * per_pixel; i++) {
#pragma HLS PIPELINE II = 1
        EP_COUNT("ovl.wr");
        if (r == 0) w = s.read();
        typename OvTypes<OV>::act_word o;
        if (k == 1) {
            for (int l = 0; l < OV::SIMD; l++) {
#pragma HLS UNROLL
                o.range(l * OV::ACT_BITS + OV::ACT_BITS - 1, l * OV::ACT_BITS) =
                    w.range((r * OV::SIMD + l) * EW + OV::ACT_BITS - 1, (r * OV::SIMD + l) * EW);
            }
        } else {
            o = w.range((r + 1) * AW - 1, r * AW);
        }
        act[addr + px * pix_stride + ch_off + j] = o;
        if (++r == per_word) r = 0;
        if (++j == per_pixel) {
            j = 0;
            px++;
        }
    }
}

// n weight words from DDR (wmem[addr..]) -> stream (weight-streaming layers; n = 0 otherwise).
template <class OV>
void ov_wstream(const typename OvTypes<OV>::w_word* wmem, int addr, int n,
                hls::stream<typename OvTypes<OV>::w_word>& s) {
OV_WS:
    for (int i = 0; i < n; i++) {
#pragma HLS PIPELINE II = 1
        EP_COUNT("ovl.ws");
        s.write(wmem[addr + i]);
    }
}

inline WinGeom desc_conv_geom(const LayerDesc& d, int simd) {
    WinGeom g = {d.w[3], d.w[4], d.w[5] / simd, d.w[9], d.w[10], d.w[11], d.w[12], d.w[13],
                 d.w[14], d.w[15], d.w[16], d.w[17], d.w[18], d.w[7], d.w[8]};
    return g;
}

// The pooling kind of a descriptor's flags (bit4: avg, else max).
inline PoolKind desc_pool_kind(int flags) { return (flags & DF_POOL_AVG) ? POOL_AVG : POOL_MAX; }

inline WinGeom desc_pool_geom(const LayerDesc& d, int words_per_pixel) {
    WinGeom g = {d.w[7], d.w[8], words_per_pixel, d.w[22], d.w[23], d.w[24], d.w[25], 1, 1,
                 d.w[26], d.w[27], d.w[28], d.w[29], d.w[30], d.w[31]};
    return g;
}

// One conv tile: DDR -> conv -> [narrow -> pool] -> DDR, a dataflow region. Weights from wbuf,
// or (DF_W_STREAM) streamed from wmem[w_addr..] by ov_wstream. k: DDR words per SIMD output
// lanes (1, or OUT_BITS / ACT_BITS for a raw accumulator output).
template <class OV>
void ov_conv_tile(const typename OvTypes<OV>::act_word* act_in,
                  typename OvTypes<OV>::act_word* act_out,
                  const typename OvTypes<OV>::w_word* wmem, const LayerDesc& d, int nf, int tile,
                  int k, const typename OvTypes<OV>::w_word* wbuf,
                  const typename ConvTypes<OvConvT<OV> >::acc_t* bbuf) {
#pragma HLS DATAFLOW
    typedef OvConvT<OV> CT;
    const WinGeom g = desc_conv_geom(d, OV::SIMD);
    const int flags = d.flags();
    const bool raw = (flags & DF_RAW_ACC) != 0;           // 64-bit accumulator output
    const bool wst = (flags & DF_W_STREAM) != 0;
    const ReqParams rq = {d.w[19], (flags & DF_RELU) != 0, (flags & DF_IN_SIGNED) != 0,
                          raw ? LLONG_MIN : (long long)d.w[20], raw ? LLONG_MAX : (long long)d.w[21]};
    const int out_c = d.w[6];
    const int kkcf = g.KH * g.KW * g.CF;
    const int ch_off = tile * d.w[32] * OV::PE / OV::SIMD * k;
    const int pix_stride = out_c / OV::SIMD * k;
    hls::stream<typename OvTypes<OV>::act_word> s_in("ov_in");
    hls::stream<typename OvTypes<OV>::w_word> s_w("ov_w");
    hls::stream<typename OvTypes<OV>::pe_word> s_conv("ov_conv");
#pragma HLS STREAM variable = s_in depth = 64
#pragma HLS STREAM variable = s_w depth = 64
#pragma HLS STREAM variable = s_conv depth = 2
    ov_read<OV>(act_in, d.w[33], g.H * g.W * g.CF, s_in);
    ov_wstream<OV>(wmem, d.w[35] + tile * d.w[32] * kkcf, wst ? nf * kkcf : 0, s_w);
    conv_core_ws<CT>(s_in, s_conv, g, nf, wbuf, s_w, wst, bbuf, rq);
    if (flags & DF_POOL) {
        hls::stream<typename OvTypes<OV>::pe_act_word> s_nar("ov_nar"), s_pool("ov_pool");
#pragma HLS STREAM variable = s_nar depth = 64
#pragma HLS STREAM variable = s_pool depth = 64
        const WinGeom pg = desc_pool_geom(d, nf);
        const PoolParams pp = {desc_pool_kind(flags), (flags & DF_COUNT_PAD) != 0,
                               (flags & DF_OUT_SIGNED) != 0};
        ov_narrow<OV>(s_conv, s_nar, g.OH * g.OW * nf);
        pool_core<OvFusedPoolT<OV> >(s_nar, s_pool, pg, pp);
        ov_write<OV, OV::PE, OV::ACT_BITS>(s_pool, act_out, d.w[34], pg.OH * pg.OW, nf,
                                           pix_stride, ch_off, 1);
    } else {
        ov_write<OV, OV::PE, OV::OUT_BITS>(s_conv, act_out, d.w[34], g.OH * g.OW, nf,
                                           pix_stride, ch_off, k);
    }
}

template <class OV>
void ov_pool_layer(const typename OvTypes<OV>::act_word* act_in,
                   typename OvTypes<OV>::act_word* act_out, const LayerDesc& d) {
#pragma HLS DATAFLOW
    const int cf = d.w[5] / OV::SIMD;
    const WinGeom pg = desc_pool_geom(d, cf);
    const int flags = d.flags();
    const PoolParams pp = {desc_pool_kind(flags), (flags & DF_COUNT_PAD) != 0,
                           (flags & DF_IN_SIGNED) != 0};
    hls::stream<typename OvTypes<OV>::act_word> s_in("ovp_in"), s_out("ovp_out");
#pragma HLS STREAM variable = s_in depth = 64
#pragma HLS STREAM variable = s_out depth = 64
    ov_read<OV>(act_in, d.w[33], pg.H * pg.W * cf, s_in);
    pool_core<OvPoolT<OV> >(s_in, s_out, pg, pp);
    ov_write<OV, OV::SIMD, OV::ACT_BITS>(s_out, act_out, d.w[34], pg.OH * pg.OW, cf, cf, 0, 1);
}

// The overlay: run n_layers descriptors. act_in and act_out are two m_axi views of the same DDR
// buffer (the host passes the same address twice); returns 0, or 1 + index of a layer whose
// descriptor is invalid (bad magic, or a buffer capacity exceeded).
template <class OV>
int overlay_run(const ap_uint<32>* desc, int n_layers, const typename OvTypes<OV>::w_word* wmem,
                const typename OvTypes<OV>::bias_t* bmem,
                const typename OvTypes<OV>::act_word* act_in,
                typename OvTypes<OV>::act_word* act_out) {
    static_assert(OV::PE % OV::SIMD == 0, "overlay: PE must be a multiple of SIMD");
    static_assert(OV::OUT_BITS % OV::ACT_BITS == 0, "overlay: OUT_BITS must be k * ACT_BITS");
    typedef typename ConvTypes<OvConvT<OV> >::acc_t acc_t;
    static typename OvTypes<OV>::w_word wbuf[OV::WBUF_WORDS];
    static acc_t bbuf[OV::MAX_TILE_NF * OV::PE];
#pragma HLS ARRAY_PARTITION variable = bbuf cyclic factor = OV::PE
OV_LAYERS:
    for (int l = 0; l < n_layers; l++) {
        LayerDesc d;
    OV_DESC:
        for (int i = 0; i < DESC_WORDS; i++) {
#pragma HLS PIPELINE II = 1
            EP_COUNT("ovl.desc");
            d.w[i] = (int)desc[l * DESC_WORDS + i];
        }
        if ((unsigned)d.w[0] != DESC_MAGIC) return 1 + l;
        const int ob = d.w[37];
        if (ob != OV::ACT_BITS && (ob != OV::OUT_BITS || d.kind() == 1 || (d.flags() & DF_POOL)))
            return 1 + l;
        const int k = ob / OV::ACT_BITS;
        if (d.kind() == 1) {
            const WinGeom pg = desc_pool_geom(d, d.w[5] / OV::SIMD);
            if (line_words(pg) > OV::SPLB_WORDS) return 1 + l;
            ov_pool_layer<OV>(act_in, act_out, d);
            continue;
        }
        const WinGeom g = desc_conv_geom(d, OV::SIMD);
        const int kkcf = g.KH * g.KW * g.CF;
        const int nf_all = d.w[6] / OV::PE, tile_nf = d.w[32];
        const bool wst = (d.flags() & DF_W_STREAM) != 0;
        if (line_words(g) > OV::LB_WORDS || tile_nf < 1 || tile_nf > OV::MAX_TILE_NF ||
            (!wst && tile_nf * kkcf > OV::WBUF_WORDS))
            return 1 + l;
        if ((d.flags() & DF_POOL) && line_words(desc_pool_geom(d, tile_nf)) > OV::PLB_WORDS)
            return 1 + l;
    OV_TILES:
        for (int t = 0; t * tile_nf < nf_all; t++) {
            const int nf = nf_all - t * tile_nf < tile_nf ? nf_all - t * tile_nf : tile_nf;
        OV_WLOAD:
            for (int i = 0; i < (wst ? 0 : nf * kkcf); i++) {
#pragma HLS PIPELINE II = 1
                EP_COUNT("ovl.wload");
                wbuf[i] = wmem[d.w[35] + t * tile_nf * kkcf + i];
            }
        OV_BLOAD:
            for (int i = 0; i < nf * OV::PE; i++) {
#pragma HLS PIPELINE II = 1
                EP_COUNT("ovl.bload");
                bbuf[i] = bmem[d.w[36] + t * tile_nf * OV::PE + i];
            }
            ov_conv_tile<OV>(act_in, act_out, wmem, d, nf, t, k, wbuf, bbuf);
        }
    }
    return 0;
}

// Interface pragmas for a non-template top that wraps overlay_run (see hls/README.md).
#define EP_OVERLAY_INTERFACE(desc, wmem, bmem, act_in, act_out)                            \
    EP_PRAGMA(HLS INTERFACE mode = m_axi port = desc offset = slave bundle = gmem_d)      \
    EP_PRAGMA(HLS INTERFACE mode = m_axi port = wmem offset = slave bundle = gmem_w)      \
    EP_PRAGMA(HLS INTERFACE mode = m_axi port = bmem offset = slave bundle = gmem_w)      \
    EP_PRAGMA(HLS INTERFACE mode = m_axi port = act_in offset = slave bundle = gmem_a)    \
    EP_PRAGMA(HLS INTERFACE mode = m_axi port = act_out offset = slave bundle = gmem_o)   \
    EP_PRAGMA(HLS INTERFACE mode = s_axilite port = n_layers)                             \
    EP_PRAGMA(HLS INTERFACE mode = s_axilite port = return)

}  // namespace edgepool

#endif  // EDGEPOOL_OVERLAY_H
