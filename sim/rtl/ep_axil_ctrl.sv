// SPDX-License-Identifier: Apache-2.0
// AXI4-Lite control slave with the Vitis HLS ap_ctrl_hs register block. Offsets and bit
// positions are parameters: the generated top passes the values of edgepool's Python register
// map (edgepool.accel.regmap), the single definition the driver also reads.
//   CTRL  : ap_start (R/W, cleared by ap_ready unless auto_restart), ap_done (R, clear on
//           read), ap_idle (R), ap_ready (R, clear on read), auto_restart (R/W)
//   GIER  : global irq enable (bit GIE_BIT)
//   IP_IER: irq enable per event (IRQ_DONE_BIT ap_done, IRQ_READY_BIT ap_ready)
//   IP_ISR: irq status per event, toggle on write (write 1 clears a set bit)
// irq (the HLS `interrupt` pin) = GIE && |(ISR). One outstanding read and one outstanding write (OKAY responses; an
// access to an unmapped offset reads 0 and ignores the write, as the HLS block does).
`timescale 1ns / 1ps
module ep_axil_ctrl #(
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
    parameter int IRQ_READY_BIT = 1
) (
    input  logic          clk,
    input  logic          rst_n,
    // AXI4-Lite slave
    input  logic [AW-1:0] s_axi_awaddr,
    input  logic          s_axi_awvalid,
    output logic          s_axi_awready,
    input  logic [  31:0] s_axi_wdata,
    input  logic [   3:0] s_axi_wstrb,
    input  logic          s_axi_wvalid,
    output logic          s_axi_wready,
    output logic [   1:0] s_axi_bresp,
    output logic          s_axi_bvalid,
    input  logic          s_axi_bready,
    input  logic [AW-1:0] s_axi_araddr,
    input  logic          s_axi_arvalid,
    output logic          s_axi_arready,
    output logic [  31:0] s_axi_rdata,
    output logic [   1:0] s_axi_rresp,
    output logic          s_axi_rvalid,
    input  logic          s_axi_rready,
    // block-level handshake with the datapath
    output logic          ap_start,
    input  logic          ap_ready,      // pulse: the datapath took its input (a start)
    input  logic          ap_done,       // pulse: a frame left the datapath
    input  logic          ap_idle,       // level: nothing in flight
    output logic          irq
);
  logic auto_restart, done_q, ready_q, gie;
  logic [1:0] ier, isr;
  logic [AW-1:0] waddr_q;
  logic [31:0] wdata_q;
  logic [3:0] wstrb_q;
  logic aw_q, w_q;

  // write channel: address and data may come in either order; one write at a time
  assign s_axi_awready = !aw_q && !s_axi_bvalid;
  assign s_axi_wready  = !w_q && !s_axi_bvalid;
  assign s_axi_bresp   = 2'b00;
  assign s_axi_rresp   = 2'b00;
  wire aw_hs = s_axi_awvalid && s_axi_awready;
  wire w_hs = s_axi_wvalid && s_axi_wready;
  wire have_aw = aw_q || aw_hs;
  wire have_w = w_q || w_hs;
  wire [AW-1:0] waddr = aw_q ? waddr_q : s_axi_awaddr;
  wire [31:0] wdata = w_q ? wdata_q : s_axi_wdata;
  wire [3:0] wstrb = w_q ? wstrb_q : s_axi_wstrb;
  wire do_write = have_aw && have_w && !s_axi_bvalid;
  // every register here lives in byte 0 (bits 0..7)
  wire wr_byte0 = do_write && wstrb[0];
  wire wr_ctrl = wr_byte0 && (waddr[AW-1:2] == OFF_CTRL[AW-1:2]);
  wire wr_gier = wr_byte0 && (waddr[AW-1:2] == OFF_GIER[AW-1:2]);
  wire wr_ier = wr_byte0 && (waddr[AW-1:2] == OFF_IER[AW-1:2]);
  wire wr_isr = wr_byte0 && (waddr[AW-1:2] == OFF_ISR[AW-1:2]);

  // read channel
  assign s_axi_arready = !s_axi_rvalid;
  wire ar_hs = s_axi_arvalid && s_axi_arready;
  wire rd_ctrl = ar_hs && (s_axi_araddr[AW-1:2] == OFF_CTRL[AW-1:2]);
  logic [31:0] rvalue;
  always_comb begin
    rvalue = 32'd0;
    if (s_axi_araddr[AW-1:2] == OFF_CTRL[AW-1:2]) begin
      rvalue[START_BIT] = ap_start;
      rvalue[DONE_BIT] = done_q;
      rvalue[IDLE_BIT] = ap_idle;
      rvalue[READY_BIT] = ready_q;
      rvalue[AUTO_RESTART_BIT] = auto_restart;
    end else if (s_axi_araddr[AW-1:2] == OFF_GIER[AW-1:2]) begin
      rvalue[GIE_BIT] = gie;
    end else if (s_axi_araddr[AW-1:2] == OFF_IER[AW-1:2]) begin
      rvalue[IRQ_DONE_BIT] = ier[0];
      rvalue[IRQ_READY_BIT] = ier[1];
    end else if (s_axi_araddr[AW-1:2] == OFF_ISR[AW-1:2]) begin
      rvalue[IRQ_DONE_BIT] = isr[0];
      rvalue[IRQ_READY_BIT] = isr[1];
    end
  end

  assign irq = gie && |isr;

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      aw_q <= 1'b0;
      w_q <= 1'b0;
      waddr_q <= '0;
      wdata_q <= '0;
      wstrb_q <= '0;
      s_axi_bvalid <= 1'b0;
      s_axi_rvalid <= 1'b0;
      s_axi_rdata <= '0;
      ap_start <= 1'b0;
      auto_restart <= 1'b0;
      done_q <= 1'b0;
      ready_q <= 1'b0;
      gie <= 1'b0;
      ier <= '0;
      isr <= '0;
    end else begin
      // ---- write channel
      if (aw_hs && !have_w) begin
        aw_q <= 1'b1;
        waddr_q <= s_axi_awaddr;
      end
      if (w_hs && !have_aw) begin
        w_q <= 1'b1;
        wdata_q <= s_axi_wdata;
        wstrb_q <= s_axi_wstrb;
      end
      if (do_write) begin
        aw_q <= 1'b0;
        w_q <= 1'b0;
        s_axi_bvalid <= 1'b1;
      end else if (s_axi_bvalid && s_axi_bready) begin
        s_axi_bvalid <= 1'b0;
      end
      // ---- read channel
      if (ar_hs) begin
        s_axi_rvalid <= 1'b1;
        s_axi_rdata <= rvalue;
      end else if (s_axi_rvalid && s_axi_rready) begin
        s_axi_rvalid <= 1'b0;
      end
      // ---- ap_ctrl_hs: a start is consumed by ap_ready unless auto_restart keeps it set
      if (ap_ready && !auto_restart) ap_start <= 1'b0;
      if (wr_ctrl) begin
        if (wdata[START_BIT]) ap_start <= 1'b1;
        auto_restart <= wdata[AUTO_RESTART_BIT];
      end
      // done / ready: set by the event, cleared by a read of CTRL (an event in the same
      // cycle as the read survives it: the read returned the old value)
      if (ap_done) done_q <= 1'b1;
      else if (rd_ctrl) done_q <= 1'b0;
      if (ap_ready) ready_q <= 1'b1;
      else if (rd_ctrl) ready_q <= 1'b0;
      if (wr_gier) gie <= wdata[GIE_BIT];
      if (wr_ier) ier <= {wdata[IRQ_READY_BIT], wdata[IRQ_DONE_BIT]};
      // ISR: set by an enabled event, toggled by writing 1 (an event wins over a clear)
      isr[0] <= (ier[0] && ap_done) || (isr[0] ^ (wr_isr && wdata[IRQ_DONE_BIT]));
      isr[1] <= (ier[1] && ap_ready) || (isr[1] ^ (wr_isr && wdata[IRQ_READY_BIT]));
    end
  end

  wire unused = &{1'b0, wstrb[3:1], wdata[31:8] & 24'h0, waddr[1:0], s_axi_araddr[1:0]};
endmodule
