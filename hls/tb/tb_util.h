// SPDX-License-Identifier: Apache-2.0
// edgepool HLS library: C-simulation testbench helpers (not synthesizable).
//
// Files are raw little-endian int64 arrays (numpy .tofile of int64); iteration counters are
// written as "name count" lines. Used by tests/hls (generated testbenches) and by Vitis csim.
#ifndef EDGEPOOL_TB_UTIL_H
#define EDGEPOOL_TB_UTIL_H

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "edgepool/dataflow.h"

namespace edgepool {
namespace tb {

typedef std::vector<long long> vec;

inline vec read_i64(const std::string& path) {
    FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) {
        std::fprintf(stderr, "cannot open %s\n", path.c_str());
        std::exit(2);
    }
    vec v;
    long long x;
    while (std::fread(&x, sizeof x, 1, f) == 1) v.push_back(x);
    std::fclose(f);
    return v;
}

inline void write_i64(const std::string& path, const vec& v) {
    FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) {
        std::fprintf(stderr, "cannot write %s\n", path.c_str());
        std::exit(2);
    }
    if (!v.empty()) std::fwrite(v.data(), sizeof(long long), v.size(), f);
    std::fclose(f);
}

inline void write_counts(const std::string& path) {
    FILE* f = std::fopen(path.c_str(), "w");
    for (const auto& kv : iteration_counts()) std::fprintf(f, "%s %lld\n", kv.first.c_str(), kv.second);
    std::fclose(f);
}

template <int EW, int L>
void pack_stream(const vec& v, hls::stream<ap_uint<L * EW> >& s) {
    for (size_t i = 0; i < v.size(); i += L) {
        ap_uint<L * EW> w = 0;
        for (int l = 0; l < L; l++) set_lane<EW>(w, l, ap_int<64>(v[i + l]));
        s.write(w);
    }
}

template <int EW, int L>
vec unpack_stream(hls::stream<ap_uint<L * EW> >& s, bool is_signed) {
    vec v;
    while (!s.empty()) {
        ap_uint<L * EW> w = s.read();
        for (int l = 0; l < L; l++) v.push_back(get_lane<EW>(w, l, is_signed).to_int64());
    }
    return v;
}

// Weights (OC, KH, KW, IC) row-major -> weight words of a conv config (see conv.h).
template <class CFG>
std::vector<typename ConvTypes<CFG>::w_word> pack_conv_weights(const vec& w, int oc, int kh,
                                                                int kw, int ic) {
    const int PE = CFG::PE, SIMD = CFG::SIMD, CF = ic / SIMD;
    std::vector<typename ConvTypes<CFG>::w_word> out((oc / PE) * kh * kw * CF);
    for (int f = 0; f < oc / PE; f++)
        for (int ky = 0; ky < kh; ky++)
            for (int kx = 0; kx < kw; kx++)
                for (int cf = 0; cf < CF; cf++) {
                    typename ConvTypes<CFG>::w_word word = 0;
                    for (int p = 0; p < PE; p++)
                        for (int s = 0; s < SIMD; s++) {
                            const int o = f * PE + p, c = cf * SIMD + s;
                            set_lane<CFG::W_BITS>(word, p * SIMD + s,
                                                  ap_int<64>(w[((o * kh + ky) * kw + kx) * ic + c]));
                        }
                    out[((f * kh + ky) * kw + kx) * CF + cf] = word;
                }
    return out;
}

template <class CFG>
std::vector<typename ConvTypes<CFG>::acc_t> to_bias(const vec& b) {
    std::vector<typename ConvTypes<CFG>::acc_t> out(b.size());
    for (size_t i = 0; i < b.size(); i++) out[i] = b[i];
    return out;
}

// ---------------------------------------------------------------- generic per-case runners
// Case files: <p>.in (H*W*C), <p>.w (OC*KH*KW*IC), <p>.b (OC); outputs <p>.out, <p>.cnt.
template <class CFG>
void run_conv(const std::string& p) {
    reset_counts();
    hls::stream<typename ConvTypes<CFG>::in_word> in;
    hls::stream<typename ConvTypes<CFG>::out_word> out;
    pack_stream<CFG::IN_EW, CFG::SIMD>(read_i64(p + ".in"), in);
    auto w = pack_conv_weights<CFG>(read_i64(p + ".w"), CFG::OUT_C, CFG::KH, CFG::KW, CFG::IN_C);
    auto b = to_bias<CFG>(read_i64(p + ".b"));
    conv_layer<CFG>(in, out, w.data(), b.data());
    if (!in.empty()) std::fprintf(stderr, "%s: input not fully consumed\n", p.c_str());
    write_i64(p + ".out", unpack_stream<CFG::OUT_EW, CFG::PE>(out, CFG::OUT_LO < 0));
    write_counts(p + ".cnt");
}

template <class CFG>
void run_pool(const std::string& p) {
    reset_counts();
    hls::stream<typename PoolTypes<CFG>::word> in, out;
    pack_stream<CFG::EW, CFG::LANES>(read_i64(p + ".in"), in);
    pool_layer<CFG>(in, out);
    if (!in.empty()) std::fprintf(stderr, "%s: input not fully consumed\n", p.c_str());
    write_i64(p + ".out", unpack_stream<CFG::EW, CFG::LANES>(out, CFG::SIGNED));
    write_counts(p + ".cnt");
}

template <class CFG>
void run_global_pool(const std::string& p) {
    reset_counts();
    hls::stream<typename PoolTypes<CFG>::word> in, out;
    pack_stream<CFG::EW, CFG::LANES>(read_i64(p + ".in"), in);
    global_pool_layer<CFG>(in, out);
    write_i64(p + ".out", unpack_stream<CFG::EW, CFG::LANES>(out, CFG::SIGNED));
    write_counts(p + ".cnt");
}

template <class CFG, class PCFG>
void run_conv_pool(const std::string& p) {
    reset_counts();
    hls::stream<typename ConvTypes<CFG>::in_word> in;
    hls::stream<typename PoolTypes<PCFG>::word> out;
    pack_stream<CFG::IN_EW, CFG::SIMD>(read_i64(p + ".in"), in);
    auto w = pack_conv_weights<CFG>(read_i64(p + ".w"), CFG::OUT_C, CFG::KH, CFG::KW, CFG::IN_C);
    auto b = to_bias<CFG>(read_i64(p + ".b"));
    conv_pool_layer<CFG, PCFG>(in, out, w.data(), b.data());
    if (!in.empty()) std::fprintf(stderr, "%s: input not fully consumed\n", p.c_str());
    write_i64(p + ".out", unpack_stream<PCFG::EW, PCFG::LANES>(out, PCFG::SIGNED));
    write_counts(p + ".cnt");
}

}  // namespace tb
}  // namespace edgepool

#endif  // EDGEPOOL_TB_UTIL_H
