// SPDX-License-Identifier: Apache-2.0
// AXI4 master write engine of the RTL overlay (ep_ovl_core). A command writes a run of `words`
// words of WB bytes, contiguous in memory from the byte address `addr` (a multiple of WB), taken
// in order from the word stream. Runs are split into INCR bursts of at most MAX_BURST beats
// that never cross a 4 KiB boundary; a word narrower than a beat is placed at its byte lane
// (WSTRB marks exactly the bytes written, so neighbouring data is never touched). Responses are
// counted, not waited for, except by `idle` (no command, no data, no response outstanding).
// WB must divide DW/8 or be a multiple of it.
`timescale 1ns / 1ps
module ep_ovl_wr #(
    parameter int AXW = 64,
    parameter int DW = 128,
    parameter int WB = 16,
    parameter int MAX_BURST = 32
) (
    input  logic            clk,
    input  logic            rst_n,
    input  logic            cmd_valid,
    output logic            cmd_ready,
    input  logic [ AXW-1:0] cmd_addr,
    input  logic [    31:0] cmd_words,
    input  logic            w_valid,
    output logic            w_ready,
    input  logic [WB*8-1:0] w_data,
    // AXI4 write channels
    output logic [ AXW-1:0] m_axi_awaddr,
    output logic [     7:0] m_axi_awlen,
    output logic            m_axi_awvalid,
    input  logic            m_axi_awready,
    output logic [  DW-1:0] m_axi_wdata,
    output logic [DW/8-1:0] m_axi_wstrb,
    output logic            m_axi_wlast,
    output logic            m_axi_wvalid,
    input  logic            m_axi_wready,
    input  logic            m_axi_bvalid,
    output logic            m_axi_bready,
    output logic            idle
);
  localparam int BB = DW / 8;
  localparam int LB = $clog2(BB);
  typedef enum logic [1:0] {W_IDLE, W_AW, W_DATA} st_t;
  st_t st;
  logic [AXW-1:0] cur_q;            // byte address of the next word
  logic [AXW-1:0] run_end_q;        // end of the run (bytes)
  logic [AXW-1:0] bend_q;           // end of the current burst (bytes)
  logic [15:0] outst_q;             // bursts whose response is outstanding

  // the burst starting at cur_q: up to MAX_BURST beats, not across 4 KiB, not past the run
  wire [AXW-1:0] base = {cur_q[AXW-1:LB], LB'(0)};
  wire [AXW-1:0] lim_burst = base + AXW'(MAX_BURST * BB);
  wire [AXW-1:0] lim_4k = {cur_q[AXW-1:12], 12'd0} + AXW'(4096);
  wire [AXW-1:0] e1 = lim_burst < lim_4k ? lim_burst : lim_4k;
  wire [AXW-1:0] bend = e1 < run_end_q ? e1 : run_end_q;
  wire [AXW-1:0] nbeats = (bend - base + AXW'(BB - 1)) >> LB;

  wire out_free = !m_axi_wvalid || m_axi_wready;
  assign cmd_ready = st == W_IDLE;
  assign m_axi_bready = 1'b1;
  assign idle = st == W_IDLE && !m_axi_wvalid && outst_q == 0 && !m_axi_awvalid;

  generate
    if (WB <= BB) begin : g_pack
      logic [DW-1:0] asm_q;
      logic [BB-1:0] strb_q;
      wire [LB-1:0] pos = cur_q[LB-1:0];
      wire [AXW-1:0] nxt = cur_q + AXW'(WB);
      wire beat_done = nxt[LB-1:0] == '0 || nxt == bend_q;
      wire [DW-1:0] data_n = asm_q | (DW'(w_data) << (32'(pos) * 8));
      wire [BB-1:0] strb_n = strb_q | (BB'({WB{1'b1}}) << pos);
      assign w_ready = st == W_DATA && out_free;
      always_ff @(posedge clk) begin
        if (!rst_n) begin
          st <= W_IDLE;
          cur_q <= '0;
          run_end_q <= '0;
          bend_q <= '0;
          outst_q <= '0;
          asm_q <= '0;
          strb_q <= '0;
          m_axi_awvalid <= 1'b0;
          m_axi_awaddr <= '0;
          m_axi_awlen <= '0;
          m_axi_wvalid <= 1'b0;
          m_axi_wdata <= '0;
          m_axi_wstrb <= '0;
          m_axi_wlast <= 1'b0;
        end else begin
          outst_q <= outst_q + 16'(m_axi_awvalid && m_axi_awready) - 16'(m_axi_bvalid);
          if (m_axi_wvalid && m_axi_wready) m_axi_wvalid <= 1'b0;
          case (st)
            W_IDLE:
            if (cmd_valid && cmd_words != 0) begin
              cur_q <= cmd_addr;
              run_end_q <= cmd_addr + AXW'(cmd_words) * AXW'(WB);
              st <= W_AW;
            end
            W_AW:
            if (!m_axi_awvalid) begin
              m_axi_awvalid <= 1'b1;
              m_axi_awaddr <= base;
              m_axi_awlen <= 8'(nbeats - 1);
              bend_q <= bend;
            end else if (m_axi_awready) begin
              m_axi_awvalid <= 1'b0;
              st <= W_DATA;
            end
            W_DATA:
            if (w_valid && w_ready) begin
              cur_q <= nxt;
              if (beat_done) begin
                m_axi_wvalid <= 1'b1;
                m_axi_wdata <= data_n;
                m_axi_wstrb <= strb_n;
                m_axi_wlast <= nxt == bend_q;
                asm_q <= '0;
                strb_q <= '0;
                if (nxt == bend_q) st <= nxt == run_end_q ? W_IDLE : W_AW;
              end else begin
                asm_q <= data_n;
                strb_q <= strb_n;
              end
            end
            default: st <= W_IDLE;
          endcase
        end
      end
    end else begin : g_split
      localparam int NB = WB / BB;
      logic [WB*8-1:0] word_q;
      logic [$clog2(NB+1)-1:0] left_q;     // beats of word_q still to send
      assign w_ready = st == W_DATA && left_q == 0;
      always_ff @(posedge clk) begin
        if (!rst_n) begin
          st <= W_IDLE;
          cur_q <= '0;
          run_end_q <= '0;
          bend_q <= '0;
          outst_q <= '0;
          word_q <= '0;
          left_q <= '0;
          m_axi_awvalid <= 1'b0;
          m_axi_awaddr <= '0;
          m_axi_awlen <= '0;
          m_axi_wvalid <= 1'b0;
          m_axi_wdata <= '0;
          m_axi_wstrb <= '0;
          m_axi_wlast <= 1'b0;
        end else begin
          outst_q <= outst_q + 16'(m_axi_awvalid && m_axi_awready) - 16'(m_axi_bvalid);
          if (m_axi_wvalid && m_axi_wready) m_axi_wvalid <= 1'b0;
          case (st)
            W_IDLE:
            if (cmd_valid && cmd_words != 0) begin
              cur_q <= cmd_addr;
              run_end_q <= cmd_addr + AXW'(cmd_words) * AXW'(WB);
              st <= W_AW;
            end
            W_AW:
            if (!m_axi_awvalid) begin
              m_axi_awvalid <= 1'b1;
              m_axi_awaddr <= base;
              m_axi_awlen <= 8'(nbeats - 1);
              bend_q <= bend;
            end else if (m_axi_awready) begin
              m_axi_awvalid <= 1'b0;
              st <= W_DATA;
            end
            W_DATA: begin
              if (w_valid && w_ready) begin
                word_q <= w_data;
                left_q <= ($clog2(NB+1))'(NB);
              end else if (left_q != 0 && out_free) begin
                m_axi_wvalid <= 1'b1;
                m_axi_wdata <= word_q[DW-1:0];
                m_axi_wstrb <= '1;
                m_axi_wlast <= cur_q + AXW'(BB) == bend_q;
                word_q <= word_q >> DW;
                left_q <= left_q - 1'b1;
                cur_q <= cur_q + AXW'(BB);
                if (cur_q + AXW'(BB) == bend_q)
                  st <= cur_q + AXW'(BB) == run_end_q ? W_IDLE : W_AW;
              end
            end
            default: st <= W_IDLE;
          endcase
        end
      end
    end
  endgenerate
endmodule
