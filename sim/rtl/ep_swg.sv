// SPDX-License-Identifier: Apache-2.0
// Line buffer + sliding-window generator (im2col stream).
//
// Input : IN_LANES elements per beat (IN_LANES | SIMD, lane 0 first), HWC order, H*W*C
//         elements per frame (framing by count).
// Output: one beat of SIMD channels per cycle (II = 1 when not back-pressured and the rows are
//         present), loop order per frame:
//           for oy < OH, ox < OW, nf < REPEAT, cs < C/SIMD, ky < KH, kx < KW
//         tap (y, x) = (oy*SH - PT + ky, ox*SW - PL + kx); outside the image the data is 0 and
//         m_tkind = 1 (explicit padding, y < H + PB and x < W + PR) or 2 (ceil-mode overhang).
//         m_tklast marks the last tap (ky, kx) of a window, m_twlast the last beat of a
//         (cs, ky, kx) window, m_tlast the last beat of the frame.
// Storage: NROWS = KH + SH rows of W*C elements in a simple dual-port RAM with a registered
//          read, written while earlier rows are read (frames may overlap back to back).
// Dilation 1 only. REPEAT re-emits each window (one pass per PE fold of the MAC array).
`timescale 1ns / 1ps
module ep_swg #(
    parameter int DW     = 8,
    parameter int H      = 4,
    parameter int W      = 4,
    parameter int C      = 1,
    parameter int SIMD   = 1,
    parameter int KH     = 3,
    parameter int KW     = 3,
    parameter int SH     = 1,
    parameter int SW     = 1,
    parameter int PT     = 0,
    parameter int PL     = 0,
    parameter int PB     = 0,
    parameter int PR     = 0,
    parameter int OH     = 2,
    parameter int OW     = 2,
    parameter int REPEAT = 1,
    parameter int IN_LANES = 1
) (
    input  logic               clk,
    input  logic               rst_n,
    input  logic [IN_LANES*DW-1:0] s_tdata,
    input  logic               s_tvalid,
    output logic               s_tready,
    output logic [SIMD*DW-1:0] m_tdata,
    output logic [        1:0] m_tkind,
    output logic               m_tklast,
    output logic               m_twlast,
    output logic               m_tlast,
    output logic               m_tvalid,
    input  logic               m_tready
);
  localparam int CS = C / SIMD;
  localparam int NROWS = KH + SH;
  localparam int ROWW = W * CS;
  localparam int DEPTH = NROWS * ROWW;
  localparam int AW = DEPTH > 1 ? $clog2(DEPTH) : 1;
  localparam int Y0C_LAST = ((OH - 1) * SH - PT) > 0 ? ((OH - 1) * SH - PT) : 0;
  localparam int FRAME_SLOT_ADV = (H - Y0C_LAST) % NROWS;
  // signed coordinate width: holds -P .. max(H, W) + P + K + S
  localparam int CRW = $clog2(H + W + KH + KW + SH + SW + PT + PL + PB + PR + 4) + 2;
  localparam int PW = ROWW > 1 ? $clog2(ROWW) : 1;
  localparam int LB = SIMD / IN_LANES;  // input beats per line-buffer word
  localparam int LW = LB > 1 ? $clog2(LB) : 1;
  localparam int RW = $clog2(2 * NROWS + 1);  // holds slot sums < 2 * NROWS
  localparam int FW = SIMD * DW + 5;

  // ------------------------------------------------------------------ write side
  logic [    31:0] w_abs;  // absolute index of the row being written (= rows complete)
  logic [  AW-1:0] w_addr;
  logic [  PW-1:0] w_pos;
  logic [  LW-1:0] w_lane;
  logic [SIMD*DW-1:0] w_pack, w_word;
  logic [    31:0] r_first_abs;
  logic            w_we;
  wire             s_hs = s_tvalid && s_tready;
  wire [31:0] w_ahead = w_abs - r_first_abs;

  assign s_tready = $signed(w_ahead) < NROWS;
  assign w_we     = s_hs && (w_lane == LW'(LB - 1));

  always_comb begin
    w_word = w_pack;
    w_word[w_lane*IN_LANES*DW+:IN_LANES*DW] = s_tdata;
  end

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      w_abs  <= '0;
      w_addr <= '0;
      w_pos  <= '0;
      w_lane <= '0;
    end else if (s_hs) begin
      if (w_lane == LW'(LB - 1)) begin
        w_lane <= '0;
        w_addr <= (w_addr == AW'(DEPTH - 1)) ? '0 : w_addr + 1'b1;
        if (w_pos == PW'(ROWW - 1)) begin
          w_pos <= '0;
          w_abs <= w_abs + 1;
        end else begin
          w_pos <= w_pos + 1'b1;
        end
      end else begin
        w_lane <= w_lane + 1'b1;
      end
    end
  end

  always_ff @(posedge clk) begin
    if (s_hs) w_pack <= w_word;
  end

  // ------------------------------------------------------------------ read side
  logic [31:0] r_base_abs;  // absolute row index of the frame's row 0
  logic [RW-1:0] r_slot0;  // RAM row slot of absolute row r_first_abs
  logic signed [CRW-1:0] r_y0, r_x0;  // window origin (may be negative)
  logic [31:0] r_oy, r_ox, r_nf, r_cs, r_ky, r_kx;
  logic signed [CRW-1:0] y0c, y0n, y0cn, need, ty, tx;
  logic in_img, pad_kind2, issue, rows_ok;
  logic [RW-1:0] slot, slot_n;
  logic [AW-1:0] raddr;
  logic k_last, w_last, f_last;

  // output FIFO (4 entries) after the 1-cycle RAM read
  logic [FW-1:0] fifo[0:3];
  logic [1:0] f_wp, f_rp;
  logic [2:0] f_cnt;
  logic p_v, p_pad, p_klast, p_wlast, p_flast;
  logic [1:0] p_kind;
  logic [SIMD*DW-1:0] rdata;
  wire m_hs = m_tvalid && m_tready;

  always_comb begin
    y0c  = (r_y0 < 0) ? '0 : r_y0;
    y0n  = r_y0 + CRW'(SH);
    y0cn = (y0n < 0) ? '0 : y0n;
    need = (r_y0 + CRW'(KH) < CRW'(H)) ? r_y0 + CRW'(KH) : CRW'(H);
    ty = r_y0 + CRW'(r_ky);
    tx = r_x0 + CRW'(r_kx);
    in_img = (ty >= 0) && (ty < CRW'(H)) && (tx >= 0) && (tx < CRW'(W));
    pad_kind2 = (ty >= CRW'(H + PB)) || (tx >= CRW'(W + PR));
    slot = r_slot0 + RW'(ty - y0c);
    if (slot >= RW'(NROWS)) slot = slot - RW'(NROWS);
    raddr = AW'(slot * ROWW + tx * CS + r_cs);
    k_last = (r_kx == KW - 1) && (r_ky == KH - 1);
    w_last = k_last && (r_cs == CS - 1);
    f_last = w_last && (r_nf == REPEAT - 1) && (r_ox == OW - 1) && (r_oy == OH - 1);
    r_first_abs = r_base_abs + 32'(y0c);
    rows_ok = $signed(w_abs - r_base_abs) >= 32'(need);
    issue = rows_ok && ({1'b0, f_cnt} + {3'b0, p_v} < 4'd4);
  end

  always_comb begin
    slot_n = r_slot0 + RW'(y0cn - y0c);
    if (slot_n >= RW'(NROWS)) slot_n = slot_n - RW'(NROWS);
  end

  ep_ram_sdp #(
      .DW(SIMD * DW),
      .DEPTH(DEPTH),
      .AW(AW)
  ) u_ram (
      .clk(clk),
      .we(w_we),
      .waddr(w_addr),
      .wdata(w_word),
      .re(issue && in_img),
      .raddr(raddr),
      .rdata(rdata)
  );

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      r_base_abs <= '0;
      r_slot0 <= '0;
      r_y0 <= -CRW'(PT);
      r_x0 <= -CRW'(PL);
      r_oy <= '0;
      r_ox <= '0;
      r_nf <= '0;
      r_cs <= '0;
      r_ky <= '0;
      r_kx <= '0;
    end else if (issue) begin
      if (r_kx != KW - 1) r_kx <= r_kx + 1;
      else begin
        r_kx <= '0;
        if (r_ky != KH - 1) r_ky <= r_ky + 1;
        else begin
          r_ky <= '0;
          if (r_cs != CS - 1) r_cs <= r_cs + 1;
          else begin
            r_cs <= '0;
            if (r_nf != REPEAT - 1) r_nf <= r_nf + 1;
            else begin
              r_nf <= '0;
              if (r_ox != OW - 1) begin
                r_ox <= r_ox + 1;
                r_x0 <= r_x0 + CRW'(SW);
              end else begin
                r_ox <= '0;
                r_x0 <= -CRW'(PL);
                if (r_oy != OH - 1) begin
                  r_oy <= r_oy + 1;
                  r_y0 <= y0n;
                  r_slot0 <= slot_n;
                end else begin
                  r_oy <= '0;
                  r_y0 <= -CRW'(PT);
                  r_base_abs <= r_base_abs + H;
                  r_slot0 <= (r_slot0 + RW'(FRAME_SLOT_ADV) >= RW'(NROWS))
                      ? r_slot0 + RW'(FRAME_SLOT_ADV) - RW'(NROWS)
                      : r_slot0 + RW'(FRAME_SLOT_ADV);
                end
              end
            end
          end
        end
      end
    end
  end

  // read pipeline stage (RAM output valid one cycle after issue)
  always_ff @(posedge clk) begin
    if (!rst_n) p_v <= 1'b0;
    else p_v <= issue;
  end

  always_ff @(posedge clk) begin
    if (issue) begin
      p_pad   <= !in_img;
      p_kind  <= in_img ? 2'd0 : (pad_kind2 ? 2'd2 : 2'd1);
      p_klast <= k_last;
      p_wlast <= w_last;
      p_flast <= f_last;
    end
  end

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      f_wp  <= '0;
      f_rp  <= '0;
      f_cnt <= '0;
    end else begin
      if (p_v) f_wp <= f_wp + 1'b1;
      if (m_hs) f_rp <= f_rp + 1'b1;
      f_cnt <= f_cnt + {2'b0, p_v} - {2'b0, m_hs};
    end
  end

  always_ff @(posedge clk) begin
    if (p_v) fifo[f_wp] <= {p_flast, p_wlast, p_klast, p_kind, p_pad ? '0 : rdata};
  end

  assign m_tvalid = (f_cnt != 3'd0);
  assign {m_tlast, m_twlast, m_tklast, m_tkind, m_tdata} = fifo[f_rp];
endmodule
