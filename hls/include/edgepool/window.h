// SPDX-License-Identifier: Apache-2.0
// edgepool HLS library: the line-buffer sliding-window engine shared by convolution and pooling.
//
// Geometry (WinGeom) is a run-time struct so that ONE implementation serves both the dataflow
// layers (fields are compile-time constants of the config, HLS folds them) and the run-time
// configured overlay (fields come from the layer descriptor). Capacities are template constants.
//
// Input: an (H, W, C) feature map in stream order (H, W, then C), CF = C / LANES packed words per
// pixel, one word per stream read. Any kernel KH x KW, stride (also larger than the kernel),
// dilation, explicit pads (top, left, bottom, right) and the ceil-mode overhang are supported: the
// caller gives OH / OW (pool_output_size) and every tap is classified as
//   TAP_REAL (inside the input), TAP_PAD (explicit padding), TAP_OVER (ceil-mode overhang).
//
// Line buffer: NR = DH*(KH-1)+1 + SH rows of W*CF words, a circular buffer (input row r lives in
// slot r mod NR). While output row oy is computed from rows first(oy)..last(oy), the rows up to
// last(oy+1) are prefetched into the other slots, so reading and computing overlap.
//
// Schedule (this is what edgepool/dse/cost.py counts; each line is one II=1 pipelined loop):
//   load : ready(0) * W * CF iterations                      (rows needed by output row 0)
//   for oy in 0 .. OH-1:
//     step : max(OW * STEPS_PER_PIXEL, (ready(oy+1) - ready(oy)) * W * CF) iterations
//   with ready(oy) = clamp(oy*SH - PT + DH*(KH-1) + 1, 0, H) and ready(OH) = H (drain the input).
#ifndef EDGEPOOL_WINDOW_H
#define EDGEPOOL_WINDOW_H

#include "common.h"

namespace edgepool {

enum TapKind { TAP_REAL = 0, TAP_PAD = 1, TAP_OVER = 2 };

struct WinGeom {
    int H, W, CF;           // input rows, columns, packed words per pixel
    int KH, KW, SH, SW, DH, DW;
    int PT, PL, PB, PR;     // ONNX pads order (top, left, bottom, right)
    int OH, OW;             // output size (pool_output_size, with or without ceil_mode)
};

// Rows of input that must have arrived before output row oy can be computed.
inline int rows_ready(const WinGeom& g, int oy) {
#pragma HLS INLINE
    if (oy >= g.OH) return g.H;
    int r = oy * g.SH - g.PT + g.DH * (g.KH - 1) + 1;
    return r < 0 ? 0 : (r > g.H ? g.H : r);
}

inline int line_rows(const WinGeom& g) { return g.DH * (g.KH - 1) + 1 + g.SH; }

// Words the line buffer must hold for a geometry (capacity check for the overlay).
inline long line_words(const WinGeom& g) { return (long)line_rows(g) * g.W * g.CF; }

inline TapKind tap_kind(const WinGeom& g, int iy, int ix) {
#pragma HLS INLINE
    const bool ry = iy >= 0 && iy < g.H, rx = ix >= 0 && ix < g.W;
    if (ry && rx) return TAP_REAL;
    const bool py = iy >= -g.PT && iy < g.H + g.PB, px = ix >= -g.PL && ix < g.W + g.PR;
    return (py && px) ? TAP_PAD : TAP_OVER;
}

// Circular line buffer of CAP words.
template <class word_t, int CAP>
struct LineBuffer {
    word_t mem[CAP];
    int nrows, row_words, wr_addr, wr_pos, wr_slot;
    int base_slot;          // slot of row oy*SH - PT (mathematical modulo), for the current oy

    void reset(const WinGeom& g) {
#pragma HLS INLINE
        nrows = line_rows(g);
        row_words = g.W * g.CF;
        wr_addr = 0;
        wr_pos = 0;
        wr_slot = 0;
        int m = (-g.PT) % nrows;
        base_slot = m < 0 ? m + nrows : m;
    }
    void push(const word_t& w) {
#pragma HLS INLINE
        mem[wr_addr] = w;
        wr_addr++;
        if (++wr_pos == row_words) {
            wr_pos = 0;
            if (++wr_slot == nrows) {
                wr_slot = 0;
                wr_addr = 0;
            }
        }
    }
    void next_row(const WinGeom& g) {
#pragma HLS INLINE
        base_slot += g.SH;
        if (base_slot >= nrows) base_slot -= nrows;
    }
    // Word cf of input pixel (oy*SH - PT + ky*DH, ix); the caller has checked it is TAP_REAL.
    word_t read(const WinGeom& g, int ky, int ix, int cf) const {
#pragma HLS INLINE
        int slot = base_slot + ky * g.DH;
        if (slot >= nrows) slot -= nrows;
        return mem[slot * row_words + ix * g.CF + cf];
    }
};

}  // namespace edgepool

#endif  // EDGEPOOL_WINDOW_H
