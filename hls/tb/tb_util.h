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
#include "edgepool/overlay.h"

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
    for (const auto& kv : iteration_counts())
        if (kv.second) std::fprintf(f, "%s %lld\n", kv.first.c_str(), kv.second);
    std::fclose(f);
}

inline std::vector<unsigned char> read_bytes(const std::string& path) {
    FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) {
        std::fprintf(stderr, "cannot open %s\n", path.c_str());
        std::exit(2);
    }
    std::vector<unsigned char> v;
    int c;
    while ((c = std::fgetc(f)) != EOF) v.push_back((unsigned char)c);
    std::fclose(f);
    return v;
}

inline void write_bytes(const std::string& path, const std::vector<unsigned char>& v) {
    FILE* f = std::fopen(path.c_str(), "wb");
    if (!v.empty()) std::fwrite(v.data(), 1, v.size(), f);
    std::fclose(f);
}

// Little-endian bytes -> words of N bits (N a multiple of 8); n_words words (zero-filled).
template <int N>
std::vector<ap_uint<N> > bytes_to_words(const std::vector<unsigned char>& b, size_t n_words) {
    std::vector<ap_uint<N> > w(n_words, ap_uint<N>(0));
    for (size_t i = 0; i < b.size() && i / (N / 8) < n_words; i++)
        w[i / (N / 8)].range((i % (N / 8)) * 8 + 7, (i % (N / 8)) * 8) = b[i];
    return w;
}

template <int N>
std::vector<unsigned char> words_to_bytes(const std::vector<ap_uint<N> >& w) {
    std::vector<unsigned char> b;
    for (size_t i = 0; i < w.size(); i++)
        for (int k = 0; k < N / 8; k++) b.push_back((unsigned char)w[i].range(k * 8 + 7, k * 8));
    return b;
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

// Overlay run: files <p>.desc (uint32), <p>.w (weight bytes), <p>.b (int64), <p>.act (bytes),
// <p>.meta (int64: n_layers, weight words, activation words); writes <p>.actout and <p>.cnt.
template <class OV>
int run_overlay(const std::string& p) {
    typedef OvTypes<OV> T;
    reset_counts();
    const vec meta = read_i64(p + ".meta");
    const int n_layers = (int)meta[0];
    const std::vector<unsigned char> db = read_bytes(p + ".desc");
    std::vector<ap_uint<32> > desc = bytes_to_words<32>(db, db.size() / 4);
    std::vector<typename T::w_word> wmem =
        bytes_to_words<T::w_word::width>(read_bytes(p + ".w"), (size_t)meta[1] + 1);
    const vec b = read_i64(p + ".b");
    std::vector<typename T::bias_t> bmem(b.size() + 1, 0);
    for (size_t i = 0; i < b.size(); i++) bmem[i] = b[i];
    std::vector<typename T::act_word> act =
        bytes_to_words<T::act_word::width>(read_bytes(p + ".act"), (size_t)meta[2]);
    const int rc = overlay_run<OV>(desc.data(), n_layers, wmem.data(), bmem.data(), act.data(),
                                   act.data());
    write_bytes(p + ".actout", words_to_bytes<T::act_word::width>(act));
    write_counts(p + ".cnt");
    return rc;
}

// AXI-stream top run: <p>.in holds the input frame bytes (runtime/axis.py pack, whole beats);
// writes the output bytes (TKEEP-valid bytes) to <p>.out. Reports a TLAST error on stderr.
template <int BYTES, class TOP>
void run_axis_top(TOP top, const std::string& p) {
    reset_counts();
    const std::vector<unsigned char> in_bytes = read_bytes(p + ".in");
    hls::stream<axis_beat<BYTES> > in, out;
    const size_t n_beats = in_bytes.size() / BYTES;
    for (size_t i = 0; i < n_beats; i++) {
        axis_beat<BYTES> b;
        for (int k = 0; k < BYTES; k++) b.data.range(8 * k + 7, 8 * k) = in_bytes[i * BYTES + k];
        b.keep = ~ap_uint<BYTES>(0);
        b.last = i + 1 == n_beats ? 1 : 0;
        in.write(b);
    }
    top(in, out);
    if (!in.empty()) std::fprintf(stderr, "%s: input not fully consumed\n", p.c_str());
    std::vector<unsigned char> ob;
    bool seen_last = false;
    while (!out.empty()) {
        axis_beat<BYTES> b = out.read();
        if (seen_last) std::fprintf(stderr, "ERROR %s: beat after TLAST\n", p.c_str());
        for (int k = 0; k < BYTES; k++)
            if (b.keep[k]) ob.push_back((unsigned char)b.data.range(8 * k + 7, 8 * k));
        seen_last = b.last == 1;
    }
    if (!seen_last) std::fprintf(stderr, "ERROR %s: no TLAST on the last beat\n", p.c_str());
    write_bytes(p + ".out", ob);
    write_counts(p + ".cnt");
}

}  // namespace tb
}  // namespace edgepool

#endif  // EDGEPOOL_TB_UTIL_H
