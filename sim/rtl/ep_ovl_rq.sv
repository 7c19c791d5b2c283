// SPDX-License-Identifier: Apache-2.0
// One lane of the overlay's requantizer, at the accumulator's width: the layer's run-time
// shift, ReLU and saturation bounds come pre-decoded (ep_ovl_core registers them once per
// layer), so a lane is one ACC_BITS-bit arithmetic right shift with round half to even
// (shift > 0) or one OUT_BITS-bit left shift (shift <= 0), and two compares against bounds.
//  * shift > 0: q = acc >>> sc, up = (acc & half) && ((acc & low) || q odd); y = clamp(q + up)
//    (ReLU first), sc = min(shift, ACC_BITS), half = 1 << (sc-1), low = half - 1.
//  * shift <= 0: ReLU; acc > hl: hi; acc < ll: lo; else acc << ls, with hl = hi >>> ls and
//    ll = -((-lo) >>> ls), ls = min(-shift, RB+1): the exact edgepool.ir.kernels.requantize.
// Bounds are WB = ACC_BITS + 2 bits: the core clamps lo / hi (and hl / ll) into that range,
// which keeps every compare's outcome (q and acc fit ACC_BITS + 1 bits); lo_o / hi_o are the
// bounds' own low OUT_BITS bits (a raw accumulator output's +-2^63 included).
// Two stages: the shift and the rounding adder, registered on `en`, then the compares and the
// output select (the caller registers y): one cycle of latency, the depth split in two.
`timescale 1ns / 1ps
module ep_ovl_rq #(
    parameter int ACC_BITS = 32,
    parameter int OUT_BITS = 8,
    parameter int SHW = 6,                 // shift-amount bits (>= clog2(max(ACC_BITS, OUT_BITS) + 1))
    parameter int WB = ACC_BITS + 2
) (
    input  logic                       clk,
    input  logic                       en,     // acc is valid: register the first stage
    input  logic signed [ACC_BITS-1:0] acc,
    input  logic                       pos,    // shift > 0
    input  logic        [     SHW-1:0] sc,     // right shift (pos)
    input  logic        [ACC_BITS-1:0] half,   // 1 << (sc - 1)
    input  logic        [ACC_BITS-1:0] low,    // half - 1
    input  logic        [     SHW-1:0] ls,     // left shift (!pos)
    input  logic                       relu,
    input  logic signed [      WB-1:0] lo,
    input  logic signed [      WB-1:0] hi,
    input  logic signed [      WB-1:0] ll,
    input  logic signed [      WB-1:0] hl,
    input  logic        [OUT_BITS-1:0] lo_o,
    input  logic        [OUT_BITS-1:0] hi_o,
    output logic        [OUT_BITS-1:0] y
);
  logic signed [ACC_BITS-1:0] q;
  logic signed [WB-1:0] v, vq;             // stage 1: the rounded quotient or acc (ReLU'd)
  logic up;
  always_comb begin
    q = acc >>> sc;
    up = (acc & half) != 0 && ((acc & low) != 0 || q[0]);
    v = pos ? WB'(q) + WB'(up) : WB'(acc);
    if (relu && v < 0) v = '0;
  end
  always_ff @(posedge clk) begin
    if (en) vq <= v;
  end
  always_comb begin
    if (pos) y = vq > hi ? hi_o : (vq < lo ? lo_o : OUT_BITS'(vq));
    else y = vq > hl ? hi_o : (vq < ll ? lo_o : OUT_BITS'(vq) << ls);
  end
endmodule
