// SPDX-License-Identifier: Apache-2.0
// Matrix-vector-activation unit: PE x SIMD multiply-accumulate array, weight and bias ROMs
// ($readmemh), requantize + ReLU per output.
//
// Input : the ep_swg window stream, SIMD elements per beat, REPEAT = NF = OC / PE passes per
//         pixel; every window is WPF = KH*KW*(C/SIMD) beats ending with s_twlast.
// Output: one beat of PE requantized channels per window pass (channels nf*PE .. nf*PE+PE-1).
// Weight ROM word a = nf*WPF + beat: lane pe*SIMD+s holds w[nf*PE+pe] for the beat's channel
// cs*SIMD+s (codegen writes it in the ep_swg loop order). Bias ROM word nf: PE lanes of ACCW.
// II = 1: one input beat per cycle unless the output register is full and not taken.
// Pipeline (the whole pipeline advances unless the output register is full and not taken):
// A the beat with its ROM words, M the products (registered: the DSP48's M/P register),
// S the SIMD sum per lane, C accumulate (+ bias at the window's last beat), R the rounding
// shift (ep_requant PIPE = 1), then saturate into the output register: RTL_MVAU_DEPTH = 6
// cycles from a window's last beat to its result.
// DSP_PACK = 1 (UltraScale+ DSP48E2, 27 x 18): two lanes of <= 8-bit weights and activations
// share one multiplier (two int8 MACs per DSP); the 7-series DSP48E1 (25 x 18) cannot hold the
// 26-bit packed operand, so the generator passes 0 for xc7 parts. Bit-exact either way.
// XNOR = 1 (a 1-bit layer: every input and weight is ±1, two's complement, sign bit on top):
// stage M registers each term's agree bit (XNOR of the two sign bits, no multiplier), stage S
// sums a lane's SIMD terms as 2·popcount − SIMD (a popcount tree). Same depth as the MAC path;
// DSP_PACK is ignored (the generator never sets both).
`timescale 1ns / 1ps
module ep_mvau #(
    parameter int                 IDW       = 8,
    parameter int                 IN_SIGNED = 0,
    parameter int                 WW        = 8,
    parameter int                 ACCW      = 24,
    parameter int                 PE        = 1,
    parameter int                 SIMD      = 1,
    parameter int                 NF        = 1,
    parameter int                 WPF       = 9,
    parameter int                 ODW       = 8,
    parameter int                 SHIFT     = 0,
    parameter int                 RELU      = 0,
    parameter logic signed [63:0] OMIN      = -64'sd128,
    parameter logic signed [63:0] OMAX      = 64'sd127,
    parameter                     WFILE     = "w.hex",
    parameter                     BFILE     = "b.hex",
    parameter int                 DSP_PACK  = 0,
    parameter int                 XNOR      = 0
) (
    input  logic                clk,
    input  logic                rst_n,
    input  logic [SIMD*IDW-1:0] s_tdata,
    input  logic                s_twlast,
    input  logic                s_tlast,
    input  logic                s_tvalid,
    output logic                s_tready,
    output logic [  PE*ODW-1:0] m_tdata,
    output logic                m_tlast,
    output logic                m_tvalid,
    input  logic                m_tready
);
  localparam int WDEPTH = NF * WPF;
  localparam int WAW = WDEPTH > 1 ? $clog2(WDEPTH) : 1;
  localparam int BAW = NF > 1 ? $clog2(NF) : 1;
  localparam int XW = IDW + 1;             // the activation as a signed number
  localparam int PW = XW + WW;             // one exact product
  localparam int NPAIR = (XNOR == 0 && DSP_PACK != 0 && IDW <= 8 && WW <= 8) ? PE / 2 : 0;

  logic [        WAW-1:0] wa;
  logic [        BAW-1:0] ba;
  logic [PE*SIMD*WW-1:0] wrow;
  logic [    PE*ACCW-1:0] brow;
  logic                   a_v, a_wlast, a_last;
  logic [  SIMD*IDW-1:0] a_data;

  wire stall = m_tvalid && !m_tready;
  wire adv = !stall;
  wire s_hs = s_tvalid && s_tready;
  assign s_tready = !stall;

  ep_rom #(
      .DW(PE * SIMD * WW),
      .DEPTH(WDEPTH),
      .AW(WAW),
      .FILE(WFILE)
  ) u_wrom (
      .clk (clk),
      .en  (s_hs),
      .addr(wa),
      .data(wrow)
  );
  ep_rom #(
      .DW(PE * ACCW),
      .DEPTH(NF),
      .AW(BAW),
      .FILE(BFILE)
  ) u_brom (
      .clk (clk),
      .en  (s_hs),
      .addr(ba),
      .data(brow)
  );

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      wa <= '0;
      ba <= '0;
    end else if (s_hs) begin
      wa <= (wa == WAW'(WDEPTH - 1)) ? '0 : wa + 1'b1;
      if (s_twlast) ba <= (ba == BAW'(NF - 1)) ? '0 : ba + 1'b1;
    end
  end

  // stage A: the accepted beat, aligned with the ROM outputs
  always_ff @(posedge clk) begin
    if (!rst_n) a_v <= 1'b0;
    else if (!stall) a_v <= s_tvalid;
  end
  always_ff @(posedge clk) begin
    if (s_hs) begin
      a_data  <= s_tdata;
      a_wlast <= s_twlast;
      a_last  <= s_tlast;
    end
  end

  // the activation of term s, sign-extended to XW bits (signed or unsigned input)
  /* verilator lint_off UNUSEDSIGNAL */
  logic [SIMD*XW-1:0] xs;  // unused when XNOR = 1 (only the sign bits are read)
  /* verilator lint_on UNUSEDSIGNAL */
  always_comb begin
    for (int s = 0; s < SIMD; s++) begin
      if (IN_SIGNED != 0) xs[s*XW+:XW] = XW'($signed(a_data[s*IDW+:IDW]));
      else xs[s*XW+:XW] = XW'({1'b0, a_data[s*IDW+:IDW]});
    end
  end

  // stage M: the products, registered (the DSP's M/P register). prod_m holds them unpacked,
  // lane p term s at (p*SIMD+s)*PW. XNOR = 1: agree_m holds the agree bit of lane p term s at
  // p*SIMD+s instead (prod_m unused).
  // (one of prod_m / agree_m is unused, by XNOR)
  /* verilator lint_off UNUSEDSIGNAL */
  wire [PE*SIMD*PW-1:0] prod_m;
  wire [PE*SIMD-1:0] agree_m;
  /* verilator lint_on UNUSEDSIGNAL */
  logic m_v, m_wlast, m_last;
  logic [PE*ACCW-1:0] m_bias;
  genvar p, s, k;
  generate
    if (XNOR != 0) begin : g_xnor
      logic [PE*SIMD-1:0] ag;
      always_ff @(posedge clk) begin
        if (adv)
          for (int i = 0; i < PE * SIMD; i++)
            ag[i] <= a_data[(i%SIMD)*IDW+IDW-1] ~^ wrow[i*WW+WW-1];
      end
      assign agree_m = ag;
      assign prod_m  = '0;
    end else begin : g_mul
      assign agree_m = '0;
      // DSP packing: lanes 2k and 2k+1 share the activation; one multiplier computes
      // x * (w_hi * 2^18 + w_lo) = x*w_hi * 2^18 + x*w_lo, |x*w_lo| < 2^17 (both <= 8 bits), so
      // lo = P[17:0] (signed) and hi = (P >>> 18) + P[17] (the borrow of a negative lo)
      for (k = 0; k < NPAIR; k++) begin : g_pack
        for (s = 0; s < SIMD; s++) begin : g_term
          wire signed [XW-1:0] x = $signed(xs[s*XW+:XW]);
          wire [WW-1:0] wl = wrow[((2 * k) * SIMD + s) * WW+:WW];
          wire [WW-1:0] wh = wrow[((2 * k + 1) * SIMD + s) * WW+:WW];
          // WW + 19 bits (27 for int8: the DSP48E2's A port): -128 * 2^18 + -128 needs them
          wire signed [WW+18:0] w2 = $signed({wh[WW-1], wh, 18'b0}) + $signed({{19{wl[WW-1]}}, wl});
          logic signed [XW+WW+18:0] pk;
          always_ff @(posedge clk) begin
            if (adv) pk <= x * w2;
          end
          wire [PW-1:0] hi = PW'(pk >>> 18) + PW'(pk[17]);
          assign prod_m[((2 * k) * SIMD + s) * PW+:PW] = PW'($signed(pk[17:0]));
          assign prod_m[((2 * k + 1) * SIMD + s) * PW+:PW] = hi;
        end
      end
      for (p = 2 * NPAIR; p < PE; p++) begin : g_plain
        for (s = 0; s < SIMD; s++) begin : g_term
          wire signed [XW-1:0] x = $signed(xs[s*XW+:XW]);
          wire signed [WW-1:0] w = $signed(wrow[(p * SIMD + s) * WW+:WW]);
          logic signed [PW-1:0] pr;
          always_ff @(posedge clk) begin
            if (adv) pr <= x * w;
          end
          assign prod_m[(p*SIMD+s)*PW+:PW] = pr;
        end
      end
    end
  endgenerate
  always_ff @(posedge clk) begin
    if (!rst_n) m_v <= 1'b0;
    else if (adv) m_v <= a_v;
    if (adv) begin
      m_wlast <= a_wlast;
      m_last  <= a_last;
      m_bias  <= brow;
    end
  end

  // stage S: the SIMD products of every lane summed; stage C: accumulate, and at the window's
  // last beat the result with its bias; stage R: rounded; then saturated into the output
  logic s_v, s_wlast, s_last, c_v, c_last, r_v, r_last;
  logic [PE*ACCW-1:0] s_bias;
  logic [PE*ODW-1:0] yq;
  generate
    for (p = 0; p < PE; p++) begin : g_pe
      logic signed [ACCW-1:0] sum_n, ssum, acc, cres;
      if (XNOR != 0) begin : g_pop
        logic [ACCW-1:0] pop;  // the lane's SIMD terms whose sign bits agree
        always_comb begin
          pop = '0;
          for (int t = 0; t < SIMD; t++) pop = pop + ACCW'(agree_m[p*SIMD+t]);
          sum_n = $signed(pop <<< 1) - ACCW'(SIMD);
        end
      end else begin : g_sum
        always_comb begin
          sum_n = '0;
          for (int t = 0; t < SIMD; t++)
            sum_n = sum_n + ACCW'($signed(prod_m[(p*SIMD+t)*PW+:PW]));
        end
      end
      always_ff @(posedge clk) begin
        if (adv) ssum <= sum_n;
        if (!rst_n) acc <= '0;
        else if (adv && s_v) acc <= s_wlast ? '0 : acc + ssum;
        if (adv && s_v && s_wlast) cres <= acc + ssum + $signed(s_bias[p*ACCW+:ACCW]);
      end
      ep_requant #(
          .ACCW (ACCW),
          .ODW  (ODW),
          .SHIFT(SHIFT),
          .RELU (RELU),
          .OMIN (OMIN),
          .OMAX (OMAX),
          .PIPE (1)
      ) u_rq (
          .clk(clk),
          .en (adv),
          .acc(cres),
          .y  (yq[p*ODW+:ODW])
      );
    end
  endgenerate
  always_ff @(posedge clk) begin
    if (!rst_n) begin
      s_v <= 1'b0;
      c_v <= 1'b0;
      r_v <= 1'b0;
    end else if (adv) begin
      s_v <= m_v;
      c_v <= s_v && s_wlast;
      r_v <= c_v;
    end
    if (adv) begin
      s_wlast <= m_wlast;
      s_last  <= m_last;
      s_bias  <= m_bias;
      if (s_v && s_wlast) c_last <= s_last;
      r_last <= c_last;
    end
  end

  always_ff @(posedge clk) begin
    if (!rst_n) m_tvalid <= 1'b0;
    else if (adv) m_tvalid <= r_v;
  end
  always_ff @(posedge clk) begin
    if (adv && r_v) begin
      m_tdata <= yq;
      m_tlast <= r_last;
    end
  end
endmodule
