// SPDX-License-Identifier: Apache-2.0
// The RTL overlay IP: AXI4-Lite control (ep_axil_ctrl's ap_ctrl_hs block + the overlay's
// argument registers and ap_return at the offsets of edgepool.accel.regmap, the layout the HLS
// IP has, so one driver serves both engines) and one AXI4 master m_axi_gmem for descriptors,
// weights, biases and activations (ep_ovl_rd / ep_ovl_wr around ep_ovl_core). With W_PORTS > 1
// the weights of weight-streamed (FC) layers come over W_PORTS read ports at once (ep_ovl_wst):
// m_axi_gmem (whose read channels it borrows while it streams) and the read-only m_axi_gmem1 ..
// m_axi_gmem<W_PORTS-1> (ports beyond W_PORTS are tied off; the generated top hides them).
// ap_ctrl_hs as a sequential HLS top: ap_idle low while running, ap_done and ap_ready pulse
// together at the end, ap_return = 0 or 1 + index of the first malformed descriptor.
`timescale 1ns / 1ps
module ep_ovl_top #(
    parameter int SIMD = 8,
    parameter int PE = 8,
    parameter int ACT_BITS = 8,
    parameter int OUT_BITS = 8,
    parameter int W_BITS = 8,
    parameter int ACC_BITS = 32,
    parameter int LB_WORDS = 8192,
    parameter int WBUF_WORDS = 4096,
    parameter int MAX_TILE_NF = 8,
    parameter int PLB_WORDS = 4096,
    parameter int SPLB_WORDS = 4096,
    parameter int SUM_BITS = 16,
    parameter int AXW = 64,
    parameter int DW = 128,
    parameter int MAX_BURST = 32,
    parameter int MAX_OUT = 4,
    parameter int W_PORTS = 1,            // 1..4 read ports for streamed weights
    parameter int DSP_PACK = 1,           // two <= 8-bit MAC lanes per DSP48E2 (0: xc7 parts)
    parameter int DEN_BITS = 10,          // average pools of at most 2^DEN_BITS - 1 taps
    parameter int RQ_LANES = PE,          // requantizers (PE / RQ_LANES cycles per output word)
    // AXI4-Lite register map (edgepool.accel.regmap.ap_ctrl_hs_params + argument offsets)
    parameter int AW = 7,
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
    parameter int OFF_RET = 'h10,
    parameter int OFF_DESC = 'h18,
    parameter int OFF_NL = 'h24,
    parameter int OFF_WMEM = 'h2c,
    parameter int OFF_BMEM = 'h38,
    parameter int OFF_AIN = 'h44,
    parameter int OFF_AOUT = 'h50
) (
    input  logic            ap_clk,
    input  logic            ap_rst_n,
    input  logic [  AW-1:0] s_axi_control_awaddr,
    input  logic            s_axi_control_awvalid,
    output logic            s_axi_control_awready,
    input  logic [    31:0] s_axi_control_wdata,
    input  logic [     3:0] s_axi_control_wstrb,
    input  logic            s_axi_control_wvalid,
    output logic            s_axi_control_wready,
    output logic [     1:0] s_axi_control_bresp,
    output logic            s_axi_control_bvalid,
    input  logic            s_axi_control_bready,
    input  logic [  AW-1:0] s_axi_control_araddr,
    input  logic            s_axi_control_arvalid,
    output logic            s_axi_control_arready,
    output logic [    31:0] s_axi_control_rdata,
    output logic [     1:0] s_axi_control_rresp,
    output logic            s_axi_control_rvalid,
    input  logic            s_axi_control_rready,
    // AXI4 master
    output logic [     0:0] m_axi_gmem_awid,
    output logic [ AXW-1:0] m_axi_gmem_awaddr,
    output logic [     7:0] m_axi_gmem_awlen,
    output logic [     2:0] m_axi_gmem_awsize,
    output logic [     1:0] m_axi_gmem_awburst,
    output logic            m_axi_gmem_awlock,
    output logic [     3:0] m_axi_gmem_awcache,
    output logic [     2:0] m_axi_gmem_awprot,
    output logic            m_axi_gmem_awvalid,
    input  logic            m_axi_gmem_awready,
    output logic [  DW-1:0] m_axi_gmem_wdata,
    output logic [DW/8-1:0] m_axi_gmem_wstrb,
    output logic            m_axi_gmem_wlast,
    output logic            m_axi_gmem_wvalid,
    input  logic            m_axi_gmem_wready,
    input  logic [     0:0] m_axi_gmem_bid,
    input  logic [     1:0] m_axi_gmem_bresp,
    input  logic            m_axi_gmem_bvalid,
    output logic            m_axi_gmem_bready,
    output logic [     0:0] m_axi_gmem_arid,
    output logic [ AXW-1:0] m_axi_gmem_araddr,
    output logic [     7:0] m_axi_gmem_arlen,
    output logic [     2:0] m_axi_gmem_arsize,
    output logic [     1:0] m_axi_gmem_arburst,
    output logic            m_axi_gmem_arlock,
    output logic [     3:0] m_axi_gmem_arcache,
    output logic [     2:0] m_axi_gmem_arprot,
    output logic            m_axi_gmem_arvalid,
    input  logic            m_axi_gmem_arready,
    input  logic [     0:0] m_axi_gmem_rid,
    input  logic [  DW-1:0] m_axi_gmem_rdata,
    input  logic [     1:0] m_axi_gmem_rresp,
    input  logic            m_axi_gmem_rlast,
    input  logic            m_axi_gmem_rvalid,
    output logic            m_axi_gmem_rready,
    // read-only AXI4 master 1 (streamed weights; used when W_PORTS > 1)
    output logic [     0:0] m_axi_gmem1_arid,
    output logic [ AXW-1:0] m_axi_gmem1_araddr,
    output logic [     7:0] m_axi_gmem1_arlen,
    output logic [     2:0] m_axi_gmem1_arsize,
    output logic [     1:0] m_axi_gmem1_arburst,
    output logic            m_axi_gmem1_arlock,
    output logic [     3:0] m_axi_gmem1_arcache,
    output logic [     2:0] m_axi_gmem1_arprot,
    output logic            m_axi_gmem1_arvalid,
    input  logic            m_axi_gmem1_arready,
    input  logic [     0:0] m_axi_gmem1_rid,
    input  logic [  DW-1:0] m_axi_gmem1_rdata,
    input  logic [     1:0] m_axi_gmem1_rresp,
    input  logic            m_axi_gmem1_rlast,
    input  logic            m_axi_gmem1_rvalid,
    output logic            m_axi_gmem1_rready,
    // read-only AXI4 master 2 (streamed weights; used when W_PORTS > 2)
    output logic [     0:0] m_axi_gmem2_arid,
    output logic [ AXW-1:0] m_axi_gmem2_araddr,
    output logic [     7:0] m_axi_gmem2_arlen,
    output logic [     2:0] m_axi_gmem2_arsize,
    output logic [     1:0] m_axi_gmem2_arburst,
    output logic            m_axi_gmem2_arlock,
    output logic [     3:0] m_axi_gmem2_arcache,
    output logic [     2:0] m_axi_gmem2_arprot,
    output logic            m_axi_gmem2_arvalid,
    input  logic            m_axi_gmem2_arready,
    input  logic [     0:0] m_axi_gmem2_rid,
    input  logic [  DW-1:0] m_axi_gmem2_rdata,
    input  logic [     1:0] m_axi_gmem2_rresp,
    input  logic            m_axi_gmem2_rlast,
    input  logic            m_axi_gmem2_rvalid,
    output logic            m_axi_gmem2_rready,
    // read-only AXI4 master 3 (streamed weights; used when W_PORTS > 3)
    output logic [     0:0] m_axi_gmem3_arid,
    output logic [ AXW-1:0] m_axi_gmem3_araddr,
    output logic [     7:0] m_axi_gmem3_arlen,
    output logic [     2:0] m_axi_gmem3_arsize,
    output logic [     1:0] m_axi_gmem3_arburst,
    output logic            m_axi_gmem3_arlock,
    output logic [     3:0] m_axi_gmem3_arcache,
    output logic [     2:0] m_axi_gmem3_arprot,
    output logic            m_axi_gmem3_arvalid,
    input  logic            m_axi_gmem3_arready,
    input  logic [     0:0] m_axi_gmem3_rid,
    input  logic [  DW-1:0] m_axi_gmem3_rdata,
    input  logic [     1:0] m_axi_gmem3_rresp,
    input  logic            m_axi_gmem3_rlast,
    input  logic            m_axi_gmem3_rvalid,
    output logic            m_axi_gmem3_rready,
    /* verilator lint_off SYMRSVDWORD */
    output logic            interrupt   // the HLS IP's pin name
    /* verilator lint_on SYMRSVDWORD */
);
  localparam logic [2:0] SIZE = 3'($clog2(DW / 8));
  logic ap_start, ap_done, busy, done;
  logic [31:0] ret, ret_q;
  logic [31:0] ctrl_rdata;

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
      .s_axi_arready(s_axi_control_arready), .s_axi_rdata(ctrl_rdata),
      .s_axi_rresp(s_axi_control_rresp), .s_axi_rvalid(s_axi_control_rvalid),
      .s_axi_rready(s_axi_control_rready),
      .ap_start(ap_start), .ap_ready(ap_done), .ap_done(ap_done), .ap_idle(!busy),
      .irq(interrupt));

  // ---- argument registers: the same write capture as ep_axil_ctrl (one write at a time)
  logic aw_q, w_q;
  logic [AW-1:0] waddr_q;
  logic [31:0] wdata_q;
  logic [3:0] wstrb_q;
  logic sel_ret_q;
  logic [31:0] a_desc[2], a_wmem[2], a_bmem[2], a_ain[2], a_aout[2];
  logic [31:0] n_layers;
  wire aw_hs = s_axi_control_awvalid && s_axi_control_awready;
  wire w_hs = s_axi_control_wvalid && s_axi_control_wready;
  wire have_aw = aw_q || aw_hs, have_w = w_q || w_hs;
  wire [AW-1:0] waddr = aw_q ? waddr_q : s_axi_control_awaddr;
  wire [31:0] wdata = w_q ? wdata_q : s_axi_control_wdata;
  wire [3:0] wstrb = w_q ? wstrb_q : s_axi_control_wstrb;
  wire do_write = have_aw && have_w && !s_axi_control_bvalid;
  wire [AW-3:0] wa = waddr[AW-1:2];
  function automatic logic [31:0] merge(input logic [31:0] old, input logic [31:0] v,
                                        input logic [3:0] be);
    merge = old;
    for (int i = 0; i < 4; i++) if (be[i]) merge[i*8+:8] = v[i*8+:8];
  endfunction
  always_ff @(posedge ap_clk) begin
    if (!ap_rst_n) begin
      aw_q <= 1'b0;
      w_q <= 1'b0;
      waddr_q <= '0;
      wdata_q <= '0;
      wstrb_q <= '0;
      sel_ret_q <= 1'b0;
      ret_q <= '0;
      n_layers <= '0;
      for (int i = 0; i < 2; i++) begin
        a_desc[i] <= '0; a_wmem[i] <= '0; a_bmem[i] <= '0; a_ain[i] <= '0; a_aout[i] <= '0;
      end
    end else begin
      if (aw_hs && !have_w) begin
        aw_q <= 1'b1;
        waddr_q <= s_axi_control_awaddr;
      end
      if (w_hs && !have_aw) begin
        w_q <= 1'b1;
        wdata_q <= s_axi_control_wdata;
        wstrb_q <= s_axi_control_wstrb;
      end
      if (do_write) begin
        aw_q <= 1'b0;
        w_q <= 1'b0;
        for (int i = 0; i < 2; i++) begin
          if (32'(wa) == OFF_DESC / 4 + i) a_desc[i] <= merge(a_desc[i], wdata, wstrb);
          if (32'(wa) == OFF_WMEM / 4 + i) a_wmem[i] <= merge(a_wmem[i], wdata, wstrb);
          if (32'(wa) == OFF_BMEM / 4 + i) a_bmem[i] <= merge(a_bmem[i], wdata, wstrb);
          if (32'(wa) == OFF_AIN / 4 + i) a_ain[i] <= merge(a_ain[i], wdata, wstrb);
          if (32'(wa) == OFF_AOUT / 4 + i) a_aout[i] <= merge(a_aout[i], wdata, wstrb);
        end
        if (32'(wa) == OFF_NL / 4) n_layers <= merge(n_layers, wdata, wstrb);
      end
      if (s_axi_control_arvalid && s_axi_control_arready)
        sel_ret_q <= 32'(s_axi_control_araddr[AW-1:2]) == OFF_RET / 4;
      if (done) ret_q <= ret;
    end
  end
  assign s_axi_control_rdata = sel_ret_q ? ret_q : ctrl_rdata;
  assign ap_done = done;

  // ---- datapath
  logic rd_cmd_valid, rd_cmd_ready, rd_valid, rd_ready, rd_busy;
  logic [AXW-1:0] rd_cmd_addr;
  logic [31:0] rd_cmd_beats;
  logic [DW-1:0] rd_data;
  logic wr_cmd_valid, wr_cmd_ready, wr_valid, wr_ready, wr_idle;
  logic [AXW-1:0] wr_cmd_addr;
  logic [31:0] wr_cmd_words;
  logic [SIMD*ACT_BITS-1:0] wr_data;
  logic [31:0] cur_layer;
  logic layer_done;
  // the 64-bit address arguments (two registers each)
  wire [63:0] desc64 = {a_desc[1], a_desc[0]}, wmem64 = {a_wmem[1], a_wmem[0]};
  wire [63:0] bmem64 = {a_bmem[1], a_bmem[0]}, ain64 = {a_ain[1], a_ain[0]};
  wire [63:0] aout64 = {a_aout[1], a_aout[0]};
  logic wst_start, wst_valid, wst_ready, wst_busy;
  logic [AXW-1:0] wst_addr;
  logic [31:0] wst_n;
  logic [PE*SIMD*W_BITS-1:0] wst_data;
  // port 0's read channels: ep_ovl_rd (the core's reads) or, while it streams, lane 0 of the
  // weight streamer (the core starts a stream only with its reads idle)
  logic [AXW-1:0] rd0_araddr;
  logic [7:0] rd0_arlen;
  logic rd0_arvalid, rd0_arready, rd0_rvalid, rd0_rready;

  ep_ovl_core #(
      .SIMD(SIMD), .PE(PE), .ACT_BITS(ACT_BITS), .OUT_BITS(OUT_BITS), .W_BITS(W_BITS),
      .ACC_BITS(ACC_BITS), .LB_WORDS(LB_WORDS), .WBUF_WORDS(WBUF_WORDS),
      .MAX_TILE_NF(MAX_TILE_NF), .PLB_WORDS(PLB_WORDS), .SPLB_WORDS(SPLB_WORDS),
      .SUM_BITS(SUM_BITS), .AXW(AXW), .DW(DW), .W_PORTS(W_PORTS), .DSP_PACK(DSP_PACK),
      .DEN_BITS(DEN_BITS), .RQ_LANES(RQ_LANES)
  ) u_core (
      .clk(ap_clk), .rst_n(ap_rst_n), .start(ap_start && !done), .busy, .done, .ret,
      .desc_base(desc64[AXW-1:0]), .n_layers,
      .wmem_base(wmem64[AXW-1:0]), .bmem_base(bmem64[AXW-1:0]),
      .act_in_base(ain64[AXW-1:0]),
      .act_out_base(aout64[AXW-1:0]),
      .rd_cmd_valid, .rd_cmd_ready, .rd_cmd_addr, .rd_cmd_beats, .rd_valid, .rd_ready,
      .rd_data, .wr_cmd_valid, .wr_cmd_ready, .wr_cmd_addr, .wr_cmd_words, .wr_valid,
      .wr_ready, .wr_data, .wr_idle, .wst_start, .wst_addr, .wst_n, .wst_valid, .wst_ready,
      .wst_data, .cur_layer, .layer_done);

  ep_ovl_rd #(.AXW(AXW), .DW(DW), .MAX_BURST(MAX_BURST), .MAX_OUT(MAX_OUT)) u_rd (
      .clk(ap_clk), .rst_n(ap_rst_n), .cmd_valid(rd_cmd_valid), .cmd_ready(rd_cmd_ready),
      .cmd_addr(rd_cmd_addr), .cmd_beats(rd_cmd_beats), .out_valid(rd_valid),
      .out_ready(rd_ready), .out_data(rd_data), .m_axi_araddr(rd0_araddr),
      .m_axi_arlen(rd0_arlen), .m_axi_arvalid(rd0_arvalid),
      .m_axi_arready(rd0_arready), .m_axi_rdata(m_axi_gmem_rdata),
      .m_axi_rlast(m_axi_gmem_rlast), .m_axi_rvalid(rd0_rvalid),
      .m_axi_rready(rd0_rready), .busy(rd_busy));

  // the four read lanes of streamed weights: lane 0 borrows m_axi_gmem's read channels while the
  // streamer runs, lanes 1..3 are m_axi_gmem1..3; lanes the configuration does not use are tied
  // off (all four with W_PORTS = 1: no streamer)
  localparam int NL = 4;
  localparam int NP = W_PORTS > 1 ? W_PORTS : 0;
  logic [NL*AXW-1:0] l_araddr;
  logic [NL*8-1:0] l_arlen;
  logic [NL-1:0] l_arvalid, l_arready, l_rlast, l_rvalid, l_rready;
  logic [NL*DW-1:0] l_rdata;
  if (NP > 0) begin : g_wst
    ep_ovl_wst #(.NP(NP), .AXW(AXW), .DW(DW), .WB(PE * SIMD * W_BITS / 8),
                 .MAX_BURST(MAX_BURST), .MAX_OUT(MAX_OUT)) u_wst (
        .clk(ap_clk), .rst_n(ap_rst_n), .start(wst_start), .addr(wst_addr), .n(wst_n),
        .out_valid(wst_valid), .out_ready(wst_ready), .out_data(wst_data), .busy(wst_busy),
        .m_araddr(l_araddr[NP*AXW-1:0]), .m_arlen(l_arlen[NP*8-1:0]),
        .m_arvalid(l_arvalid[NP-1:0]), .m_arready(l_arready[NP-1:0]),
        .m_rdata(l_rdata[NP*DW-1:0]), .m_rlast(l_rlast[NP-1:0]), .m_rvalid(l_rvalid[NP-1:0]),
        .m_rready(l_rready[NP-1:0]));
  end else begin : g_no_wst
    assign wst_valid = 1'b0;
    assign wst_data = '0;
    assign wst_busy = 1'b0;
  end
  for (genvar k = NP; k < NL; k++) begin : g_tie
    assign l_araddr[k*AXW+:AXW] = '0;
    assign l_arlen[k*8+:8] = '0;
    assign l_arvalid[k] = 1'b0;
    assign l_rready[k] = 1'b1;
  end
  // lane 0 and the core's reads share m_axi_gmem (the core starts a stream with its reads idle)
  assign m_axi_gmem_araddr = wst_busy ? l_araddr[0+:AXW] : rd0_araddr;
  assign m_axi_gmem_arlen = wst_busy ? l_arlen[0+:8] : rd0_arlen;
  assign m_axi_gmem_arvalid = wst_busy ? l_arvalid[0] : rd0_arvalid;
  assign l_arready[0] = wst_busy && m_axi_gmem_arready;
  assign rd0_arready = !wst_busy && m_axi_gmem_arready;
  assign l_rdata[0+:DW] = m_axi_gmem_rdata;
  assign l_rlast[0] = m_axi_gmem_rlast;
  assign l_rvalid[0] = wst_busy && m_axi_gmem_rvalid;
  assign rd0_rvalid = !wst_busy && m_axi_gmem_rvalid;
  assign m_axi_gmem_rready = wst_busy ? l_rready[0] : rd0_rready;
  assign m_axi_gmem1_araddr = l_araddr[1*AXW+:AXW];
  assign m_axi_gmem1_arlen = l_arlen[1*8+:8];
  assign m_axi_gmem1_arvalid = l_arvalid[1];
  assign l_arready[1] = m_axi_gmem1_arready;
  assign l_rdata[1*DW+:DW] = m_axi_gmem1_rdata;
  assign l_rlast[1] = m_axi_gmem1_rlast;
  assign l_rvalid[1] = m_axi_gmem1_rvalid;
  assign m_axi_gmem1_rready = l_rready[1];
  assign m_axi_gmem2_araddr = l_araddr[2*AXW+:AXW];
  assign m_axi_gmem2_arlen = l_arlen[2*8+:8];
  assign m_axi_gmem2_arvalid = l_arvalid[2];
  assign l_arready[2] = m_axi_gmem2_arready;
  assign l_rdata[2*DW+:DW] = m_axi_gmem2_rdata;
  assign l_rlast[2] = m_axi_gmem2_rlast;
  assign l_rvalid[2] = m_axi_gmem2_rvalid;
  assign m_axi_gmem2_rready = l_rready[2];
  assign m_axi_gmem3_araddr = l_araddr[3*AXW+:AXW];
  assign m_axi_gmem3_arlen = l_arlen[3*8+:8];
  assign m_axi_gmem3_arvalid = l_arvalid[3];
  assign l_arready[3] = m_axi_gmem3_arready;
  assign l_rdata[3*DW+:DW] = m_axi_gmem3_rdata;
  assign l_rlast[3] = m_axi_gmem3_rlast;
  assign l_rvalid[3] = m_axi_gmem3_rvalid;
  assign m_axi_gmem3_rready = l_rready[3];
  assign m_axi_gmem1_arid = '0;
  assign m_axi_gmem2_arid = '0;
  assign m_axi_gmem3_arid = '0;
  assign m_axi_gmem1_arsize = SIZE;
  assign m_axi_gmem2_arsize = SIZE;
  assign m_axi_gmem3_arsize = SIZE;
  assign m_axi_gmem1_arburst = 2'b01;
  assign m_axi_gmem2_arburst = 2'b01;
  assign m_axi_gmem3_arburst = 2'b01;
  assign m_axi_gmem1_arlock = 1'b0;
  assign m_axi_gmem2_arlock = 1'b0;
  assign m_axi_gmem3_arlock = 1'b0;
  assign m_axi_gmem1_arcache = 4'b0011;
  assign m_axi_gmem2_arcache = 4'b0011;
  assign m_axi_gmem3_arcache = 4'b0011;
  assign m_axi_gmem1_arprot = 3'b000;
  assign m_axi_gmem2_arprot = 3'b000;
  assign m_axi_gmem3_arprot = 3'b000;

  ep_ovl_wr #(.AXW(AXW), .DW(DW), .WB(SIMD * ACT_BITS / 8), .MAX_BURST(MAX_BURST)) u_wr (
      .clk(ap_clk), .rst_n(ap_rst_n), .cmd_valid(wr_cmd_valid), .cmd_ready(wr_cmd_ready),
      .cmd_addr(wr_cmd_addr), .cmd_words(wr_cmd_words), .w_valid(wr_valid),
      .w_ready(wr_ready), .w_data(wr_data), .m_axi_awaddr(m_axi_gmem_awaddr),
      .m_axi_awlen(m_axi_gmem_awlen), .m_axi_awvalid(m_axi_gmem_awvalid),
      .m_axi_awready(m_axi_gmem_awready), .m_axi_wdata(m_axi_gmem_wdata),
      .m_axi_wstrb(m_axi_gmem_wstrb), .m_axi_wlast(m_axi_gmem_wlast),
      .m_axi_wvalid(m_axi_gmem_wvalid), .m_axi_wready(m_axi_gmem_wready),
      .m_axi_bvalid(m_axi_gmem_bvalid), .m_axi_bready(m_axi_gmem_bready), .idle(wr_idle));

  assign m_axi_gmem_awid = '0;
  assign m_axi_gmem_arid = '0;
  assign m_axi_gmem_awsize = SIZE;
  assign m_axi_gmem_arsize = SIZE;
  assign m_axi_gmem_awburst = 2'b01;
  assign m_axi_gmem_arburst = 2'b01;
  assign m_axi_gmem_awlock = 1'b0;
  assign m_axi_gmem_arlock = 1'b0;
  assign m_axi_gmem_awcache = 4'b0011;
  assign m_axi_gmem_arcache = 4'b0011;
  assign m_axi_gmem_awprot = 3'b000;
  assign m_axi_gmem_arprot = 3'b000;
  wire unused = &{1'b0, m_axi_gmem_bid, m_axi_gmem_bresp, m_axi_gmem_rid, m_axi_gmem_rresp,
                  rd_busy, cur_layer, layer_done, waddr[1:0], m_axi_gmem1_rid,
                  m_axi_gmem1_rresp, m_axi_gmem2_rid, m_axi_gmem2_rresp, m_axi_gmem3_rid,
                  m_axi_gmem3_rresp, wst_busy, wst_start, wst_addr, wst_n, wst_ready,
                  l_arready, l_rdata, l_rlast, l_rvalid};
endmodule
