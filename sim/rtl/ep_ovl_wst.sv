// SPDX-License-Identifier: Apache-2.0
// Weight streamer of the RTL overlay: the weight words of a weight-streamed layer (F_W_STREAM:
// fully connected, every weight used once) read over NP AXI4 read ports at once. Word j (WB
// bytes, a whole number of DW-bit beats, beat-aligned in DDR) is fetched by port j mod NP as one
// command of WB*8/DW beats through its own ep_ovl_rd, gathered in that port's word register, and
// the words leave in order, round robin over the ports: NP ports deliver up to NP beats per
// cycle from the same DDR layout one port reads. A port's register takes the first beat of its
// next word in the cycle its word leaves, so NP ports in step never stall each other.
`timescale 1ns / 1ps
module ep_ovl_wst #(
    parameter int NP = 4,
    parameter int AXW = 64,
    parameter int DW = 128,
    parameter int WB = 512,              // bytes per weight word (a multiple of DW/8)
    parameter int MAX_BURST = 32,
    parameter int MAX_OUT = 4
) (
    input  logic              clk,
    input  logic              rst_n,
    input  logic              start,     // pulse: stream n words from byte address addr
    input  logic [   AXW-1:0] addr,
    input  logic [      31:0] n,
    output logic              out_valid,
    input  logic              out_ready,
    output logic [  WB*8-1:0] out_data,
    output logic              busy,      // words still to deliver or reads in flight
    // NP AXI4 read ports (address and data channels), port p in slice p
    output logic [NP*AXW-1:0] m_araddr,
    output logic [  NP*8-1:0] m_arlen,
    output logic [    NP-1:0] m_arvalid,
    input  logic [    NP-1:0] m_arready,
    input  logic [ NP*DW-1:0] m_rdata,
    input  logic [    NP-1:0] m_rlast,
    input  logic [    NP-1:0] m_rvalid,
    output logic [    NP-1:0] m_rready
);
  localparam int BB = DW / 8;
  localparam int NB = WB / BB;                // beats per word
  localparam int CW = $clog2(NB + 1);
  logic [AXW-1:0] base_q;
  logic [31:0] n_q, left_q;                   // words of the stream, words not yet delivered
  int k_q;                                    // port of the next word out
  logic [NP-1:0] full, rd_busy;
  logic [WB*8-1:0] word[NP];
  wire pop = out_valid && out_ready;

  assign out_valid = left_q != 0 && full[k_q];
  assign out_data = word[k_q];
  assign busy = left_q != 0 || |rd_busy;

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      base_q <= '0;
      n_q <= '0;
      left_q <= '0;
      k_q <= 0;
    end else if (start) begin
      base_q <= addr;
      n_q <= n;
      left_q <= n;
      k_q <= 0;
    end else if (pop) begin
      left_q <= left_q - 1;
      k_q <= k_q + 1 == NP ? 0 : k_q + 1;
    end
  end

  for (genvar p = 0; p < NP; p++) begin : g_port
    logic [31:0] nxt_q;                       // next word index this port requests
    logic [CW-1:0] cnt_q;                     // beats in the word register
    logic cmd_ready, rv, rr;
    logic [DW-1:0] rd;
    wire mine = pop && k_q == p;
    wire cmd_valid = nxt_q < n_q && !start;
    assign full[p] = 32'(cnt_q) == NB;
    assign rr = !full[p] || mine;

    ep_ovl_rd #(.AXW(AXW), .DW(DW), .MAX_BURST(MAX_BURST), .MAX_OUT(MAX_OUT)) u_rd (
        .clk, .rst_n, .cmd_valid, .cmd_ready,
        .cmd_addr(base_q + AXW'($signed(64'(nxt_q)) * WB)), .cmd_beats(32'(NB)),
        .out_valid(rv), .out_ready(rr), .out_data(rd),
        .m_axi_araddr(m_araddr[p*AXW+:AXW]), .m_axi_arlen(m_arlen[p*8+:8]),
        .m_axi_arvalid(m_arvalid[p]), .m_axi_arready(m_arready[p]),
        .m_axi_rdata(m_rdata[p*DW+:DW]), .m_axi_rlast(m_rlast[p]),
        .m_axi_rvalid(m_rvalid[p]), .m_axi_rready(m_rready[p]), .busy(rd_busy[p]));

    always_ff @(posedge clk) begin
      if (!rst_n) begin
        nxt_q <= '0;
        cnt_q <= '0;
      end else if (start) begin
        nxt_q <= 32'(p);
        cnt_q <= '0;
      end else begin
        if (cmd_valid && cmd_ready) nxt_q <= nxt_q + NP;
        if (rv && rr) cnt_q <= mine ? CW'(1) : cnt_q + 1'b1;
        else if (mine) cnt_q <= '0;
      end
    end
    if (NB == 1) begin : g_one
      always_ff @(posedge clk) if (rv && rr) word[p] <= rd;
    end else begin : g_gather
      always_ff @(posedge clk) if (rv && rr) word[p] <= {rd, word[p][WB*8-1:DW]};
    end
  end
endmodule
