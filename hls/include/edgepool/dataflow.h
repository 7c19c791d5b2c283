// SPDX-License-Identifier: Apache-2.0
// edgepool HLS library: dataflow composition (one engine per layer) and AXI-stream adapters.
//
// A dataflow top is a chain   axis_to_words -> layer 0 -> [repack] -> layer 1 -> ... ->
// words_to_axis   inside one DATAFLOW region; every layer is a conv_layer, conv_pool_layer
// (conv + requantize/ReLU + pool fused on the stream: the pre-pool tensor only passes through the
// pool's line buffer, it is never stored), conv_threshold_layer / conv_threshold_pool_layer
// (conv with its exact accumulator into the multi-threshold comparator stage of threshold.h
// [+ pool]), pool_layer or global_pool_layer with its own config struct. See hls/README.md for
// the exact code a generator emits.
#ifndef EDGEPOOL_DATAFLOW_H
#define EDGEPOOL_DATAFLOW_H

#include "common.h"
#include "conv.h"
#include "pool.h"
#include "threshold.h"

namespace edgepool {

// AXI4-Stream beat (TDATA, TKEEP, TSTRB, TLAST). Under Vitis HLS it IS ap_axiu<8*BYTES, 0, 0, 0>
// (ap_axi_sdata.h): only that type gives the axis port its TLAST/TKEEP side channels (a plain
// struct would be packed into TDATA). Without the vendor header (g++ C simulation here) a struct
// with the same field names stands in.
#if defined(__SYNTHESIS__) || defined(EP_USE_AP_AXIU)
}  // namespace edgepool
#include <ap_axi_sdata.h>
namespace edgepool {
template <int BYTES>
using axis_beat = ap_axiu<8 * BYTES, 0, 0, 0>;
#else
template <int BYTES>
struct axis_beat {
    ap_uint<8 * BYTES> data;
    ap_uint<BYTES> keep;
    ap_uint<BYTES> strb;
    ap_uint<1> last;
};
#endif

// Stream declaration with a FIFO depth.
#define EP_STREAM(name, type, depth) \
    hls::stream<type> name;          \
    EP_PRAGMA(HLS STREAM variable = name depth = depth)

// Interface pragmas of a dataflow top with AXI-stream input and output.
#define EP_TOP_INTERFACE(in, out)                         \
    EP_PRAGMA(HLS INTERFACE mode = axis port = in)        \
    EP_PRAGMA(HLS INTERFACE mode = axis port = out)       \
    EP_PRAGMA(HLS INTERFACE mode = ap_ctrl_none port = return) \
    EP_PRAGMA(HLS DATAFLOW)

// conv -> requantize(+ReLU) -> pool, fused on the stream. PCFG::LANES must be CFG::PE and
// PCFG::IN_H/IN_W/C the conv output shape.
template <class CFG, class PCFG>
void conv_pool_layer(hls::stream<typename ConvTypes<CFG>::in_word>& in,
                     hls::stream<typename PoolTypes<PCFG>::word>& out,
                     const typename ConvTypes<CFG>::w_word* weights,
                     const typename ConvTypes<CFG>::acc_t* bias) {
#pragma HLS INLINE off
#pragma HLS DATAFLOW
    static_assert(PCFG::LANES == CFG::PE && PCFG::EW == CFG::OUT_EW, "pool lanes = conv PE");
    static_assert(PCFG::IN_H == CFG::OUT_H && PCFG::IN_W == CFG::OUT_W && PCFG::C == CFG::OUT_C,
                  "pool input = conv output");
    EP_STREAM(mid, typename ConvTypes<CFG>::out_word, 2 * CFG::OUT_C / CFG::PE);
    conv_layer<CFG>(in, mid, weights, bias);
    pool_layer<PCFG>(mid, out);
}

// conv -> exact accumulator -> multi-threshold codes (FINN's MVTU: MAC array, then a comparator
// bank per PE, no requantize). CFG is the conv with OUT_EW = TCFG::AB, SHIFT = 0 and OUT_LO /
// OUT_HI the accumulator's range (its requantize is the identity); TCFG::PE = CFG::PE and
// TCFG::C = CFG::OUT_C. thr / dir: the table (clamped to the accumulator's range) and the
// directions, partitioned per PE inside threshold_layer (II = 1).
template <class CFG, class TCFG>
void conv_threshold_layer(hls::stream<typename ConvTypes<CFG>::in_word>& in,
                          hls::stream<ap_uint<TCFG::PE * TCFG::OB> >& out,
                          const typename ConvTypes<CFG>::w_word* weights,
                          const typename ConvTypes<CFG>::acc_t* bias,
                          const ap_int<TCFG::TB> thr[TCFG::C][TCFG::N],
                          const ap_int<2> dir[TCFG::C]) {
#pragma HLS INLINE off
#pragma HLS DATAFLOW
    static_assert(TCFG::PE == CFG::PE && TCFG::C == CFG::OUT_C && TCFG::AB == CFG::OUT_EW,
                  "threshold lanes = conv PE, channels = conv OUT_C, accumulator lanes");
    static_assert(CFG::SHIFT == 0 && !CFG::RELU, "the conv passes its exact accumulator");
    EP_STREAM(acc, typename ConvTypes<CFG>::out_word, 2 * CFG::OUT_C / CFG::PE);
    conv_layer<CFG>(in, acc, weights, bias);
    threshold_layer<TCFG>(acc, out, thr, dir, CFG::OUT_H * CFG::OUT_W);
}

// conv -> thresholds -> pool (CNV's conv + BN + quantized HardTanh + max pool), fused on the
// stream. PCFG::LANES = CFG::PE, PCFG::EW = TCFG::OB, PCFG input = the conv output shape.
template <class CFG, class TCFG, class PCFG>
void conv_threshold_pool_layer(hls::stream<typename ConvTypes<CFG>::in_word>& in,
                               hls::stream<typename PoolTypes<PCFG>::word>& out,
                               const typename ConvTypes<CFG>::w_word* weights,
                               const typename ConvTypes<CFG>::acc_t* bias,
                               const ap_int<TCFG::TB> thr[TCFG::C][TCFG::N],
                               const ap_int<2> dir[TCFG::C]) {
#pragma HLS INLINE off
#pragma HLS DATAFLOW
    static_assert(PCFG::LANES == CFG::PE && PCFG::EW == TCFG::OB, "pool lanes = conv PE");
    static_assert(PCFG::IN_H == CFG::OUT_H && PCFG::IN_W == CFG::OUT_W && PCFG::C == CFG::OUT_C,
                  "pool input = conv output");
    EP_STREAM(codes, ap_uint<TCFG::PE * TCFG::OB>, 2 * CFG::OUT_C / CFG::PE);
    conv_threshold_layer<CFG, TCFG>(in, codes, weights, bias, thr, dir);
    pool_layer<PCFG>(codes, out);
}

// Re-pack a stream of IN_L-lane words into OUT_L-lane words (same element order); one of the
// lane counts must divide the other. n_in = number of input words.
template <int EW, int IN_L, int OUT_L>
void repack(hls::stream<ap_uint<IN_L * EW> >& in, hls::stream<ap_uint<OUT_L * EW> >& out,
            int n_in) {
#pragma HLS INLINE off
    static_assert(IN_L % OUT_L == 0 || OUT_L % IN_L == 0, "lane counts must divide");
    if (IN_L >= OUT_L) {
        const int R = IN_L / OUT_L;
    REPACK_SPLIT:
        for (int i = 0; i < n_in * R; i++) {
#pragma HLS PIPELINE II = 1
            EP_COUNT("repack");
            static ap_uint<IN_L * EW> w;
            if (i % R == 0) w = in.read();
            const int j = i % R;
            ap_uint<OUT_L * EW> o = w.range((j + 1) * OUT_L * EW - 1, j * OUT_L * EW);
            out.write(o);
        }
    } else {
        const int R = OUT_L / IN_L;
        ap_uint<OUT_L * EW> o = 0;
    REPACK_GATHER:
        for (int i = 0; i < n_in; i++) {
#pragma HLS PIPELINE II = 1
            EP_COUNT("repack");
            const int j = i % R;
            o.range((j + 1) * IN_L * EW - 1, j * IN_L * EW) = in.read();
            if (j == R - 1) out.write(o);
        }
    }
}

// AXI stream (elements in little-endian CONT-bit containers, runtime/axis.py) -> LANES x EW
// words. Elements per beat EPB = 8*BYTES/CONT; LANES | EPB or EPB | LANES. n_words words.
template <int LANES, int EW, int CONT, int BYTES>
void axis_to_words(hls::stream<axis_beat<BYTES> >& in, hls::stream<ap_uint<LANES * EW> >& out,
                   int n_words) {
#pragma HLS INLINE off
    const int EPB = 8 * BYTES / CONT;
    static_assert(EPB % LANES == 0 || LANES % EPB == 0, "lanes and elements per beat");
    if (EPB >= LANES) {
        const int R = EPB / LANES;
        ap_uint<8 * BYTES> d = 0;
    A2W_SPLIT:
        for (int i = 0; i < n_words; i++) {
#pragma HLS PIPELINE II = 1
            EP_COUNT("axis_in");
            if (i % R == 0) d = in.read().data;
            const int j = i % R;
            ap_uint<LANES * EW> w = 0;
            for (int l = 0; l < LANES; l++) {
#pragma HLS UNROLL
                const int e = j * LANES + l;
                w.range(l * EW + EW - 1, l * EW) = d.range(e * CONT + EW - 1, e * CONT);
            }
            out.write(w);
        }
    } else {
        const int R = LANES / EPB;
        ap_uint<LANES * EW> w = 0;
    A2W_GATHER:
        for (int i = 0; i < n_words * R; i++) {
#pragma HLS PIPELINE II = 1
            EP_COUNT("axis_in");
            const ap_uint<8 * BYTES> d = in.read().data;
            const int j = i % R;
            for (int e = 0; e < EPB; e++) {
#pragma HLS UNROLL
                const int l = j * EPB + e;
                w.range(l * EW + EW - 1, l * EW) = d.range(e * CONT + EW - 1, e * CONT);
            }
            if (j == R - 1) out.write(w);
        }
    }
}

// LANES x EW words -> AXI stream of CONT-bit containers (sign- or zero-extended), TLAST on the
// last beat, TKEEP marks the valid bytes of a partial last beat.
template <int LANES, int EW, int CONT, int BYTES>
void words_to_axis(hls::stream<ap_uint<LANES * EW> >& in, hls::stream<axis_beat<BYTES> >& out,
                   int n_words, bool is_signed) {
#pragma HLS INLINE off
    const int EPB = 8 * BYTES / CONT;
    static_assert(EPB % LANES == 0 || LANES % EPB == 0, "lanes and elements per beat");
    const int n_elems = n_words * LANES;
    const int n_beats = (n_elems + EPB - 1) / EPB;
    if (EPB >= LANES) {
        const int R = EPB / LANES;
        ap_uint<8 * BYTES> d = 0;
    W2A_GATHER:
        for (int i = 0; i < n_words; i++) {
#pragma HLS PIPELINE II = 1
            EP_COUNT("axis_out");
            const ap_uint<LANES * EW> w = in.read();
            const int j = i % R;
            for (int l = 0; l < LANES; l++) {
#pragma HLS UNROLL
                const int e = j * LANES + l;
                ap_int<CONT> c = get_lane<EW>(w, l, is_signed);
                d.range(e * CONT + CONT - 1, e * CONT) = c.range();
            }
            const bool last = i == n_words - 1;
            if (j == R - 1 || last) {
                axis_beat<BYTES> b;
                const int valid = (j + 1) * LANES * CONT / 8;   // bytes filled in this beat
                b.data = d;
                b.keep = 0;
                for (int k = 0; k < BYTES; k++) {
#pragma HLS UNROLL
                    b.keep[k] = k < valid ? 1 : 0;
                }
                b.strb = b.keep;
                b.last = last ? 1 : 0;
                out.write(b);
                d = 0;
            }
        }
    } else {
        const int R = LANES / EPB;
    W2A_SPLIT:
        for (int i = 0; i < n_beats; i++) {
#pragma HLS PIPELINE II = 1
            EP_COUNT("axis_out");
            static ap_uint<LANES * EW> w;
            if (i % R == 0) w = in.read();
            const int j = i % R;
            axis_beat<BYTES> b;
            b.data = 0;
            for (int e = 0; e < EPB; e++) {
#pragma HLS UNROLL
                ap_int<CONT> c = get_lane<EW>(w, j * EPB + e, is_signed);
                b.data.range(e * CONT + CONT - 1, e * CONT) = c.range();
            }
            b.keep = ~ap_uint<BYTES>(0);
            b.strb = b.keep;
            b.last = i == n_beats - 1 ? 1 : 0;
            out.write(b);
        }
    }
}

}  // namespace edgepool

#endif  // EDGEPOOL_DATAFLOW_H
