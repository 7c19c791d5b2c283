// SPDX-License-Identifier: Apache-2.0
// Multi-threshold stage after the MAC array (edgepool.ir.kernels.threshold): per lane,
//   y = BASE + STEP * #{k : d_c * acc >= T[c][k]}     (ties count as crossed)
// with d_c = -1 for a channel whose float chain decreases (a negative batch-norm scale).
// A comparator bank of N comparators and an adder per lane: no multiplier.
//
// Input : LANES accumulators of ACCW bits per beat, channels-last (channel = word*LANES + lane,
//         C / LANES beats per pixel), s_tlast passed through.
// Table : C / LANES words of LANES entries, $readmemh(TFILE) into an asynchronously read array
//         (distributed ROM / LUTRAM); an entry is EW = N*TW + 1 bits: threshold k at bits
//         [k*TW +: TW] (two's complement, clamped by codegen to the accumulator range, so
//         TW = ACCW + 1 suffices), the direction bit (1 = compare -acc) on top.
// Output: one registered beat of LANES codes of ODW bits (two's complement). II = 1: a beat is
//         accepted every cycle unless the output register is full and not taken.
`timescale 1ns / 1ps
module ep_threshold #(
    parameter int                 ACCW  = 16,
    parameter int                 ODW   = 2,
    parameter int                 LANES = 1,
    parameter int                 C     = 1,
    parameter int                 N     = 1,
    parameter int                 TW    = 17,
    parameter logic signed [63:0] BASE  = -64'sd1,
    parameter int                 STEP  = 2,
    parameter                     TFILE = "t.hex"
) (
    input  logic                  clk,
    input  logic                  rst_n,
    input  logic [LANES*ACCW-1:0] s_tdata,
    input  logic                  s_tlast,
    input  logic                  s_tvalid,
    output logic                  s_tready,
    output logic [ LANES*ODW-1:0] m_tdata,
    output logic                  m_tlast,
    output logic                  m_tvalid,
    input  logic                  m_tready
);
  localparam int NW = C / LANES;
  localparam int EW = N * TW + 1;
  localparam int AW = NW > 1 ? $clog2(NW) : 1;
  localparam int CW = $clog2(N + 1) + 1;

  logic [LANES*EW-1:0] tab[0:NW-1];  // small: distributed ROM (LUTs)
  initial $readmemh(TFILE, tab);

  logic [       AW-1:0] wi;
  logic [LANES*EW-1:0] row;
  logic [LANES*ODW-1:0] y;

  wire s_hs = s_tvalid && s_tready;
  assign s_tready = !m_tvalid || m_tready;
  assign row = tab[wi];

  always_ff @(posedge clk) begin
    if (!rst_n) wi <= '0;
    else if (s_hs) wi <= (wi == AW'(NW - 1)) ? '0 : wi + 1'b1;
  end

  genvar l;
  generate
    for (l = 0; l < LANES; l++) begin : g_lane
      logic signed [ACCW:0] x;
      logic        [CW-1:0] cnt;
      always_comb begin
        x = (ACCW + 1)'($signed(s_tdata[l*ACCW+:ACCW]));
        if (row[l*EW+EW-1]) x = -x;
        cnt = '0;
        for (int k = 0; k < N; k++) begin
          if (x >= $signed(row[l*EW+k*TW+:TW])) cnt = cnt + 1'b1;
        end
        // modulo 2^ODW: the low bits of BASE + STEP * cnt
        y[l*ODW+:ODW] = ODW'(BASE) + ODW'(STEP) * ODW'(cnt);
      end
    end
  endgenerate

  always_ff @(posedge clk) begin
    if (!rst_n) m_tvalid <= 1'b0;
    else if (s_hs) m_tvalid <= 1'b1;
    else if (m_tready) m_tvalid <= 1'b0;
  end
  always_ff @(posedge clk) begin
    if (s_hs) begin
      m_tdata <= y;
      m_tlast <= s_tlast;
    end
  end
endmodule
