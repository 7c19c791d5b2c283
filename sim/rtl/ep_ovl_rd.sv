// SPDX-License-Identifier: Apache-2.0
// AXI4 master read engine of the RTL overlay (ep_ovl_core): one command = `beats` beats of DW
// bits from the DW/8-aligned byte address `addr`, split into INCR bursts of at most MAX_BURST
// beats that never cross a 4 KiB boundary, with up to MAX_OUT bursts outstanding. The R beats
// are passed through in order (RREADY = the consumer's ready: no buffering here). A new command
// is taken once every burst of the previous one has been requested (its data may still flow).
`timescale 1ns / 1ps
module ep_ovl_rd #(
    parameter int AXW = 64,
    parameter int DW = 128,
    parameter int MAX_BURST = 32,
    parameter int MAX_OUT = 4
) (
    input  logic           clk,
    input  logic           rst_n,
    input  logic           cmd_valid,
    output logic           cmd_ready,
    input  logic [AXW-1:0] cmd_addr,
    input  logic [   31:0] cmd_beats,
    output logic           out_valid,
    input  logic           out_ready,
    output logic [ DW-1:0] out_data,
    // AXI4 read address / data channels
    output logic [AXW-1:0] m_axi_araddr,
    output logic [    7:0] m_axi_arlen,
    output logic           m_axi_arvalid,
    input  logic           m_axi_arready,
    input  logic [ DW-1:0] m_axi_rdata,
    input  logic           m_axi_rlast,
    input  logic           m_axi_rvalid,
    output logic           m_axi_rready,
    output logic           busy
);
  localparam int BB = DW / 8;                 // bytes per beat
  localparam int LB = $clog2(BB);
  logic [AXW-1:0] addr_q;
  logic [31:0] left_q;                        // beats not yet requested
  logic [$clog2(MAX_OUT+1)-1:0] outst_q;      // bursts requested, last beat not yet seen

  wire [12:0] to4k = 13'd4096 - {1'b0, addr_q[11:0]};
  wire [31:0] room = 32'(to4k >> LB);
  wire [31:0] len0 = left_q < MAX_BURST ? left_q : MAX_BURST;
  wire [31:0] blen = len0 < room ? len0 : room;
  wire ar_hs = m_axi_arvalid && m_axi_arready;
  wire r_last_hs = m_axi_rvalid && m_axi_rready && m_axi_rlast;

  assign cmd_ready = left_q == 0 && !m_axi_arvalid;
  assign out_valid = m_axi_rvalid;
  assign out_data = m_axi_rdata;
  assign m_axi_rready = out_ready;
  assign busy = left_q != 0 || m_axi_arvalid || outst_q != 0;

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      addr_q <= '0;
      left_q <= '0;
      outst_q <= '0;
      m_axi_arvalid <= 1'b0;
      m_axi_araddr <= '0;
      m_axi_arlen <= '0;
    end else begin
      outst_q <= outst_q + (ar_hs ? 1 : 0) - (r_last_hs ? 1 : 0);
      if (cmd_valid && cmd_ready) begin
        addr_q <= cmd_addr;
        left_q <= cmd_beats;
      end else if (ar_hs) begin
        m_axi_arvalid <= 1'b0;
      end else if (!m_axi_arvalid && left_q != 0 &&
                   32'(outst_q) + (r_last_hs ? 0 : 1) <= MAX_OUT) begin
        m_axi_arvalid <= 1'b1;
        m_axi_araddr <= addr_q;
        m_axi_arlen <= 8'(blen - 1);
        addr_q <= addr_q + AXW'(blen << LB);
        left_q <= left_q - blen;
      end
    end
  end
endmodule
