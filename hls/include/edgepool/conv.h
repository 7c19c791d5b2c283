// SPDX-License-Identifier: Apache-2.0
// edgepool HLS library: convolution / fully connected engine with PE x SIMD folding.
//
//   acc[oc] = bias[oc] + sum_{ky,kx,ic} x[iy, ix, ic] * w[oc, ky, kx, ic]      (exact, ACC_BITS)
//   y[oc]   = requantize(acc, shift, relu, lo, hi)
//
// Folding: SIMD input channels and PE output channels per cycle. NF = OC / PE output folds,
// CF = IC / SIMD input folds. Per output pixel the engine runs NF * KH*KW*CF steps (II=1); a
// step reads one SIMD-lane word from the line buffer and one PE*SIMD-lane weight word and does
// PE*SIMD multiply-accumulates. Output: NF words of PE lanes per pixel (stream order H, W, C).
//
// Weight memory: word index (f * KH*KW*CF + (ky*KW + kx) * CF + cf), lane p*SIMD + s holds
// w[oc = f*PE + p, ky, kx, ic = cf*SIMD + s] (W_BITS two's complement). Bias: bias[f*PE + p].
// A fully connected layer is a 1x1 convolution on a 1x1 map (H = W = 1, IC = N).
#ifndef EDGEPOOL_CONV_H
#define EDGEPOOL_CONV_H

#include <type_traits>

#include "common.h"
#include "window.h"

namespace edgepool {

// Run-time requantization parameters.
struct ReqParams {
    int shift;              // acc_frac - out.frac (may be <= 0)
    bool relu;
    bool in_signed;         // input lanes are signed (else unsigned)
    long long lo, hi;       // saturation range of the output type
};

// A 1-bit layer (bipolar inputs and ±1 weights): a config with `static const bool XNOR = true`
// makes every product the XNOR of two sign bits and a PE's SIMD terms 2·popcount − SIMD (a
// popcount tree, no multiplier). Configs without the member (the overlay's) multiply.
template <class T, class = void>
struct conv_xnor {
    static const bool value = false;
};
template <class T>
struct conv_xnor<T, typename std::enable_if<T::XNOR>::type> {
    static const bool value = true;
};

// Traits T must provide: SIMD, PE, IN_EW (input lane bits), OUT_EW (output lane bits), W_BITS,
// ACC_BITS, LB_WORDS (line buffer capacity in words).
template <class T>
struct ConvTypes {
    typedef ap_uint<T::SIMD * T::IN_EW> in_word;
    typedef ap_uint<T::PE * T::OUT_EW> out_word;
    typedef ap_uint<T::PE * T::SIMD * T::W_BITS> w_word;
    typedef ap_int<T::ACC_BITS> acc_t;
    // width of a requantized value before it is stored in an OUT_EW lane (holds [lo, hi])
    static const int REQ_BITS = T::OUT_EW > 32 ? T::OUT_EW + 1 : 33;
};

// The engine. nf = output folds computed in this call (all of OC in a dataflow layer, one tile
// in the overlay); wmem / bias are indexed from the first fold of this call. With w_stream the
// weight words come from the stream ws instead, one per step in step order (fold, ky, kx, cf:
// the wmem word order; the overlay streams the weights of 1-pixel layers from DDR: each word
// is used exactly once), and wmem is not read.
template <class T>
void conv_core_ws(hls::stream<typename ConvTypes<T>::in_word>& in,
                  hls::stream<typename ConvTypes<T>::out_word>& out, const WinGeom& g, int nf,
                  const typename ConvTypes<T>::w_word* wmem,
                  hls::stream<typename ConvTypes<T>::w_word>& ws, bool w_stream,
                  const typename ConvTypes<T>::acc_t* bias, const ReqParams& rq) {
    typedef typename ConvTypes<T>::in_word in_word;
    typedef typename ConvTypes<T>::out_word out_word;
    typedef typename ConvTypes<T>::w_word w_word;
    typedef typename ConvTypes<T>::acc_t acc_t;
    const int PE = T::PE, SIMD = T::SIMD;

    static LineBuffer<in_word, T::LB_WORDS> lb;
#pragma HLS DEPENDENCE variable = lb.mem inter false
    lb.reset(g);
    const int rw = g.W * g.CF;
    const int kkcf = g.KH * g.KW * g.CF;
    const int steps = nf * kkcf;                      // per output pixel

#ifndef __SYNTHESIS__
    // C simulation speed-up (HLS never sees it): the lanes of this call's weight words are
    // taken out once, with the same range() as below, instead of once per output pixel (a
    // range() of a PE*SIMD*W_BITS-bit ap_uint costs time proportional to its width).
    std::vector<ap_int<T::W_BITS> > wlanes;
    if (!w_stream) {
        wlanes.resize((size_t)steps * PE * SIMD);
        for (int i = 0; i < steps; i++) {
            const w_word ww = wmem[i];
            for (int l = 0; l < PE * SIMD; l++)
                wlanes[(size_t)i * PE * SIMD + l].range() =
                    ww.range(l * T::W_BITS + T::W_BITS - 1, l * T::W_BITS);
        }
    }
#endif
    int loaded = rows_ready(g, 0);
CONV_LOAD:
    for (int i = 0; i < loaded * rw; i++) {
#pragma HLS PIPELINE II = 1
        EP_COUNT("conv.load");
        lb.push(in.read());
    }

    acc_t acc[PE];
#pragma HLS ARRAY_PARTITION variable = acc complete
CONV_ROWS:
    for (int oy = 0; oy < g.OH; oy++) {
        const int target = rows_ready(g, oy + 1);
        const int pref = (target - loaded) * rw;
        const int comp = g.OW * steps;
        const int trips = pref > comp ? pref : comp;
        int ox = 0, f = 0, ky = 0, kx = 0, cf = 0, tap = 0;
    CONV_STEP:
        for (int t = 0; t < trips; t++) {
#pragma HLS PIPELINE II = 1
            EP_COUNT("conv.step");
            if (t < pref) lb.push(in.read());
            if (t < comp) {
                const int iy = oy * g.SH - g.PT + ky * g.DH;
                const int ix = ox * g.SW - g.PL + kx * g.DW;
                in_word xw = 0;
                if (tap_kind(g, iy, ix) == TAP_REAL) xw = lb.read(g, ky, ix, cf);
#ifndef __SYNTHESIS__
                const w_word ww = w_stream ? ws.read() : w_word(0);
                const ap_int<T::W_BITS>* wl =
                    w_stream ? 0 : &wlanes[(size_t)(f * kkcf + tap) * PE * SIMD];
#else
                const w_word ww = w_stream ? ws.read() : wmem[f * kkcf + tap];
#endif
                ap_int<T::IN_EW + 1> xs[SIMD];
#pragma HLS ARRAY_PARTITION variable = xs complete
                for (int s = 0; s < SIMD; s++) {
#pragma HLS UNROLL
                    xs[s] = get_lane<T::IN_EW>(xw, s, rq.in_signed);
                }
                for (int p = 0; p < PE; p++) {
#pragma HLS UNROLL
                    acc_t sum = (tap == 0) ? bias[f * PE + p] : acc[p];
                    ap_uint<16> agree = 0;           // XNOR: terms whose signs agree
                    for (int s = 0; s < SIMD; s++) {
#pragma HLS UNROLL
                        const ap_int<T::IN_EW + 1> xv = xs[s];
                        ap_int<T::W_BITS> wv;
#ifndef __SYNTHESIS__
                        if (!w_stream) wv = wl[p * SIMD + s];
                        else
#endif
                            wv.range() = ww.range((p * SIMD + s) * T::W_BITS + T::W_BITS - 1,
                                                  (p * SIMD + s) * T::W_BITS);
                        if (conv_xnor<T>::value)
                            agree += ((xv < 0) == (wv < 0)) ? 1 : 0;
                        else
                            sum += xv * wv;
                    }
                    if (conv_xnor<T>::value) sum += 2 * (int)agree - SIMD;
                    acc[p] = sum;
                }
                if (tap == kkcf - 1) {
                    out_word ow = 0;
                    for (int p = 0; p < PE; p++) {
#pragma HLS UNROLL
                        set_lane<T::OUT_EW>(ow, p,
                                            requantize<T::ACC_BITS, ConvTypes<T>::REQ_BITS>(
                                                acc[p], rq.shift, rq.relu, rq.lo, rq.hi));
                    }
                    out.write(ow);
                }
                // advance (cf, kx, ky) -> tap, then f, then ox
                tap++;
                if (++cf == g.CF) {
                    cf = 0;
                    if (++kx == g.KW) {
                        kx = 0;
                        if (++ky == g.KH) {
                            ky = 0;
                            tap = 0;
                            if (++f == nf) {
                                f = 0;
                                ox++;
                            }
                        }
                    }
                }
            }
        }
        loaded = target;
        lb.next_row(g);
    }
}

// The engine with weights from wmem (dataflow layers: a ROM).
template <class T>
void conv_core(hls::stream<typename ConvTypes<T>::in_word>& in,
               hls::stream<typename ConvTypes<T>::out_word>& out, const WinGeom& g, int nf,
               const typename ConvTypes<T>::w_word* wmem,
               const typename ConvTypes<T>::acc_t* bias, const ReqParams& rq) {
#pragma HLS INLINE
    hls::stream<typename ConvTypes<T>::w_word> none("conv_no_wstream");   // never read
    conv_core_ws<T>(in, out, g, nf, wmem, none, false, bias, rq);
}

// --------------------------------------------------------------------------- dataflow layer
// Config struct of a dataflow conv layer (what the codegen emits), e.g.
//   struct conv0_cfg {
//     static const int IN_H = 12, IN_W = 12, IN_C = 1, OUT_C = 4;   // OUT_H/W: conv output
//     static const int KH = 3, KW = 3, SH = 1, SW = 1, DH = 1, DW = 1;
//     static const int PT = 0, PL = 0, PB = 0, PR = 0, OUT_H = 10, OUT_W = 10;
//     static const int SIMD = 1, PE = 2, ACC_BITS = 24, SHIFT = 9;
//     static const bool RELU = true;
//     typedef ap_uint<8> in_t; typedef ap_int<8> w_t; typedef ap_uint<8> out_t;
//     static const int IN_EW = 8, OUT_EW = 8, W_BITS = 8;            // = in_t/out_t/w_t widths
//     static const bool IN_SIGNED = false;
//     static const int OUT_LO = 0, OUT_HI = 255;                      // out_t range (narrow ok)
//     static const int LB_WORDS = EP_CONV_LB_WORDS(conv0_cfg);        // helper macro below
//   };
// Weights: const ConvTypes<cfg>::w_word w[OUT_C/PE * KH*KW * IN_C/SIMD]; bias: acc_t b[OUT_C].
#define EP_CONV_LB_WORDS(C) \
    (((C::DH) * ((C::KH) - 1) + 1 + (C::SH)) * (C::IN_W) * ((C::IN_C) / (C::SIMD)))

template <class CFG>
WinGeom conv_geom() {
    WinGeom g = {CFG::IN_H, CFG::IN_W, CFG::IN_C / CFG::SIMD, CFG::KH, CFG::KW, CFG::SH, CFG::SW,
                 CFG::DH, CFG::DW, CFG::PT, CFG::PL, CFG::PB, CFG::PR, CFG::OUT_H, CFG::OUT_W};
    return g;
}

template <class CFG>
void conv_layer(hls::stream<typename ConvTypes<CFG>::in_word>& in,
                hls::stream<typename ConvTypes<CFG>::out_word>& out,
                const typename ConvTypes<CFG>::w_word* weights,
                const typename ConvTypes<CFG>::acc_t* bias) {
#pragma HLS INLINE off
    static_assert(CFG::IN_C % CFG::SIMD == 0, "SIMD must divide IN_C");
    static_assert(CFG::OUT_C % CFG::PE == 0, "PE must divide OUT_C");
    static_assert(CFG::ACC_BITS <= 64, "accumulators are at most 64 bits");
    const WinGeom g = conv_geom<CFG>();
    const ReqParams rq = {CFG::SHIFT, CFG::RELU, CFG::IN_SIGNED, CFG::OUT_LO, CFG::OUT_HI};
    conv_core<CFG>(in, out, g, CFG::OUT_C / CFG::PE, weights, bias, rq);
}

}  // namespace edgepool

#endif  // EDGEPOOL_CONV_H
