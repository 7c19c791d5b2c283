// SPDX-License-Identifier: Apache-2.0
// edgepool HLS library: common definitions, fixed-point helpers, packed words, iteration counters.
//
// Arithmetic is EXACTLY that of edgepool/ir/kernels.py:
//   shift_round  : x * 2^-s, round half to even (exact left shift when s <= 0)
//   requantize   : shift_round, optional ReLU, saturate to [lo, hi]
//   div_round    : num / den (den > 0), round half to even
//
// Packed words: a word of N lanes of EW bits holds lane i in bits [i*EW, (i+1)*EW).
#ifndef EDGEPOOL_COMMON_H
#define EDGEPOOL_COMMON_H

#include <ap_int.h>
#include <hls_stream.h>

#ifndef __SYNTHESIS__
#include <map>
#include <string>
#include <vector>
#endif

#define EP_STR_(x) #x
#define EP_PRAGMA(x) _Pragma(EP_STR_(x))

namespace edgepool {

// --------------------------------------------------------------------------- iteration counters
// Every pipelined (II=1) loop of the library calls EP_COUNT(name) once per iteration. In C
// simulation the counts are kept in a global table, so a testbench can compare them with the
// analytic cost model (edgepool/dse/cost.py). In synthesis the macro disappears.
#ifndef __SYNTHESIS__
inline std::map<std::string, long long>& iteration_counts() {
    static std::map<std::string, long long> counts;
    return counts;
}
// Zeroes the counters (entries stay: EP_COUNT caches a reference to its entry per call site,
// std::map references stay valid; one map lookup per site instead of one per iteration).
inline void reset_counts() {
    for (std::map<std::string, long long>::iterator it = iteration_counts().begin();
         it != iteration_counts().end(); ++it)
        it->second = 0;
}
#define EP_COUNT(name)                                                              \
    do {                                                                            \
        static long long& ep_count_ref_ = ::edgepool::iteration_counts()[name];    \
        ep_count_ref_ += 1;                                                         \
    } while (0)
#else
#define EP_COUNT(name) ((void)0)
#endif

// --------------------------------------------------------------------------- packed lanes
// Read lane i of a packed word as a signed or unsigned integer widened to ap_int<EW + 1>.
template <int EW, int W>
inline ap_int<EW + 1> get_lane(const ap_uint<W>& word, int i, bool is_signed) {
#pragma HLS INLINE
    ap_uint<EW> raw = word.range(i * EW + EW - 1, i * EW);
    ap_int<EW + 1> v;
    if (is_signed) {
        ap_int<EW> s;
        s.range() = raw;
        v = s;
    } else {
        v = raw;
    }
    return v;
}

// Write lane i of a packed word (two's complement, truncated to EW bits).
template <int EW, int W, class V>
inline void set_lane(ap_uint<W>& word, int i, const V& value) {
#pragma HLS INLINE
    ap_int<EW> t = value;
    word.range(i * EW + EW - 1, i * EW) = t.range();
}

// --------------------------------------------------------------------------- rounding helpers
// x * 2^-s rounded half to even, for s > 0. The result is returned one bit wider than x.
template <int AB>
inline ap_int<AB + 1> shift_round_right(const ap_int<AB>& x, int s) {
#pragma HLS INLINE
    // For s >= AB every |x| / 2^s <= 1/2, which rounds to 0 exactly as for s = AB.
    const int sc = s > AB ? AB : s;
    ap_int<AB + 2> wide = x;
    ap_int<AB + 2> q = wide >> sc;                      // floor
    ap_int<AB + 2> r = wide - (q << sc);                // in [0, 2^sc)
    ap_int<AB + 2> half = ap_int<AB + 2>(1) << (sc - 1);
    const bool odd = q[0];
    bool up = (r > half) || (r == half && odd);
    ap_int<AB + 1> y = q + (up ? 1 : 0);
    return y;
}

// requantize: (acc * 2^-shift rounded half to even), ReLU, saturate to [lo, hi] (lo <= 0 <= hi
// is not required; lo/hi are the target type's range). Exact for every shift (also <= 0).
// RB = result bits: every value of [lo, hi] must fit (33 for outputs of up to 32 bits; a raw
// 64-bit accumulator output uses 65 with lo/hi = the int64 range).
template <int AB, int RB = 33>
inline ap_int<RB> requantize(const ap_int<AB>& acc, int shift, bool relu, long long lo,
                             long long hi) {
#pragma HLS INLINE
    ap_int<RB> y;
    if (shift > 0) {
        ap_int<AB + 1> q = shift_round_right<AB>(acc, shift);
        if (relu && q < 0) q = 0;
        if (q > hi) y = hi;
        else if (q < lo) y = lo;
        else y = q;
    } else {
        // Left shift by ls >= 0 with saturation, decided before shifting (no overflow).
        // ls is clamped at RB + 1: beyond it both limits are 0, as they are for ls = RB + 1.
        const int ls = -shift > RB + 1 ? RB + 1 : -shift;
        ap_int<AB + 1> a = acc;
        if (relu && a < 0) a = 0;
        ap_int<RB + 3> hi_lim = ap_int<RB + 3>(hi) >> ls;             // floor(hi / 2^ls)
        ap_int<RB + 3> lo_lim = -((-ap_int<RB + 3>(lo)) >> ls);       // ceil(lo / 2^ls)
        if (a > hi_lim) y = hi;
        else if (a < lo_lim) y = lo;
        else y = ap_int<RB>(a) << ls;
    }
    return y;
}

// num / den (den > 0) rounded half to even.
template <int NB>
inline ap_int<NB> div_round(const ap_int<NB>& num, int den) {
#pragma HLS INLINE
    ap_int<NB + 1> n = num;
    ap_int<NB + 1> d = den;
    ap_int<NB + 1> q = n / d;                                // truncates toward zero
    ap_int<NB + 1> r = n - q * d;
    if (r < 0) {                                             // make it floor division
        q -= 1;
        r += d;
    }
    ap_int<NB + 2> twice = ap_int<NB + 2>(r) << 1;
    const bool odd = q[0];
    bool up = (twice > d) || (twice == d && odd);
    ap_int<NB> y = q + (up ? 1 : 0);
    return y;
}

// Saturation / ReLU on their own (used by testbench-level helpers and adapters).
template <int B>
inline ap_int<33> saturate(const ap_int<B>& x, int lo, int hi) {
#pragma HLS INLINE
    return x > hi ? ap_int<33>(hi) : (x < lo ? ap_int<33>(lo) : ap_int<33>(x));
}
template <int B>
inline ap_int<B> relu(const ap_int<B>& x) {
#pragma HLS INLINE
    return x < 0 ? ap_int<B>(0) : x;
}

// Range of a W-bit integer type as ints (used to turn a config's out_t into lo/hi).
template <int W, bool S>
struct type_range {
    static const long long lo = S ? -(1LL << (W - 1)) : 0;
    static const long long hi = S ? (1LL << (W - 1)) - 1 : (1LL << W) - 1;
};

// ONNX / PyTorch output length of one axis (mirror of kernels.pool_output_size).
constexpr int out_size(int size, int k, int s, int pb, int pe, int d, bool ceil_mode) {
    return ((ceil_mode ? ((size + pb + pe - (d * (k - 1) + 1)) + s - 1) / s
                       : (size + pb + pe - (d * (k - 1) + 1)) / s) + 1)
           - ((ceil_mode && ((((size + pb + pe - (d * (k - 1) + 1)) + s - 1) / s) * s >= size + pb))
                  ? 1 : 0);
}

}  // namespace edgepool

#endif  // EDGEPOOL_COMMON_H
