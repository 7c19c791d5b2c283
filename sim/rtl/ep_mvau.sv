// SPDX-License-Identifier: Apache-2.0
// Matrix-vector-activation unit: PE x SIMD multiply-accumulate array, weight and bias ROMs
// ($readmemh), requantize + ReLU per output.
//
// Input : the ep_swg window stream, SIMD elements per beat, REPEAT = NF = OC / PE passes per
//         pixel; every window is WPF = KH*KW*(C/SIMD) beats ending with s_twlast.
// Output: one beat of PE requantized channels per window pass (channels nf*PE .. nf*PE+PE-1).
// Weight ROM word a = nf*WPF + beat: lane pe*SIMD+s holds w[nf*PE+pe] for the beat's channel
// cs*SIMD+s (codegen writes it in the ep_swg loop order). Bias ROM word nf: PE lanes of ACCW.
// II = 1: one input beat per cycle unless the output register is full and not taken.
// XNOR = 1 (a 1-bit layer: every input and weight is ±1, two's complement, sign bit on top):
// each product is the XNOR of two sign bits, a PE's SIMD terms sum to 2·popcount − SIMD (a
// popcount tree, no multiplier).
`timescale 1ns / 1ps
module ep_mvau #(
    parameter int                 IDW       = 8,
    parameter int                 IN_SIGNED = 0,
    parameter int                 WW        = 8,
    parameter int                 ACCW      = 24,
    parameter int                 PE        = 1,
    parameter int                 SIMD      = 1,
    parameter int                 NF        = 1,
    parameter int                 WPF       = 9,
    parameter int                 ODW       = 8,
    parameter int                 SHIFT     = 0,
    parameter int                 RELU      = 0,
    parameter logic signed [63:0] OMIN      = -64'sd128,
    parameter logic signed [63:0] OMAX      = 64'sd127,
    parameter                     WFILE     = "w.hex",
    parameter                     BFILE     = "b.hex",
    parameter int                 XNOR      = 0
) (
    input  logic                clk,
    input  logic                rst_n,
    input  logic [SIMD*IDW-1:0] s_tdata,
    input  logic                s_twlast,
    input  logic                s_tlast,
    input  logic                s_tvalid,
    output logic                s_tready,
    output logic [  PE*ODW-1:0] m_tdata,
    output logic                m_tlast,
    output logic                m_tvalid,
    input  logic                m_tready
);
  localparam int WDEPTH = NF * WPF;
  localparam int WAW = WDEPTH > 1 ? $clog2(WDEPTH) : 1;
  localparam int BAW = NF > 1 ? $clog2(NF) : 1;

  logic [        WAW-1:0] wa;
  logic [        BAW-1:0] ba;
  logic [PE*SIMD*WW-1:0] wrow;
  logic [    PE*ACCW-1:0] brow;
  logic                   a_v, a_wlast, a_last;
  logic [  SIMD*IDW-1:0] a_data;
  logic signed [ACCW-1:0] acc[0:PE-1];
  logic signed [ACCW-1:0] acc_n[0:PE-1];
  logic signed [ACCW-1:0] res[0:PE-1];
  logic [     PE*ODW-1:0] yq;

  wire stall = m_tvalid && !m_tready;
  wire s_hs = s_tvalid && s_tready;
  assign s_tready = !stall;

  ep_rom #(
      .DW(PE * SIMD * WW),
      .DEPTH(WDEPTH),
      .AW(WAW),
      .FILE(WFILE)
  ) u_wrom (
      .clk (clk),
      .en  (s_hs),
      .addr(wa),
      .data(wrow)
  );
  ep_rom #(
      .DW(PE * ACCW),
      .DEPTH(NF),
      .AW(BAW),
      .FILE(BFILE)
  ) u_brom (
      .clk (clk),
      .en  (s_hs),
      .addr(ba),
      .data(brow)
  );

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      wa <= '0;
      ba <= '0;
    end else if (s_hs) begin
      wa <= (wa == WAW'(WDEPTH - 1)) ? '0 : wa + 1'b1;
      if (s_twlast) ba <= (ba == BAW'(NF - 1)) ? '0 : ba + 1'b1;
    end
  end

  // stage A: the accepted beat, aligned with the ROM outputs
  always_ff @(posedge clk) begin
    if (!rst_n) a_v <= 1'b0;
    else if (!stall) a_v <= s_tvalid;
  end
  always_ff @(posedge clk) begin
    if (s_hs) begin
      a_data  <= s_tdata;
      a_wlast <= s_twlast;
      a_last  <= s_tlast;
    end
  end

  // multiply-accumulate: PE dot products of SIMD terms
  genvar p;
  generate
    for (p = 0; p < PE; p++) begin : g_pe
      logic signed [ACCW-1:0] sum;
      logic signed [ACCW-1:0] bias;
      if (XNOR != 0) begin : g_xnor
        logic signed [ACCW-1:0] agree;  // SIMD terms whose sign bits agree
        always_comb begin
          agree = '0;
          for (int s = 0; s < SIMD; s++)
            agree = agree + ACCW'({1'b0, a_data[s*IDW+IDW-1] ~^ wrow[(p*SIMD+s)*WW+WW-1]});
          sum = (agree <<< 1) - ACCW'(SIMD);
        end
      end else begin : g_mac
        logic signed [ACCW-1:0] xe, we;
        always_comb begin
          sum = '0;
          for (int s = 0; s < SIMD; s++) begin
            if (IN_SIGNED != 0) xe = ACCW'($signed(a_data[s*IDW+:IDW]));
            else xe = ACCW'($signed({1'b0, a_data[s*IDW+:IDW]}));
            we  = ACCW'($signed(wrow[(p*SIMD+s)*WW+:WW]));
            sum = sum + xe * we;
          end
        end
      end
      always_comb begin
        bias = $signed(brow[p*ACCW+:ACCW]);
        acc_n[p] = acc[p] + sum;
        res[p] = acc_n[p] + bias;
      end
      ep_requant #(
          .ACCW (ACCW),
          .ODW  (ODW),
          .SHIFT(SHIFT),
          .RELU (RELU),
          .OMIN (OMIN),
          .OMAX (OMAX)
      ) u_rq (
          .acc(res[p]),
          .y  (yq[p*ODW+:ODW])
      );
      always_ff @(posedge clk) begin
        if (!rst_n) acc[p] <= '0;
        else if (a_v && !stall) acc[p] <= a_wlast ? '0 : acc_n[p];
      end
    end
  endgenerate

  always_ff @(posedge clk) begin
    if (!rst_n) m_tvalid <= 1'b0;
    else if (a_v && !stall && a_wlast) m_tvalid <= 1'b1;
    else if (m_tready) m_tvalid <= 1'b0;
  end
  always_ff @(posedge clk) begin
    if (a_v && !stall && a_wlast) begin
      m_tdata <= yq;
      m_tlast <= a_last;
    end
  end
endmodule
