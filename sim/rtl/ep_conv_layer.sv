// SPDX-License-Identifier: Apache-2.0
// Convolution / fully connected layer: ep_swg (line buffer, REPEAT = OC/PE) -> ep_mvau
// (PE x SIMD MACs, requantize + ReLU) -> ep_ser (PE -> OUT_LANES; OUT_LANES > 1 only into a
// fused pool that takes as many elements per beat). Element streams in and out (HWC
// order, one element per beat, m_tlast on the frame's last element).
`timescale 1ns / 1ps
module ep_conv_layer #(
    parameter int                 IDW       = 8,
    parameter int                 IN_SIGNED = 0,
    parameter int                 H         = 4,
    parameter int                 W         = 4,
    parameter int                 C         = 1,
    parameter int                 OC        = 1,
    parameter int                 KH        = 3,
    parameter int                 KW        = 3,
    parameter int                 SH        = 1,
    parameter int                 SW        = 1,
    parameter int                 PT        = 0,
    parameter int                 PL        = 0,
    parameter int                 PB        = 0,
    parameter int                 PR        = 0,
    parameter int                 OH        = 2,
    parameter int                 OW        = 2,
    parameter int                 PE        = 1,
    parameter int                 SIMD      = 1,
    parameter int                 WW        = 8,
    parameter int                 ACCW      = 24,
    parameter int                 ODW       = 8,
    parameter int                 SHIFT     = 0,
    parameter int                 RELU      = 0,
    parameter logic signed [63:0] OMIN      = -64'sd128,
    parameter logic signed [63:0] OMAX      = 64'sd127,
    parameter                     WFILE     = "w.hex",
    parameter                     BFILE     = "b.hex",
    parameter int                 OUT_LANES = 1,       // elements per output beat (| PE)
    parameter int                 DSP_PACK  = 0,       // two <= 8-bit MACs per DSP48E2
    parameter int                 XNOR      = 0        // 1-bit layer: ep_mvau popcount tree (no DSP_PACK)
) (
    input  logic           clk,
    input  logic           rst_n,
    input  logic [IDW-1:0] s_tdata,
    input  logic           s_tvalid,
    output logic           s_tready,
    output logic [OUT_LANES*ODW-1:0] m_tdata,
    output logic           m_tlast,
    output logic           m_tvalid,
    input  logic           m_tready
);
  localparam int NF = OC / PE;
  logic [SIMD*IDW-1:0] win_tdata;
  logic [1:0] win_tkind;
  logic win_tklast, win_twlast, win_tlast, win_tvalid, win_tready;
  logic [PE*ODW-1:0] acc_tdata;
  logic acc_tlast, acc_tvalid, acc_tready;
  wire unused_win = &{1'b0, win_tkind, win_tklast};
  // handshake probes for the cycle measurements of the benches
  wire win_hs /*verilator public*/ = win_tvalid && win_tready;

  ep_swg #(
      .DW(IDW), .H(H), .W(W), .C(C), .SIMD(SIMD), .KH(KH), .KW(KW), .SH(SH), .SW(SW),
      .PT(PT), .PL(PL), .PB(PB), .PR(PR), .OH(OH), .OW(OW), .REPEAT(NF)
  ) u_swg (
      .clk(clk), .rst_n(rst_n),
      .s_tdata(s_tdata), .s_tvalid(s_tvalid), .s_tready(s_tready),
      .m_tdata(win_tdata), .m_tkind(win_tkind), .m_tklast(win_tklast), .m_twlast(win_twlast),
      .m_tlast(win_tlast), .m_tvalid(win_tvalid), .m_tready(win_tready)
  );

  ep_mvau #(
      .IDW(IDW), .IN_SIGNED(IN_SIGNED), .WW(WW), .ACCW(ACCW), .PE(PE), .SIMD(SIMD), .NF(NF),
      .WPF(KH * KW * (C / SIMD)), .ODW(ODW), .SHIFT(SHIFT), .RELU(RELU), .OMIN(OMIN),
      .OMAX(OMAX), .WFILE(WFILE), .BFILE(BFILE), .DSP_PACK(DSP_PACK), .XNOR(XNOR)
  ) u_mvau (
      .clk(clk), .rst_n(rst_n),
      .s_tdata(win_tdata), .s_twlast(win_twlast), .s_tlast(win_tlast),
      .s_tvalid(win_tvalid), .s_tready(win_tready),
      .m_tdata(acc_tdata), .m_tlast(acc_tlast), .m_tvalid(acc_tvalid), .m_tready(acc_tready)
  );

  ep_ser #(
      .DW(ODW), .N(PE), .M(OUT_LANES)
  ) u_ser (
      .clk(clk), .rst_n(rst_n),
      .s_tdata(acc_tdata), .s_tlast(acc_tlast), .s_tvalid(acc_tvalid), .s_tready(acc_tready),
      .m_tdata(m_tdata), .m_tlast(m_tlast), .m_tvalid(m_tvalid), .m_tready(m_tready)
  );
endmodule
