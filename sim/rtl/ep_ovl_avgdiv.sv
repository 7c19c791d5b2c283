// SPDX-License-Identifier: Apache-2.0
// The overlay's pool result stage: LANES numerators (pool sums or maxima, signed NUMW bits)
// divided by one shared count, rounded half to even (edgepool.ir.kernels.div_round), in a
// pipeline of QB + 2 register stages, one result per cycle. A max pool passes its value with
// den = 1.
//
// Restoring division of the magnitude, one quotient bit per stage: the caller guarantees
// |num| < den * 2^QB (an average of QB-1-bit magnitudes, or a max / the max pool's -2^(QB-1)
// sentinel with den = 1), so the partial remainder starts at |num| >> QB (< den) and only QB
// quotient bits exist. Each stage is one DEN_BITS+1-bit compare-subtract per lane; rounding
// half to even is symmetric in the sign, so the sign is taken off before and put back after.
// Stage 0 registers the magnitudes; stages 1..QB divide; the last rounds and restores the sign.
`timescale 1ns / 1ps
module ep_ovl_avgdiv #(
    parameter int LANES = 8,
    parameter int NUMW = 20,             // numerator bits (signed)
    parameter int DEN_BITS = 10,         // den in 1 .. 2^DEN_BITS - 1
    parameter int QB = 9,                // quotient bits: |num| < den * 2^QB
    parameter int OUTW = 8               // result bits kept (two's complement)
) (
    input  logic                      clk,
    input  logic                      rst_n,
    input  logic                      in_valid,
    input  logic [ LANES*NUMW-1:0]    in_num,
    input  logic [  DEN_BITS-1:0]     in_den,
    output logic                      out_valid,
    output logic [ LANES*OUTW-1:0]    out_q,
    output logic                      busy      // a result is in flight
);
  localparam int RW = DEN_BITS + 1;      // partial remainder (< 2 * den before the subtract)
  localparam int MW = NUMW;              // magnitude bits (|-2^(NUMW-1)| fits unsigned)
  localparam int ST = QB + 2;
  localparam int XW = OUTW > QB + 2 ? OUTW : QB + 2;

  logic [ST-1:0] v;
  logic [DEN_BITS-1:0] den[QB+1];
  logic [RW-1:0] rem[QB+1][LANES];
  logic [MW-1:0] mag[QB+1][LANES];       // the dividend bits not yet brought down (top first)
  logic [QB-1:0] quo[QB+1][LANES];
  logic neg[QB+1][LANES];

  assign busy = |v;
  assign out_valid = v[ST-1];

  always_ff @(posedge clk) begin
    if (!rst_n) v <= '0;
    else v <= {v[ST-2:0], in_valid};
  end

  always_ff @(posedge clk) begin
    // stage 0: sign and magnitude; the remainder starts with the bits above the quotient's
    den[0] <= in_den;
    for (int l = 0; l < LANES; l++) begin
      logic signed [NUMW-1:0] n;
      logic [MW-1:0] m;
      n = $signed(in_num[l*NUMW+:NUMW]);
      m = n < 0 ? MW'(-n) : MW'(n);
      neg[0][l] <= n < 0;
      rem[0][l] <= RW'(m >> QB);
      mag[0][l] <= m << (MW - QB);        // the QB low bits, top-aligned
      quo[0][l] <= '0;
    end
    // stages 1 .. QB: bring one bit down, subtract when the remainder reaches den
    for (int k = 1; k <= QB; k++) begin
      den[k] <= den[k-1];
      for (int l = 0; l < LANES; l++) begin
        logic [RW:0] r2;
        r2 = {rem[k-1][l], mag[k-1][l][MW-1]};
        if (r2 >= (RW + 1)'(den[k-1])) begin
          rem[k][l] <= RW'(r2 - (RW + 1)'(den[k-1]));
          quo[k][l] <= {quo[k-1][l][QB-2:0], 1'b1};
        end else begin
          rem[k][l] <= RW'(r2);
          quo[k][l] <= {quo[k-1][l][QB-2:0], 1'b0};
        end
        mag[k][l] <= mag[k-1][l] << 1;
        neg[k][l] <= neg[k-1][l];
      end
    end
    // last stage: round half to even (2r > den, or 2r == den and q odd), restore the sign
    for (int l = 0; l < LANES; l++) begin
      logic [RW:0] r2;
      logic signed [XW-1:0] q;
      logic up;
      r2 = {rem[QB][l], 1'b0};
      up = r2 > (RW + 1)'(den[QB]) || (r2 == (RW + 1)'(den[QB]) && quo[QB][l][0]);
      q = XW'(quo[QB][l]) + XW'(up);
      out_q[l*OUTW+:OUTW] <= neg[QB][l] ? OUTW'(-q) : OUTW'(q);
    end
  end
  wire unused = &{1'b0, mag[QB][0]};
endmodule
