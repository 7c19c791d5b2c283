// SPDX-License-Identifier: Apache-2.0
// Max / average pooling reducer on the ep_swg window stream (REPEAT = 1).
//
// Input : SIMD channels per beat, the KH*KW taps of one channel group end with s_tklast;
//         s_tkind 0 = image element, 1 = explicit padding, 2 = ceil-mode overhang.
// Output: one beat of SIMD results per window and channel group (II = 1 on the input).
// MODE 0 = max over image elements (padding never wins); MODE 1 = average: exact sum over the
// window divided by the count (image elements, plus explicit padding when COUNT_PAD) rounded
// half to even, = kernels.avg_pool / div_round. The average's restoring divider (SUMW steps) is
// pipelined: DIV_BITS quotient bits per stage, NS = ceil(SUMW / DIV_BITS) stages between the
// window's last tap and a rounding stage that feeds the output register (latency NS + 2
// instead of 1; DIV_BITS = 0 keeps the single combinational stage). One result per cycle, the
// whole pipeline stalls while the output is back-pressured. Max mode: one stage.
`timescale 1ns / 1ps
module ep_pool #(
    parameter int DW        = 8,
    parameter int SIGNED    = 0,
    parameter int SIMD      = 1,
    parameter int MODE      = 0,
    parameter int KK        = 4,
    parameter int COUNT_PAD = 0,
    parameter int DIV_BITS  = 4
) (
    input  logic               clk,
    input  logic               rst_n,
    input  logic [SIMD*DW-1:0] s_tdata,
    input  logic [        1:0] s_tkind,
    input  logic               s_tklast,
    input  logic               s_tlast,
    input  logic               s_tvalid,
    output logic               s_tready,
    output logic [SIMD*DW-1:0] m_tdata,
    output logic               m_tlast,
    output logic               m_tvalid,
    input  logic               m_tready
);
  localparam int CW = $clog2(KK + 1);
  localparam int SUMW = DW + CW + 1;
  localparam bit PIPE = (MODE != 0) && (DIV_BITS > 0);
  localparam int BPS = DIV_BITS > 0 ? DIV_BITS : 1;
  localparam int NS = (SUMW + BPS - 1) / BPS;

  // floor quotient / remainder of |num| / den and the sign -> round half to even
  function automatic logic signed [SUMW-1:0] round_q(input logic [SUMW-1:0] q,
                                                      input logic [SUMW:0] r_in,
                                                      input logic neg,
                                                      input logic [CW-1:0] den);
    logic [SUMW:0] r, d;
    logic signed [SUMW:0] qf, upv;
    logic [SUMW+1:0] twice, dd;
    logic up;
    d = '0;
    d[CW-1:0] = den;
    r = r_in;
    if (neg && r != '0) begin
      qf = -$signed({1'b0, q}) - 1;
      r  = d - r;
    end else if (neg) begin
      qf = -$signed({1'b0, q});
    end else begin
      qf = $signed({1'b0, q});
    end
    twice = {r, 1'b0};
    dd = {1'b0, d};
    up = (twice > dd) || ((twice == dd) && qf[0]);
    upv = '0;
    upv[0] = up;
    qf = qf + upv;
    round_q = qf[SUMW-1:0];
  endfunction

  function automatic logic signed [SUMW-1:0] div_round(input logic signed [SUMW-1:0] num,
                                                        input logic [CW-1:0] den);
    logic [SUMW-1:0] a, q;
    logic [SUMW:0] r, d;
    logic signed [SUMW:0] qf;
    logic [SUMW+1:0] twice, dd;
    logic signed [SUMW:0] upv;
    logic up;
    logic neg;
    neg = num[SUMW-1];
    a = neg ? SUMW'(-num) : SUMW'(num);
    d = '0;
    d[CW-1:0] = den;
    r = '0;
    q = '0;
    for (int i = SUMW - 1; i >= 0; i--) begin
      r = {r[SUMW-1:0], a[i]};
      if (r >= d) begin
        r = r - d;
        q[i] = 1'b1;
      end
    end
    // floor division with remainder in [0, den)
    if (neg && r != '0) begin
      qf = -$signed({1'b0, q}) - 1;
      r  = d - r;
    end else if (neg) begin
      qf = -$signed({1'b0, q});
    end else begin
      qf = $signed({1'b0, q});
    end
    twice = {r, 1'b0};
    dd = {1'b0, d};
    up = (twice > dd) || ((twice == dd) && qf[0]);
    upv = '0;
    upv[0] = up;
    qf = qf + upv;
    div_round = qf[SUMW-1:0];
  endfunction

  logic signed [SUMW-1:0] acc[0:SIMD-1];
  // the window sums of the last tap, read by the pipelined divider only
  /* verilator lint_off UNUSEDSIGNAL */
  logic signed [SUMW-1:0] acc_nx[0:SIMD-1];
  /* verilator lint_on UNUSEDSIGNAL */
  logic [CW-1:0] cnt, cnt_n;
  logic [SIMD*DW-1:0] res;
  logic is_img, counted;

  wire stall = m_tvalid && !m_tready;
  wire s_hs = s_tvalid && s_tready;
  assign s_tready = !stall;

  always_comb begin
    is_img  = (s_tkind == 2'd0);
    counted = (MODE == 0) ? is_img : (is_img || (COUNT_PAD != 0 && s_tkind == 2'd1));
    cnt_n   = cnt + CW'(counted);
  end

  genvar l;
  generate
    for (l = 0; l < SIMD; l++) begin : g_lane
      logic signed [SUMW-1:0] x, acc_n, q;
      always_comb begin
        if (SIGNED != 0) x = SUMW'($signed(s_tdata[l*DW+:DW]));
        else x = SUMW'($signed({1'b0, s_tdata[l*DW+:DW]}));
        if (MODE == 0) acc_n = (is_img && (cnt == '0 || x > acc[l])) ? x : acc[l];
        else acc_n = is_img ? acc[l] + x : acc[l];
        acc_nx[l] = acc_n;
        if (MODE == 0) res[l*DW+:DW] = acc_n[DW-1:0];
        q = (MODE == 0 || PIPE) ? '0 : div_round(acc_n, cnt_n);
        if (MODE != 0 && !PIPE) res[l*DW+:DW] = q[DW-1:0];
      end
      wire unused_q = &{1'b0, q[SUMW-1:DW]};
      always_ff @(posedge clk) begin
        if (!rst_n) acc[l] <= '0;
        else if (s_hs) acc[l] <= s_tklast ? '0 : acc_n;
      end
    end
  endgenerate

  always_ff @(posedge clk) begin
    if (!rst_n) cnt <= '0;
    else if (s_hs) cnt <= s_tklast ? '0 : cnt_n;
  end

  generate
    if (!PIPE) begin : g_single
      always_ff @(posedge clk) begin
        if (!rst_n) m_tvalid <= 1'b0;
        else if (s_hs && s_tklast) m_tvalid <= 1'b1;
        else if (m_tready) m_tvalid <= 1'b0;
      end
      always_ff @(posedge clk) begin
        if (s_hs && s_tklast) begin
          m_tdata <= res;
          m_tlast <= s_tlast;
        end
      end
    end else begin : g_pipe
      // stage k holds, per lane, the dividend bits not yet used (MSB first), the partial
      // remainder and the quotient bits so far; stage 0 is loaded at the window's last tap
      logic [SUMW-1:0] pa[0:NS][0:SIMD-1];
      logic [SUMW:0] pr[0:NS][0:SIMD-1];
      logic [SUMW-1:0] pq[0:NS][0:SIMD-1];
      logic pneg[0:NS][0:SIMD-1];
      logic [CW-1:0] pden[0:NS];
      logic plast[0:NS];
      logic pvalid[0:NS];
      wire adv = !stall;
      wire unused_res = &{1'b0, res};

      always_ff @(posedge clk) begin
        if (!rst_n) begin
          pvalid[0] <= 1'b0;
        end else if (adv) begin
          pvalid[0] <= s_hs && s_tklast;
        end
        if (adv && s_hs && s_tklast) begin
          pden[0] <= cnt_n;
          plast[0] <= s_tlast;
          for (int i = 0; i < SIMD; i++) begin
            pneg[0][i] <= acc_nx[i][SUMW-1];
            pa[0][i] <= acc_nx[i][SUMW-1] ? SUMW'(-acc_nx[i]) : SUMW'(acc_nx[i]);
            pr[0][i] <= '0;
            pq[0][i] <= '0;
          end
        end
      end

      for (genvar k = 1; k <= NS; k++) begin : g_stage
        logic [SUMW-1:0] a_n[0:SIMD-1];
        logic [SUMW:0] r_n[0:SIMD-1];
        logic [SUMW-1:0] q_n[0:SIMD-1];
        logic [SUMW:0] d;
        always_comb begin
          d = '0;
          d[CW-1:0] = pden[k-1];
          for (int i = 0; i < SIMD; i++) begin
            a_n[i] = pa[k-1][i];
            r_n[i] = pr[k-1][i];
            q_n[i] = pq[k-1][i];
            for (int j = 0; j < BPS; j++) begin
              if ((k - 1) * BPS + j < SUMW) begin
                r_n[i] = {r_n[i][SUMW-1:0], a_n[i][SUMW-1]};
                a_n[i] = {a_n[i][SUMW-2:0], 1'b0};
                q_n[i] = {q_n[i][SUMW-2:0], r_n[i] >= d};
                if (r_n[i] >= d) r_n[i] = r_n[i] - d;
              end
            end
          end
        end
        always_ff @(posedge clk) begin
          if (!rst_n) pvalid[k] <= 1'b0;
          else if (adv) pvalid[k] <= pvalid[k-1];
          if (adv) begin
            pden[k] <= pden[k-1];
            plast[k] <= plast[k-1];
            for (int i = 0; i < SIMD; i++) begin
              pa[k][i] <= a_n[i];
              pr[k][i] <= r_n[i];
              pq[k][i] <= q_n[i];
              pneg[k][i] <= pneg[k-1][i];
            end
          end
        end
      end

      always_ff @(posedge clk) begin
        if (!rst_n) m_tvalid <= 1'b0;
        else if (adv) m_tvalid <= pvalid[NS];
        if (adv && pvalid[NS]) begin
          m_tlast <= plast[NS];
          for (int i = 0; i < SIMD; i++) begin
            m_tdata[i*DW+:DW] <= DW'(round_q(pq[NS][i], pr[NS][i], pneg[NS][i], pden[NS]));
          end
        end
      end
      wire unused_pa = &{1'b0, pa[NS][0]};
    end
  endgenerate
endmodule
