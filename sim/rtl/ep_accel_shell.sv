// SPDX-License-Identifier: Apache-2.0
// The shell of a dataflow accelerator IP around a generated datapath (ep_top): AXI4-Lite
// ap_ctrl_hs control (ep_axil_ctrl), the DMA-width AXI4-Stream slave / master with their
// width converters (ep_axis_unpack / ep_axis_pack), and the frame bookkeeping between them:
//   * ap_start (held, or kept by auto_restart) grants the input side one frame when it is free;
//     ap_ready pulses when that frame's last input beat is accepted, so the next start can
//     overlap the frames still inside the datapath (frames pipeline as in the HLS dataflow);
//   * ap_done pulses when a frame's last output beat (TLAST) is taken;
//   * ap_idle = no granted frame in flight (granted frames minus finished frames is zero).
// The datapath's element streams are the dp_* ports (one element per beat, its container).
`timescale 1ns / 1ps
module ep_accel_shell #(
    parameter int AW = 6,
    parameter int OFF_CTRL = 0,
    parameter int OFF_GIER = 4,
    parameter int OFF_IER = 8,
    parameter int OFF_ISR = 12,
    parameter int START_BIT = 0,
    parameter int DONE_BIT = 1,
    parameter int IDLE_BIT = 2,
    parameter int READY_BIT = 3,
    parameter int AUTO_RESTART_BIT = 7,
    parameter int GIE_BIT = 0,
    parameter int IRQ_DONE_BIT = 0,
    parameter int IRQ_READY_BIT = 1,
    parameter int BEAT_BYTES = 8,
    parameter int IN_EB = 1,
    parameter int OUT_EB = 4,
    parameter int N_IN = 64,
    parameter int N_OUT = 10,
    parameter int INFLIGHT_W = 8         // frames in flight counter (granted, not finished)
) (
    input  logic                    ap_clk,
    input  logic                    ap_rst_n,
    input  logic [          AW-1:0] s_axi_control_awaddr,
    input  logic                    s_axi_control_awvalid,
    output logic                    s_axi_control_awready,
    input  logic [            31:0] s_axi_control_wdata,
    input  logic [             3:0] s_axi_control_wstrb,
    input  logic                    s_axi_control_wvalid,
    output logic                    s_axi_control_wready,
    output logic [             1:0] s_axi_control_bresp,
    output logic                    s_axi_control_bvalid,
    input  logic                    s_axi_control_bready,
    input  logic [          AW-1:0] s_axi_control_araddr,
    input  logic                    s_axi_control_arvalid,
    output logic                    s_axi_control_arready,
    output logic [            31:0] s_axi_control_rdata,
    output logic [             1:0] s_axi_control_rresp,
    output logic                    s_axi_control_rvalid,
    input  logic                    s_axi_control_rready,
    input  logic [BEAT_BYTES*8-1:0] s_axis_tdata,
    input  logic [  BEAT_BYTES-1:0] s_axis_tkeep,
    input  logic                    s_axis_tlast,
    input  logic                    s_axis_tvalid,
    output logic                    s_axis_tready,
    output logic [BEAT_BYTES*8-1:0] m_axis_tdata,
    output logic [  BEAT_BYTES-1:0] m_axis_tkeep,
    output logic                    m_axis_tlast,
    output logic                    m_axis_tvalid,
    input  logic                    m_axis_tready,
    output logic                    irq,
    // the datapath
    output logic [       IN_EB*8-1:0] dp_in_tdata,
    output logic                    dp_in_tvalid,
    input  logic                    dp_in_tready,
    input  logic [      OUT_EB*8-1:0] dp_out_tdata,
    input  logic                    dp_out_tvalid,
    output logic                    dp_out_tready
);
  logic ap_start, ap_ready, ap_done, ap_idle, in_busy;
  logic [INFLIGHT_W-1:0] inflight;
  wire grant = ap_start && !in_busy;

  ep_axil_ctrl #(
      .AW(AW), .OFF_CTRL(OFF_CTRL), .OFF_GIER(OFF_GIER), .OFF_IER(OFF_IER), .OFF_ISR(OFF_ISR),
      .START_BIT(START_BIT), .DONE_BIT(DONE_BIT), .IDLE_BIT(IDLE_BIT), .READY_BIT(READY_BIT),
      .AUTO_RESTART_BIT(AUTO_RESTART_BIT), .GIE_BIT(GIE_BIT), .IRQ_DONE_BIT(IRQ_DONE_BIT),
      .IRQ_READY_BIT(IRQ_READY_BIT)
  ) u_ctrl (
      .clk(ap_clk), .rst_n(ap_rst_n),
      .s_axi_awaddr(s_axi_control_awaddr), .s_axi_awvalid(s_axi_control_awvalid),
      .s_axi_awready(s_axi_control_awready), .s_axi_wdata(s_axi_control_wdata),
      .s_axi_wstrb(s_axi_control_wstrb), .s_axi_wvalid(s_axi_control_wvalid),
      .s_axi_wready(s_axi_control_wready), .s_axi_bresp(s_axi_control_bresp),
      .s_axi_bvalid(s_axi_control_bvalid), .s_axi_bready(s_axi_control_bready),
      .s_axi_araddr(s_axi_control_araddr), .s_axi_arvalid(s_axi_control_arvalid),
      .s_axi_arready(s_axi_control_arready), .s_axi_rdata(s_axi_control_rdata),
      .s_axi_rresp(s_axi_control_rresp), .s_axi_rvalid(s_axi_control_rvalid),
      .s_axi_rready(s_axi_control_rready),
      .ap_start(ap_start), .ap_ready(ap_ready), .ap_done(ap_done), .ap_idle(ap_idle),
      .irq(irq)
  );

  ep_axis_unpack #(.BEAT_BYTES(BEAT_BYTES), .EB(IN_EB), .N(N_IN)) u_unpack (
      .clk(ap_clk), .rst_n(ap_rst_n),
      .s_tdata(s_axis_tdata), .s_tvalid(s_axis_tvalid), .s_tready(s_axis_tready),
      .m_tdata(dp_in_tdata), .m_tvalid(dp_in_tvalid), .m_tready(dp_in_tready),
      .start(grant), .busy(in_busy), .taken(ap_ready)
  );

  ep_axis_pack #(.BEAT_BYTES(BEAT_BYTES), .EB(OUT_EB), .N(N_OUT)) u_pack (
      .clk(ap_clk), .rst_n(ap_rst_n),
      .s_tdata(dp_out_tdata), .s_tvalid(dp_out_tvalid), .s_tready(dp_out_tready),
      .m_tdata(m_axis_tdata), .m_tkeep(m_axis_tkeep), .m_tlast(m_axis_tlast),
      .m_tvalid(m_axis_tvalid), .m_tready(m_axis_tready), .done(ap_done)
  );

  always_ff @(posedge ap_clk) begin
    if (!ap_rst_n) inflight <= '0;
    else inflight <= inflight + INFLIGHT_W'(grant) - INFLIGHT_W'(ap_done);
  end
  assign ap_idle = (inflight == '0) && !grant;

  wire unused = &{1'b0, s_axis_tkeep, s_axis_tlast};
endmodule
