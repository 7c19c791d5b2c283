// SPDX-License-Identifier: Apache-2.0
// edgepool HLS library: the multi-threshold unit (edgepool.ir.kernels.threshold), streamed after
// a MAC array. Per channel c:  y = BASE + STEP * #{k : d_c * acc >= T[c][k]}
// (BASE = output type minimum and STEP = 1, or BASE = -1 and STEP = 2 for bipolar codes).
//
// Channels-last stream of packed words, PE accumulators of AB bits per word, C / PE words per
// pixel. Every lane compares its accumulator with all N thresholds of its channel in parallel
// (a comparator bank and an adder tree: no multiplier), so the loop runs at II = 1. The table is
// partitioned by PE (cyclic, channel = word * PE + lane) and completely along k, so the PE·N
// comparisons of one word read their thresholds in one cycle (LUTRAM / registers; BRAM rows
// for wide tables after the partitioning tool's choice).
#ifndef EDGEPOOL_THRESHOLD_H
#define EDGEPOOL_THRESHOLD_H

#include "edgepool/common.h"

namespace edgepool {

// Config: AB accumulator bits, TB threshold bits, OB output code bits (signed, two's
// complement in the packed word), N thresholds per channel, C channels, PE lanes (C % PE == 0),
// BASE / STEP as above, DIR: the table has a direction column (±1 per channel).
template <int AB_, int TB_, int OB_, int N_, int C_, int PE_, int BASE_, int STEP_>
struct threshold_config {
    static const int AB = AB_, TB = TB_, OB = OB_, N = N_, C = C_, PE = PE_;
    static const int BASE = BASE_, STEP = STEP_;
};

// Number of thresholds crossed by x (ties count as crossed): a comparator bank and an adder.
template <int TB, int N, int AB>
inline ap_uint<16> count_crossed(const ap_int<AB + 1>& x, const ap_int<TB> row[N]) {
#pragma HLS INLINE
    ap_uint<16> cnt = 0;
    for (int k = 0; k < N; k++) {
#pragma HLS UNROLL
        cnt += (x >= row[k]) ? 1 : 0;
    }
    return cnt;
}

template <class CFG>
void threshold_layer(hls::stream<ap_uint<CFG::PE * CFG::AB> >& in,
                     hls::stream<ap_uint<CFG::PE * CFG::OB> >& out,
                     const ap_int<CFG::TB> thr[CFG::C][CFG::N], const ap_int<2> dir[CFG::C],
                     int pixels) {
    EP_PRAGMA(HLS ARRAY_PARTITION variable = thr cyclic factor = CFG::PE dim = 1)
    EP_PRAGMA(HLS ARRAY_PARTITION variable = thr complete dim = 2)
    EP_PRAGMA(HLS ARRAY_PARTITION variable = dir cyclic factor = CFG::PE dim = 1)
    const int words = CFG::C / CFG::PE;
threshold_loop:
    for (int i = 0; i < pixels * words; i++) {
#pragma HLS PIPELINE II = 1
        EP_COUNT("threshold");
        const int w = i % words;
        ap_uint<CFG::PE * CFG::AB> a = in.read();
        ap_uint<CFG::PE * CFG::OB> y = 0;
        for (int l = 0; l < CFG::PE; l++) {
#pragma HLS UNROLL
            const int c = w * CFG::PE + l;
            ap_int<CFG::AB + 1> x = get_lane<CFG::AB>(a, l, true);
            if (dir[c] < 0) x = -x;          // a decreasing chain: thresholds on -acc
            ap_int<CFG::OB + 1> code =
                CFG::BASE + CFG::STEP * (int)count_crossed<CFG::TB, CFG::N, CFG::AB>(x, thr[c]);
            set_lane<CFG::OB>(y, l, code);
        }
        out.write(y);
    }
}

}  // namespace edgepool
#endif
