// SPDX-License-Identifier: Apache-2.0
// Requantize one accumulator: y = saturate(relu(shift_round(acc, SHIFT))); combinational, or
// with PIPE = 1 the rounded value is registered (on en) before the saturation: one cycle of
// latency, the logic depth split between the rounding adder and the saturating compares.
// shift_round rounds half to even for SHIFT > 0 and is an exact left shift for SHIFT <= 0,
// exactly edgepool.ir.kernels.requantize. The output is ODW bits of two's complement
// (or unsigned when OMIN >= 0).
`timescale 1ns / 1ps
module ep_requant #(
    parameter int                 ACCW  = 24,
    parameter int                 ODW   = 8,
    parameter int                 SHIFT = 0,
    parameter int                 RELU  = 0,
    parameter logic signed [63:0] OMIN  = -64'sd128,
    parameter logic signed [63:0] OMAX  = 64'sd127,
    parameter int                 PIPE  = 0
) (
    input  logic                   clk,
    input  logic                   en,
    input  logic signed [ACCW-1:0] acc,
    output logic        [ ODW-1:0] y
);
  localparam int LS = SHIFT < 0 ? -SHIFT : 0;
  localparam int XW = ACCW + LS + 2;
  logic signed [XW-1:0] v, vs;
  logic signed [  63:0] vc;

  generate
    if (SHIFT > 0) begin : g_round
      logic signed [ACCW-1:0] q;
      logic        [  SHIFT:0] rem;  // dropped bits, then a 0
      logic                    up;
      always_comb begin
        q   = acc >>> SHIFT;
        rem = {acc[SHIFT-1:0], 1'b0};
        // above half: top dropped bit and any lower one; exactly half: round to even
        up  = rem[SHIFT] && ((|rem[SHIFT-1:0]) || q[0]);
        v   = XW'(q) + XW'(up);
      end
    end else begin : g_left
      always_comb v = XW'(acc) <<< LS;
    end
  endgenerate

  generate
    if (PIPE != 0) begin : g_pipe
      always_ff @(posedge clk) begin
        if (en) vs <= v;
      end
    end else begin : g_comb
      wire unused_pipe = &{1'b0, clk, en};
      always_comb vs = v;
    end
  endgenerate

  always_comb begin
    vc = 64'(vs);
    if (RELU != 0 && vc < 0) vc = '0;
    if (vc < OMIN) vc = OMIN;
    if (vc > OMAX) vc = OMAX;
    y = vc[ODW-1:0];
  end
endmodule
