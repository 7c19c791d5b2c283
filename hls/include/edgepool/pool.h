// SPDX-License-Identifier: Apache-2.0
// edgepool HLS library: max / average pooling on the sliding-window engine, global pooling.
//
// Per output pixel the engine runs CF * KH*KW steps (II=1): for each word of LANES channels it
// reduces the KH*KW taps, then writes one word. Max: explicit padding and the ceil-mode overhang
// never win. Avg: exact sum, divided (round half to even) by the number of real taps, plus the
// explicit-padding taps when count_include_pad; the overhang is never counted (ONNX).
// Precondition (PyTorch's rule): every window holds at least one real input element.
#ifndef EDGEPOOL_POOL_H
#define EDGEPOOL_POOL_H

#include "common.h"
#include "window.h"

namespace edgepool {

// The pooling kinds. A new kind is one enumerator here plus its case in each PoolReduce
// function below (and its encoding in the overlay descriptor, overlay.h desc_pool_kind).
enum PoolKind { POOL_MAX = 0, POOL_AVG = 1 };

struct PoolParams {
    PoolKind kind;
    bool count_include_pad;
    bool is_signed;         // lanes are signed (else unsigned)
};

// The reduction of each pooling kind over the taps of a window, on SUM_BITS accumulators of
// EW-bit lanes: init (the value before the first tap), step (one tap; `real` is false for
// explicit padding, whose lane value is 0), result (from the accumulator and the number of
// counted taps, > 0).
template <int EW, int SUM_BITS>
struct PoolReduce {
    typedef ap_int<SUM_BITS> sum_t;
    typedef ap_int<EW + 1> lane_t;

    static sum_t init(PoolKind k) {
        switch (k) {
            case POOL_AVG: return sum_t(0);
            case POOL_MAX:
            default: return sum_t(-(sum_t(1) << EW));     // below any lane
        }
    }
    static sum_t step(PoolKind k, sum_t prev, lane_t v, bool real) {
        switch (k) {
            case POOL_AVG: return prev + v;               // padding adds 0
            case POOL_MAX:
            default: return (real && v > prev) ? sum_t(v) : prev;   // padding never wins
        }
    }
    static sum_t result(PoolKind k, sum_t acc, int cnt) {
        switch (k) {
            case POOL_AVG: return div_round<SUM_BITS>(acc, cnt > 0 ? cnt : 1);
            case POOL_MAX:
            default: return acc;
        }
    }
};

// Traits T: LANES, EW (lane bits), SUM_BITS (>= EW + 1 + log2(KH*KW)), LB_WORDS.
template <class T>
struct PoolTypes {
    typedef ap_uint<T::LANES * T::EW> word;
};

template <class T>
void pool_core(hls::stream<typename PoolTypes<T>::word>& in,
               hls::stream<typename PoolTypes<T>::word>& out, const WinGeom& g,
               const PoolParams& pp) {
    typedef typename PoolTypes<T>::word word;
    typedef ap_int<T::SUM_BITS> sum_t;
    typedef PoolReduce<T::EW, T::SUM_BITS> R;
    const int L = T::LANES;

    static LineBuffer<word, T::LB_WORDS> lb;
#pragma HLS DEPENDENCE variable = lb.mem inter false
    lb.reset(g);
    const int rw = g.W * g.CF;
    const int kk = g.KH * g.KW;
    const int steps = g.CF * kk;

    int loaded = rows_ready(g, 0);
POOL_LOAD:
    for (int i = 0; i < loaded * rw; i++) {
#pragma HLS PIPELINE II = 1
        EP_COUNT("pool.load");
        lb.push(in.read());
    }

    sum_t acc[L];
#pragma HLS ARRAY_PARTITION variable = acc complete
    int count = 0;
POOL_ROWS:
    for (int oy = 0; oy < g.OH; oy++) {
        const int target = rows_ready(g, oy + 1);
        const int pref = (target - loaded) * rw;
        const int comp = g.OW * steps;
        const int trips = pref > comp ? pref : comp;
        int ox = 0, cf = 0, ky = 0, kx = 0, tap = 0;
    POOL_STEP:
        for (int t = 0; t < trips; t++) {
#pragma HLS PIPELINE II = 1
            EP_COUNT("pool.step");
            if (t < pref) lb.push(in.read());
            if (t < comp) {
                const int iy = oy * g.SH - g.PT + ky * g.DH;
                const int ix = ox * g.SW - g.PL + kx * g.DW;
                const TapKind kind = tap_kind(g, iy, ix);
                word xw = 0;
                if (kind == TAP_REAL) xw = lb.read(g, ky, ix, cf);
                const bool counted = kind == TAP_REAL || (kind == TAP_PAD && pp.count_include_pad);
                const int cnt = (tap == 0 ? 0 : count) + (counted ? 1 : 0);
                for (int l = 0; l < L; l++) {
#pragma HLS UNROLL
                    const ap_int<T::EW + 1> v = get_lane<T::EW>(xw, l, pp.is_signed);
                    const sum_t prev = tap == 0 ? R::init(pp.kind) : acc[l];
                    acc[l] = R::step(pp.kind, prev, v, kind == TAP_REAL);
                }
                count = cnt;
                if (tap == kk - 1) {
                    word ow = 0;
                    for (int l = 0; l < L; l++) {
#pragma HLS UNROLL
                        sum_t r = R::result(pp.kind, acc[l], cnt);
                        set_lane<T::EW>(ow, l, r);
                    }
                    out.write(ow);
                }
                tap++;
                if (++kx == g.KW) {
                    kx = 0;
                    if (++ky == g.KH) {
                        ky = 0;
                        tap = 0;
                        if (++cf == g.CF) {
                            cf = 0;
                            ox++;
                        }
                    }
                }
            }
        }
        loaded = target;
        lb.next_row(g);
    }
}

// --------------------------------------------------------------------------- dataflow layer
// Config struct of a pooling layer (standalone, or fused after a conv: then IN_* is the conv
// output and LANES = the conv's PE):
//   struct pool0_cfg {
//     static const int IN_H = 10, IN_W = 10, C = 4, LANES = 2, EW = 8;
//     static const bool SIGNED = false, COUNT_PAD = false;
//     static const PoolKind KIND = POOL_MAX;
//     static const int KH = 2, KW = 2, SH = 2, SW = 2, PT = 0, PL = 0, PB = 0, PR = 0;
//     static const int OUT_H = 5, OUT_W = 5;      // pool_output_size (ceil_mode folded in)
//     static const int SUM_BITS = 8 + 1 + 2;      // EW + 1 + ceil(log2(KH*KW))
//     static const int LB_WORDS = EP_POOL_LB_WORDS(pool0_cfg);
//   };
#define EP_POOL_LB_WORDS(P) (((P::KH) + (P::SH)) * (P::IN_W) * ((P::C) / (P::LANES)))

template <class CFG>
WinGeom pool_geom() {
    WinGeom g = {CFG::IN_H, CFG::IN_W, CFG::C / CFG::LANES, CFG::KH, CFG::KW, CFG::SH, CFG::SW,
                 1, 1, CFG::PT, CFG::PL, CFG::PB, CFG::PR, CFG::OUT_H, CFG::OUT_W};
    return g;
}

template <class CFG>
void pool_layer(hls::stream<typename PoolTypes<CFG>::word>& in,
                hls::stream<typename PoolTypes<CFG>::word>& out) {
#pragma HLS INLINE off
    static_assert(CFG::C % CFG::LANES == 0, "LANES must divide C");
    const WinGeom g = pool_geom<CFG>();
    const PoolParams pp = {CFG::KIND, CFG::COUNT_PAD, CFG::SIGNED};
    pool_core<CFG>(in, out, g, pp);
}

// Global max / average pooling of an (H, W, C) map to (1, 1, C): H*W*CF accumulate steps, then CF
// output steps. Config: IN_H, IN_W, C, LANES, EW, SIGNED, KIND, SUM_BITS (>= EW+1+log2(H*W)).
template <class CFG>
void global_pool_layer(hls::stream<typename PoolTypes<CFG>::word>& in,
                       hls::stream<typename PoolTypes<CFG>::word>& out) {
#pragma HLS INLINE off
    typedef typename PoolTypes<CFG>::word word;
    typedef ap_int<CFG::SUM_BITS> sum_t;
    typedef PoolReduce<CFG::EW, CFG::SUM_BITS> R;
    const int CF = CFG::C / CFG::LANES, L = CFG::LANES;
    static sum_t acc[CF][L];
#pragma HLS ARRAY_PARTITION variable = acc complete dim = 2
GP_ACC:
    for (int i = 0; i < CFG::IN_H * CFG::IN_W * CF; i++) {
#pragma HLS PIPELINE II = 1
        EP_COUNT("gpool.step");
        const int cf = i % CF;
        const word xw = in.read();
        for (int l = 0; l < L; l++) {
#pragma HLS UNROLL
            const ap_int<CFG::EW + 1> v = get_lane<CFG::EW>(xw, l, CFG::SIGNED);
            const sum_t prev = acc[cf][l];
            acc[cf][l] = i < CF ? sum_t(v) : R::step(CFG::KIND, prev, v, true);
        }
    }
GP_OUT:
    for (int cf = 0; cf < CF; cf++) {
#pragma HLS PIPELINE II = 1
        EP_COUNT("gpool.out");
        word ow = 0;
        for (int l = 0; l < L; l++) {
#pragma HLS UNROLL
            sum_t r = R::result(CFG::KIND, acc[cf][l], CFG::IN_H * CFG::IN_W);
            set_lane<CFG::EW>(ow, l, r);
        }
        out.write(ow);
    }
}

}  // namespace edgepool

#endif  // EDGEPOOL_POOL_H
