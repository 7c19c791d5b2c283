// SPDX-License-Identifier: Apache-2.0
// Pooling layer: ep_swg (line buffer) -> ep_pool (max / avg) -> ep_ser (SIMD -> 1).
// Element streams in and out (HWC order, IN_LANES elements per input beat, one per output
// beat, m_tlast on the last element).
`timescale 1ns / 1ps
module ep_pool_layer #(
    parameter int DW        = 8,
    parameter int SIGNED    = 0,
    parameter int H         = 4,
    parameter int W         = 4,
    parameter int C         = 1,
    parameter int KH        = 2,
    parameter int KW        = 2,
    parameter int SH        = 2,
    parameter int SW        = 2,
    parameter int PT        = 0,
    parameter int PL        = 0,
    parameter int PB        = 0,
    parameter int PR        = 0,
    parameter int OH        = 2,
    parameter int OW        = 2,
    parameter int SIMD      = 1,
    parameter int MODE      = 0,
    parameter int COUNT_PAD = 0,
    parameter int DIV_BITS = 4,         // average divider: quotient bits per pipeline stage
    parameter int IN_LANES = 1          // elements per input beat (| SIMD)
) (
    input  logic          clk,
    input  logic          rst_n,
    input  logic [IN_LANES*DW-1:0] s_tdata,
    input  logic          s_tvalid,
    output logic          s_tready,
    output logic [DW-1:0] m_tdata,
    output logic          m_tlast,
    output logic          m_tvalid,
    input  logic          m_tready
);
  logic [SIMD*DW-1:0] win_tdata;
  logic [1:0] win_tkind;
  logic win_tklast, win_twlast, win_tlast, win_tvalid, win_tready;
  logic [SIMD*DW-1:0] red_tdata;
  logic red_tlast, red_tvalid, red_tready;
  wire unused_win = &{1'b0, win_twlast};
  // handshake probe for the cycle measurements of the benches
  wire win_hs /*verilator public*/ = win_tvalid && win_tready;

  ep_swg #(
      .DW(DW), .H(H), .W(W), .C(C), .SIMD(SIMD), .KH(KH), .KW(KW), .SH(SH), .SW(SW),
      .PT(PT), .PL(PL), .PB(PB), .PR(PR), .OH(OH), .OW(OW), .REPEAT(1), .IN_LANES(IN_LANES)
  ) u_swg (
      .clk(clk), .rst_n(rst_n),
      .s_tdata(s_tdata), .s_tvalid(s_tvalid), .s_tready(s_tready),
      .m_tdata(win_tdata), .m_tkind(win_tkind), .m_tklast(win_tklast), .m_twlast(win_twlast),
      .m_tlast(win_tlast), .m_tvalid(win_tvalid), .m_tready(win_tready)
  );

  ep_pool #(
      .DW(DW), .SIGNED(SIGNED), .SIMD(SIMD), .MODE(MODE), .KK(KH * KW), .COUNT_PAD(COUNT_PAD),
      .DIV_BITS(DIV_BITS)
  ) u_pool (
      .clk(clk), .rst_n(rst_n),
      .s_tdata(win_tdata), .s_tkind(win_tkind), .s_tklast(win_tklast), .s_tlast(win_tlast),
      .s_tvalid(win_tvalid), .s_tready(win_tready),
      .m_tdata(red_tdata), .m_tlast(red_tlast), .m_tvalid(red_tvalid), .m_tready(red_tready)
  );

  ep_ser #(
      .DW(DW), .N(SIMD)
  ) u_ser (
      .clk(clk), .rst_n(rst_n),
      .s_tdata(red_tdata), .s_tlast(red_tlast), .s_tvalid(red_tvalid), .s_tready(red_tready),
      .m_tdata(m_tdata), .m_tlast(m_tlast), .m_tvalid(m_tvalid), .m_tready(m_tready)
  );
endmodule
