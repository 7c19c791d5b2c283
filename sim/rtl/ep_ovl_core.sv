// SPDX-License-Identifier: Apache-2.0
// The RTL overlay engine: runs the SAME 40-word layer descriptors as the HLS overlay
// (hls/include/edgepool/overlay.h, edgepool/accel/descriptor.py), layer by layer, with one
// PE x SIMD conv engine and one pool engine, all data in DDR behind one AXI4 master.
//
// Per layer: the descriptor is read (10 beats), checked (bad magic, unsupported kind / output
// container, a capacity exceeded: the run ends with ret = 1 + layer index), then
//  * conv: per output-channel tile of nf <= tile_nf PE folds: the tile's weights (unless
//    F_W_STREAM) into WBUF and its biases into the per-lane bias memories; per output row oy:
//    the input rows up to ready(oy) into the circular line buffer LB (HWC words of SIMD lanes),
//    then
//    OW * nf * KH*KW*CF MAC steps (one word of SIMD lanes x PE*SIMD weights per cycle, taps
//    outside the input read as 0), requantized (shift round-half-even, ReLU, saturate) and
//    either written to DDR (runs of nf*PE channels per pixel) or into the fused-pool buffer PB,
//    after which every pool row whose input rows are complete is computed from PB.
//    F_W_STREAM layers (1x1 output) take their weights from DDR through the MAC array: with
//    W_PORTS > 1 from the weight streamer (ep_ovl_wst, W_PORTS read ports, in ep_ovl_top).
//  * pool: rows of the input map into PB (SIMD lanes), pool rows as soon as ready.
// Row prefetch: while a conv row computes (weights from WBUF), the input rows the next output row
// needs are read into the free LB slots (the LB holds the window's KH rows plus SH more), so a
// row's load overlaps the previous row's MAC steps; weight / bias loads, weight-streamed (FC) and
// pool layers do not overlap. The cycle model is dse/rtl_overlay_cost.py.
// Arithmetic: edgepool/ir/kernels.py (shift_round half-to-even, div_round half-to-even).
// Conv pipeline: issue (LB / WBUF reads) -> P (the products; with DSP_PACK two int8 lanes per
// DSP48E2) -> A (adder tree + accumulator, ACC_BITS wide) -> R (requantize in two stages,
// ep_ovl_rq per lane with the layer's shift and bounds decoded once at setup) -> output. Pool pipeline: issue ->
// A (sum / max, count) -> ep_ovl_avgdiv (pipelined division by the count; a max divides by 1).
`timescale 1ns / 1ps
/* verilator lint_off UNUSEDPARAM */
module ep_ovl_core #(
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
    parameter int SUM_BITS = 16,          // pool sums are 32-bit ints here (>= SUM_BITS)
    parameter int AXW = 64,
    parameter int DW = 128,
    parameter int W_PORTS = 1,            // > 1: streamed weights come from ep_ovl_wst
    parameter int DSP_PACK = 0,           // 1 (DSP48E2): two <= 8-bit lanes share a multiplier
    parameter int DEN_BITS = 10,          // average pools of at most 2^DEN_BITS - 1 taps
    parameter int RQ_LANES = PE           // requantizers (PE / RQ_LANES cycles per output word)
) (
    /* verilator lint_on UNUSEDPARAM */
    input  logic           clk,
    input  logic           rst_n,
    input  logic           start,
    output logic           busy,
    output logic           done,           // pulse: the run ended (ret valid)
    output logic [   31:0] ret,
    input  logic [AXW-1:0] desc_base,
    input  logic [   31:0] n_layers,
    input  logic [AXW-1:0] wmem_base,
    input  logic [AXW-1:0] bmem_base,
    input  logic [AXW-1:0] act_in_base,
    input  logic [AXW-1:0] act_out_base,
    // read engine
    output logic           rd_cmd_valid,
    input  logic           rd_cmd_ready,
    output logic [AXW-1:0] rd_cmd_addr,
    output logic [   31:0] rd_cmd_beats,
    input  logic           rd_valid,
    output logic           rd_ready,
    input  logic [ DW-1:0] rd_data,
    // write engine (runs of activation words)
    output logic           wr_cmd_valid,
    input  logic           wr_cmd_ready,
    output logic [AXW-1:0] wr_cmd_addr,
    output logic [   31:0] wr_cmd_words,
    output logic           wr_valid,
    input  logic           wr_ready,
    output logic [SIMD*ACT_BITS-1:0] wr_data,
    input  logic           wr_idle,
    // weight streamer (W_PORTS > 1): n words from a beat-aligned byte address, in order
    output logic           wst_start,
    output logic [AXW-1:0] wst_addr,
    output logic [   31:0] wst_n,
    input  logic           wst_valid,
    output logic           wst_ready,
    input  logic [PE*SIMD*W_BITS-1:0] wst_data,
    // observation (benches, harness): layer index, layer ends
    output logic [   31:0] cur_layer,
    output logic           layer_done
);
  localparam int AW = SIMD * ACT_BITS;            // activation word bits
  localparam int AWB = AW / 8;
  localparam int WW = PE * SIMD * W_BITS;         // weight word bits
  localparam int WWB = WW / 8;
  localparam int BB = DW / 8;
  localparam int OW_BITS = PE * OUT_BITS;         // conv output word (PE lanes of OUT_BITS)
  localparam int PW = PE * ACT_BITS;              // pool buffer word (PE lanes of ACT_BITS)
  localparam int PB_WORDS = PLB_WORDS > SPLB_WORDS ? PLB_WORDS : SPLB_WORDS;
  localparam int RB = OUT_BITS > 32 ? OUT_BITS + 1 : 33;  // requantized value bits
  localparam logic [31:0] MAGIC = 32'hED900001;
  localparam int F_RELU = 1, F_IN_SIGNED = 2, F_OUT_SIGNED = 4, F_POOL = 8, F_POOL_AVG = 16;
  localparam int F_COUNT_PAD = 32, F_RAW_ACC = 64, F_W_STREAM = 128;
  localparam int FIFO_D = 16;
  localparam int WB = (ACC_BITS > OUT_BITS ? ACC_BITS : OUT_BITS) + 2;  // requantizer bounds
  localparam int SHW = 7;                         // requantizer shift amounts (<= RB + 1)
  localparam int XW = ACT_BITS + 1;               // an activation as a signed operand
  localparam int PRW = ACT_BITS + W_BITS + 1;     // one product
  localparam int PSW = PRW + $clog2(SIMD + 1);    // the sum of SIMD products
  localparam bit PACK = DSP_PACK != 0 && ACT_BITS <= 8 && W_BITS <= 8 && PE % 2 == 0;
  localparam int QB = ACT_BITS + 1;               // pool quotient bits
  localparam int NUMW = ACT_BITS + DEN_BITS + 2;  // pool sums
  localparam int NS = PE / RQ_LANES;              // requantizer passes per output word

  // ------------------------------------------------------------------ memories
  logic [AW-1:0] lb[LB_WORDS];
  logic [WW-1:0] wbuf[WBUF_WORDS];
  // biases: one small memory per PE lane (MAX_TILE_NF words), written lane by lane while a
  // tile's biases arrive (b_lane, b_fold), read by fold at stage A (no tile-wide read mux)
  localparam int TFW = MAX_TILE_NF > 1 ? $clog2(MAX_TILE_NF) : 1;
  logic [$clog2(PE+1)-1:0] b_lane;
  logic [TFW-1:0] b_fold;
  logic signed [ACC_BITS-1:0] b_rd[PE];
  wire b_we = st == S_BLOAD && u_out_valid[1];
  logic [PW-1:0] pbm[PB_WORDS];

  // ------------------------------------------------------------------ descriptor
  logic [31:0] d[40];
  int in_h, in_w, in_c, out_c, coh, cow, kh, kw, sh, sw, dh, dw, pt, pl, pb_, pr;
  int shift, lo, hi, pkh, pkw, psh, psw, ppt, ppl, ppb, ppr, poh, pow, tile_nf;
  int in_addr, out_addr, w_addr, b_addr, obits, flags, kind;
  always_comb begin
    kind = d[1]; flags = d[2]; in_h = d[3]; in_w = d[4]; in_c = d[5]; out_c = d[6];
    coh = d[7]; cow = d[8]; kh = d[9]; kw = d[10]; sh = d[11]; sw = d[12]; dh = d[13];
    dw = d[14]; pt = d[15]; pl = d[16]; pb_ = d[17]; pr = d[18]; shift = d[19]; lo = d[20];
    hi = d[21]; pkh = d[22]; pkw = d[23]; psh = d[24]; psw = d[25]; ppt = d[26]; ppl = d[27];
    ppb = d[28]; ppr = d[29]; poh = d[30]; pow = d[31]; tile_nf = d[32]; in_addr = d[33];
    out_addr = d[34]; w_addr = d[35]; b_addr = d[36]; obits = d[37];
  end
  wire f_relu = (flags & F_RELU) != 0;
  wire f_in_signed = (flags & F_IN_SIGNED) != 0;
  wire f_out_signed = (flags & F_OUT_SIGNED) != 0;
  wire f_pool = (flags & F_POOL) != 0;
  wire f_avg = (flags & F_POOL_AVG) != 0;
  wire f_cpad = (flags & F_COUNT_PAD) != 0;
  wire f_raw = (flags & F_RAW_ACC) != 0;
  wire f_wst = (flags & F_W_STREAM) != 0;
  // outputs in OUT_BITS containers (a raw accumulator): OUT_BITS / ACT_BITS words per value
  wire wide_out = obits != ACT_BITS;
  function automatic int out_words(input int x);   // x activation-word units, as output words
    out_words = wide_out ? x * (OUT_BITS / ACT_BITS) : x;
  endfunction

  // derived at setup (registered)
  int cf, rw, kkcf, nf_all, nr, nf, tile, base_slot, ch_off, pix_stride;
  int kk, ctn;                 // kh * kw, cow * tile_nf (setup: the capacity checks)
  int p_h, p_w, p_cf, p_lanes, p_nr, p_rw, p_base, p_signed_i;
  int lb_n, pb_n;              // words of the circular line buffer / pool buffer in use

  // ------------------------------------------------------------------ read unpackers
  typedef enum logic [1:0] {U_DESC, U_BIAS, U_ACT, U_W} usel_t;
  usel_t usel;
  logic u_start;
  logic [7:0] u_skip;
  logic [31:0] u_n;
  logic [3:0] u_in_ready;
  logic [3:0] u_out_valid, u_out_ready, u_active;
  logic [31:0] ud_data;
  logic [63:0] ub_data;
  logic [AW-1:0] ua_data;
  logic [WW-1:0] uw_data;
  ep_ovl_unpack #(.DW(DW), .WB(4)) u_d (
      .clk, .rst_n, .start(u_start && usel == U_DESC), .skip(u_skip), .n(u_n),
      .in_valid(rd_valid && usel == U_DESC), .in_ready(u_in_ready[0]), .in_data(rd_data),
      .out_valid(u_out_valid[0]), .out_ready(u_out_ready[0]), .out_data(ud_data),
      .active(u_active[0]));
  ep_ovl_unpack #(.DW(DW), .WB(8)) u_b (
      .clk, .rst_n, .start(u_start && usel == U_BIAS), .skip(u_skip), .n(u_n),
      .in_valid(rd_valid && usel == U_BIAS), .in_ready(u_in_ready[1]), .in_data(rd_data),
      .out_valid(u_out_valid[1]), .out_ready(u_out_ready[1]), .out_data(ub_data),
      .active(u_active[1]));
  ep_ovl_unpack #(.DW(DW), .WB(AWB)) u_a (
      .clk, .rst_n, .start(u_start && usel == U_ACT), .skip(u_skip), .n(u_n),
      .in_valid(rd_valid && usel == U_ACT), .in_ready(u_in_ready[2]), .in_data(rd_data),
      .out_valid(u_out_valid[2]), .out_ready(u_out_ready[2]), .out_data(ua_data),
      .active(u_active[2]));
  ep_ovl_unpack #(.DW(DW), .WB(WWB)) u_w (
      .clk, .rst_n, .start(u_start && usel == U_W), .skip(u_skip), .n(u_n),
      .in_valid(rd_valid && usel == U_W), .in_ready(u_in_ready[3]), .in_data(rd_data),
      .out_valid(u_out_valid[3]), .out_ready(u_out_ready[3]), .out_data(uw_data),
      .active(u_active[3]));
  assign rd_ready = u_in_ready[usel];

  // a transfer of n words of wb bytes from byte address a: aligned start, skip, beats
  /* verilator lint_off UNUSEDSIGNAL */
  function automatic logic [AXW-1:0] al(input logic [AXW-1:0] a);
    al = {a[AXW-1:$clog2(BB)], ($clog2(BB))'(0)};
  endfunction
  function automatic logic [31:0] nbeats(input logic [AXW-1:0] a, input int n, input int wb);
    nbeats = 32'(($signed(64'(a[$clog2(BB)-1:0])) + $signed(64'(n)) * wb + $signed(64'(BB)) - 1) / BB);
  endfunction
  /* verilator lint_on UNUSEDSIGNAL */

  // ------------------------------------------------------------------ arithmetic
  // Run-time products at the width the descriptor checks allow: every geometry field is below
  // 2^16 (S_CHECK), so a counter times a size is a 17 x 26-bit product, one DSP48E2 (27 x 18),
  // instead of the 32 x 32 (three or four DSPs) an int product would infer.
  /* verilator lint_off UNUSEDSIGNAL */
  function automatic int mul(input int a, input int b);  // a < 2^17, 0 <= b < 2^26
    logic signed [16:0] an;
    logic signed [26:0] bn;
    logic signed [43:0] pq;
    an = a[16:0];
    bn = {1'b0, b[25:0]};
    pq = an * bn;
    mul = pq[31:0];
  endfunction
  // a * b <= cap exactly for 0 <= a, b < 2^31 (a factor above cap decides alone)
  function automatic logic le_cap(input int a, input int b, input int cap);
    if (a == 0 || b == 0) le_cap = 1'b1;
    else if (a > cap || b > cap) le_cap = 1'b0;
    else le_cap = 64'(a[23:0]) * 64'(b[23:0]) <= 64'(cap);  // caps below 2^24
  endfunction
  /* verilator lint_on UNUSEDSIGNAL */


  // ------------------------------------------------------------------ output path
  // big words (PE lanes of OUT_BITS, or packed ACT_BITS lanes) + their count of AW pieces
  logic [OW_BITS-1:0] ofifo_d[FIFO_D];
  logic [7:0] ofifo_n[FIFO_D];
  logic [$clog2(FIFO_D)-1:0] of_rd, of_wr;
  logic [$clog2(FIFO_D):0] of_cnt;
  logic of_push;
  logic [OW_BITS-1:0] of_push_d;
  logic [7:0] of_push_n;
  logic [7:0] piece;
  wire of_pop = wr_valid && wr_ready && piece == ofifo_n[of_rd] - 1;
  assign wr_valid = of_cnt != 0;
  assign wr_data = ofifo_d[of_rd][32'(piece)*AW+:AW];
  // run commands
  logic [AXW-1:0] rfifo_a[FIFO_D];
  logic [31:0] rfifo_n[FIFO_D];
  logic [$clog2(FIFO_D)-1:0] rf_rd, rf_wr;
  logic [$clog2(FIFO_D):0] rf_cnt;
  logic rf_push;
  logic [AXW-1:0] rf_push_a;
  logic [31:0] rf_push_n;
  assign wr_cmd_valid = rf_cnt != 0;
  assign wr_cmd_addr = rfifo_a[rf_rd];
  assign wr_cmd_words = rfifo_n[rf_rd];
  wire rf_pop = wr_cmd_valid && wr_cmd_ready;
  // output words issued but not yet pushed (in the conv / pool pipelines): the FIFO keeps room
  logic [$clog2(FIFO_D):0] inflight;
  wire room = 32'(of_cnt) + 32'(inflight) <= FIFO_D - 1 && 32'(rf_cnt) <= FIFO_D - 2;

  // ------------------------------------------------------------------ control FSM
  typedef enum logic [4:0] {
    S_IDLE, S_DESC, S_DESC_W, S_SETUP, S_CHECK, S_TILE, S_WREQ, S_WLOAD, S_BREQ, S_BLOAD,
    S_ROW, S_LREQ, S_LOAD, S_WSREQ, S_CONV, S_CDRAIN, S_PROW, S_POOL, S_PDRAIN, S_TNEXT,
    S_LEND, S_FINISH, S_MOD, S_SETUP2
  } st_t;
  st_t st;
  logic [31:0] layer;
  int di;                      // descriptor word index while loading
  int oy, loaded, py;          // conv row, input rows (LB / PB), pool row
  int lb_wp, pb_wp, ldn;       // line-buffer / pool-buffer write pointers, words left to load
  logic ld_act;                // an activation read is delivering words (into LB or PB)
  logic pf_done;               // this conv row has issued its prefetch (or has none)
  int ox, fo, ky, kx, ci, tap; // conv step counters
  int px, pc, pky, pkx, ptap;  // pool step counters
  assign busy = st != S_IDLE;
  assign cur_layer = layer;

  // the stages of the conv pipeline (1: issued, P: products, A: accumulated, 2: requantized)
  // and of the pool pipeline (1: issued, then ep_ovl_avgdiv; 2: its result)
  logic c1_v, c1_first, c1_last, c1_real, cp_v, cp_first, cp_last, cp_real, ca_v, cr_v, c2_v;
  // the requantizers take RQ_LANES of the PE accumulators per cycle, NS passes per output word:
  // rd_* the pass reading rq_acc, cr_* its result (ep_ovl_rq's first stage); last taps are
  // issued at least NS cycles apart (lt_gap) so rq_acc is not overwritten while being read
  logic ser_on;
  int ser_i, rd_i, cr_i, lt_gap;
  wire rd_v = ca_v || ser_on;
  assign rd_i = ca_v ? 0 : ser_i;
  logic [TFW-1:0] c1_f, cp_f;   // the fold of the step (selects its bias)
  logic [WW-1:0] c1_wst;
  logic [AW-1:0] lb_q;
  logic [WW-1:0] wb_q;
  logic signed [ACC_BITS-1:0] acc[PE];
  logic signed [ACC_BITS-1:0] rq_acc[PE];
  logic p1_v, p1_first, p1_last, p1_real, p1_cnt, p2_v;
  logic [PW-1:0] pb_q;
  logic signed [NUMW-1:0] pacc[PE];
  logic [DEN_BITS-1:0] pcnt;
  int bs_m, pbs_m;             // (-pt) mod nr, (-ppt) mod (pkh + psh): by repeated addition

  // conv issue: the tap of the current counters. The window origin, the taps' offsets and the
  // line-buffer / weight-buffer addresses are registers advanced with the counters (no product
  // on the per-cycle path): iy0 = oy*SH - PT, ix0 = ox*SW - PL, kyd = ky*DH, kxd = kx*DW;
  // sa = ((base_slot + ky*DH) mod nr) * rw, ix0cf = ix0 * CF, kxdcf = kxd * CF, wa = fo*KKCF + tap
  int iy0, ix0, kyd, kxd, sa, sa_base, ix0cf, kxdcf, wa;
  int swcf, dwcf, dhrw, kspan;  // SW*CF, DW*CF, DH*rw, DH*(KH-1) + 1 (setup)
  int c_iy, c_ix, lb_ra;
  logic c_real;
  always_comb begin
    c_iy = iy0 + kyd;
    c_ix = ix0 + kxd;
    c_real = c_iy >= 0 && c_iy < in_h && c_ix >= 0 && c_ix < in_w;
    lb_ra = sa + ix0cf + kxdcf + ci;
  end
  // rows of input an output row needs (window.h rows_ready) from its first row r: all of them
  // past the last output row, else r clamped to the map
  function automatic int rows_clamp(input int r, input logic past, input int h);
    rows_clamp = past ? h : (r < 0 ? 0 : (r > h ? h : r));
  endfunction
  wire c_wst_ok = !f_wst || (W_PORTS > 1 ? wst_valid : u_out_valid[3]);
  // prefetch: the next output row's new input rows, while this row computes from WBUF
  // (registered: the rows from the row's counters, then their words; both settle in the first
  // two cycles of S_CONV, which the prefetch waits out)
  int pf_rows, pf_words;
  logic [1:0] pf_age;          // cycles in S_CONV, saturating at 2
  logic pf_want;               // a next row exists and needs rows not loaded yet
  always_ff @(posedge clk) begin
    pf_rows <= rows_clamp(iy0 + sh + kspan, oy + 1 >= coh, in_h);
    pf_words <= mul(pf_rows - loaded, rw);
    pf_want <= oy + 1 < coh && pf_rows > loaded;
    pf_age <= st != S_CONV ? 2'd0 : (pf_age == 2'd2 ? 2'd2 : pf_age + 2'd1);
  end
  wire pf_go = st == S_CONV && pf_age == 2'd2 && !f_wst && !pf_done && !ld_act &&
               !rd_cmd_valid && pf_want;
  // an activation read (a row load or a prefetch): words from input row `loaded` on
  wire ld_go = pf_go || (st == S_LREQ && ldn != 0);
  int ld_words;
  always_comb ld_words = pf_go ? pf_words : ldn;
  // byte pointers advanced with the work instead of products of counters: the next activation
  // row to load, the tile's weights and biases, the next output run
  logic [AXW-1:0] ld_ptr, w_ptr, b_ptr, o_ptr, o_step;
  wire [AXW-1:0] ld_byte = ld_ptr;
  // a weight read into WBUF, or (one port) the weight stream of an F_W_STREAM tile
  wire w_go = st == S_WREQ || (st == S_WSREQ && W_PORTS == 1);
  wire [AXW-1:0] w_byte = w_ptr;
  int w_words;                 // nf * kkcf: the tile's weight words
  wire c_issue = st == S_CONV && room && c_wst_ok && (tap != kkcf - 1 || lt_gap == 0);
  wire c_last_step = ox == cow - 1 && fo == nf - 1 && tap == kkcf - 1;

  // pool issue
  // as for the conv: piy0 = py*PSH - PPT, pix0 = px*PSW - PPL, psa = ((p_base + pky) mod p_nr)
  // * p_rw, pix0cf = pix0 * p_cf, pkxcf = pkx * p_cf
  int piy0, pix0, psa, psa_base, pix0cf, pkxcf, pswcf;
  int p_iy, p_ix, pb_ra;
  logic p_real, p_pad;
  always_comb begin
    p_iy = piy0 + pky;
    p_ix = pix0 + pkx;
    p_real = p_iy >= 0 && p_iy < p_h && p_ix >= 0 && p_ix < p_w;
    p_pad = p_iy >= -ppt && p_iy < p_h + ppb && p_ix >= -ppl && p_ix < p_w + ppr;
    pb_ra = psa + pix0cf + pkxcf + pc;
  end
  int p_ready;                 // the input rows pool row py needs
  always_comb p_ready = rows_clamp(piy0 + pkh, py >= poh, p_h);
  wire p_issue = st == S_POOL && room && (ptap != pkk - 1 || pl_gap == 0);
  int pkk;                     // pkh * pkw
  wire p_last_step = px == pow - 1 && pc == p_cf - 1 && ptap == pkk - 1;

  // loads: act words into LB (conv) or PB (pool layer); weights; biases; descriptor words
  assign u_out_ready[0] = st == S_DESC_W;
  assign u_out_ready[1] = st == S_BLOAD;
  assign u_out_ready[2] = ld_act;
  assign u_out_ready[3] = st == S_WLOAD || (c_issue && f_wst && W_PORTS == 1);
  assign wst_ready = c_issue && f_wst && W_PORTS > 1;

  // requantized conv outputs (registered at the last tap: stage 2) and pool results
  logic [OW_BITS-1:0] c2_word;
  logic [PW-1:0] c2_narrow;
  logic [PW-1:0] p2_word;
  // the layer's requantization, decoded at setup (ep_ovl_rq): bounds clamped to WB bits
  logic rq_pos;
  logic [SHW-1:0] rq_sc, rq_ls;
  logic [ACC_BITS-1:0] rq_half, rq_low;
  logic signed [WB-1:0] rq_lo, rq_hi, rq_ll, rq_hl;
  logic [OUT_BITS-1:0] rq_lo_o, rq_hi_o;
  logic signed [65:0] lo66, hi66, nlo66, nll66, hl66;  // bounds before clamping (setup)
  function automatic logic signed [WB-1:0] clamp_wb(input logic signed [65:0] x);
    clamp_wb = x > 66'((67'(1) <<< (WB - 1)) - 1) ? WB'((67'(1) <<< (WB - 1)) - 1)
             : (x < -(66'(67'(1) <<< (WB - 1))) ? WB'(-(67'(1) <<< (WB - 1))) : WB'(x));
  endfunction
  logic [OUT_BITS-1:0] rq_y[RQ_LANES];
  genvar gl;
  generate
    for (gl = 0; gl < RQ_LANES; gl++) begin : g_rq
      // this requantizer's accumulator of the pass being read: lane pass * RQ_LANES + gl
      logic signed [ACC_BITS-1:0] rq_in;
      always_comb begin
        rq_in = rq_acc[gl];
        for (int j = 1; j < NS; j++) if (rd_i == j) rq_in = rq_acc[j*RQ_LANES+gl];
      end
      ep_ovl_rq #(.ACC_BITS(ACC_BITS), .OUT_BITS(OUT_BITS), .SHW(SHW), .WB(WB)) u_rq (
          .clk, .en(rd_v), .acc(rq_in), .pos(rq_pos), .sc(rq_sc), .half(rq_half), .low(rq_low),
          .ls(rq_ls), .relu(f_relu), .lo(rq_lo), .hi(rq_hi), .ll(rq_ll), .hl(rq_hl),
          .lo_o(rq_lo_o), .hi_o(rq_hi_o), .y(rq_y[gl]));
    end
  endgenerate

  generate
    for (gl = 0; gl < PE; gl++) begin : g_bias
      logic signed [ACC_BITS-1:0] bm[MAX_TILE_NF];
      always_ff @(posedge clk) begin
        if (b_we && 32'(b_lane) == gl) bm[b_fold] <= ACC_BITS'(ub_data);  // 64-bit words in DDR
      end
      assign b_rd[gl] = bm[cp_f];
    end
  endgenerate

  // the products of stage P: PE x SIMD, from the activations and weights issued (stage 1)
  logic [WW-1:0] c1_w;
  assign c1_w = f_wst ? c1_wst : wb_q;
  logic signed [PRW-1:0] prod[PE][SIMD];
  logic bor[PE][SIMD];         // packed lanes: the borrow of the product below (+1)
  genvar gi, gp;
  generate
    for (gi = 0; gi < SIMD; gi++) begin : g_x
      // the activation as ACT_BITS+1 signed bits (sign- or zero-extended)
      wire signed [XW-1:0] x = {f_in_signed & lb_q[gi*ACT_BITS+ACT_BITS-1],
                                lb_q[gi*ACT_BITS+:ACT_BITS]};
      if (PACK) begin : g_pack
        // lanes 2k and 2k+1 share the activation: one DSP48E2 (27 x 18) computes
        // x * (w_hi * 2^18 + w_lo); |x * w_lo| < 2^17, so lo = P[17:0] (signed) and
        // hi = (P >>> 18) + P[17] (the borrow of a negative lo)
        for (gp = 0; gp < PE / 2; gp++) begin : g_pair
          wire [W_BITS-1:0] wl = c1_w[((2 * gp) * SIMD + gi) * W_BITS+:W_BITS];
          wire [W_BITS-1:0] wh = c1_w[((2 * gp + 1) * SIMD + gi) * W_BITS+:W_BITS];
          // w2 = w_hi * 2^18 + w_lo without a 27-bit adder: a negative w_lo borrows one from
          // w_hi and fills the bits between with ones (w_hi - 1, 2^18 + w_lo)
          wire signed [W_BITS:0] whc = $signed({wh[W_BITS-1], wh}) -
                                       $signed({{W_BITS{1'b0}}, wl[W_BITS-1]});
          wire signed [W_BITS+18:0] w2 = $signed({whc, {(18 - W_BITS){wl[W_BITS-1]}}, wl});
          logic signed [XW+W_BITS+18:0] pk;
          always_ff @(posedge clk) begin
            if (c1_v) pk <= x * w2;
          end
          // lo = P[17:0]; hi = (P >>> 18) + P[17]: the borrow bit is added in stage A's sum
          // (with the lane's other borrows) instead of by a 17-bit adder per product
          assign prod[2*gp][gi] = PRW'($signed(pk[17:0]));
          assign prod[2*gp+1][gi] = PRW'(pk >>> 18);
          assign bor[2*gp][gi] = 1'b0;
          assign bor[2*gp+1][gi] = pk[17];
        end
      end else begin : g_plain
        // one DSP-sized product per lane: (ACT_BITS+1) x W_BITS signed bits
        for (gp = 0; gp < PE; gp++) begin : g_lane
          wire signed [W_BITS-1:0] w = c1_w[(gp * SIMD + gi) * W_BITS+:W_BITS];
          logic signed [PRW-1:0] pm;
          always_ff @(posedge clk) begin
            if (c1_v) pm <= x * w;
          end
          assign prod[gp][gi] = pm;
          assign bor[gp][gi] = 1'b0;
        end
      end
    end
  endgenerate

  // the pool's stage A (sum or max, and the count) and its division
  logic signed [NUMW-1:0] p_nv[PE];
  logic [PE*NUMW-1:0] p_nv_flat;
  logic [DEN_BITS-1:0] p_c;
  logic [PE*ACT_BITS-1:0] dv_q;
  logic dv_busy;
  always_comb begin
    p_c = (p1_first ? '0 : pcnt) + (p1_cnt ? DEN_BITS'(1) : '0);
    for (int l = 0; l < PE; l++) begin
      logic signed [NUMW-1:0] v, prev;
      v = p_signed_i != 0 ? NUMW'($signed(pb_q[l*ACT_BITS+:ACT_BITS]))
                          : NUMW'(pb_q[l*ACT_BITS+:ACT_BITS]);
      if (!p1_real) v = '0;
      prev = p1_first ? (f_avg ? '0 : -(NUMW'(1) <<< ACT_BITS)) : pacc[l];
      p_nv[l] = f_avg ? prev + v : ((p1_real && v > prev) ? v : prev);
      p_nv_flat[l*NUMW+:NUMW] = p_nv[l];
    end
  end
  // the divider takes RQ_LANES lanes per cycle, NS passes per pool output word (as the
  // requantizers): the word's sums wait in dv_hold while read (ph_v: pass 0, then ps_*), pool
  // last taps are issued at least NS cycles apart (pl_gap); results arrive in pass order (po_i)
  logic [PE*NUMW-1:0] dv_hold;
  logic [DEN_BITS-1:0] dv_den;
  logic ph_v, ps_on, dv_v;
  int ps_i, pd_i, po_i, pl_gap;
  wire pd_v = ph_v || ps_on;
  assign pd_i = ph_v ? 0 : ps_i;
  logic [RQ_LANES*NUMW-1:0] dv_in;
  logic [RQ_LANES*ACT_BITS-1:0] dv_out;
  logic [PE*ACT_BITS-1:0] dv_acc;   // the passes of the word received so far
  always_comb begin
    dv_in = dv_hold[0+:RQ_LANES*NUMW];
    for (int j = 1; j < NS; j++) if (pd_i == j) dv_in = dv_hold[j*RQ_LANES*NUMW+:RQ_LANES*NUMW];
  end
  ep_ovl_avgdiv #(.LANES(RQ_LANES), .NUMW(NUMW), .DEN_BITS(DEN_BITS), .QB(QB), .OUTW(ACT_BITS))
  u_div (
      .clk, .rst_n, .in_valid(pd_v), .in_num(dv_in), .in_den(dv_den), .out_valid(dv_v),
      .out_q(dv_out), .busy(dv_busy));
  assign p2_v = dv_v && po_i == NS - 1;
  always_comb begin
    dv_q = dv_acc;
    for (int j = 0; j < NS; j++) if (po_i == j) dv_q[j*RQ_LANES*ACT_BITS+:RQ_LANES*ACT_BITS] = dv_out;
    for (int l = 0; l < PE; l++) p2_word[l*ACT_BITS+:ACT_BITS] = l < p_lanes ? dv_q[l*ACT_BITS+:ACT_BITS] : '0;
  end

  always_comb begin
    of_push = 1'b0;
    of_push_d = '0;
    of_push_n = '0;
    if (c2_v && !f_pool) begin
      of_push = 1'b1;
      if (wide_out) begin
        of_push_d = c2_word;
        of_push_n = 8'(OW_BITS / AW);
      end else begin
        of_push_d = OW_BITS'(c2_narrow);
        of_push_n = 8'(PE / SIMD);
      end
    end else if (p2_v) begin
      of_push = 1'b1;
      of_push_d = OW_BITS'(p2_word);
      of_push_n = 8'(p_lanes / SIMD);
    end
  end

  int run_n, p_run_n;          // words of a conv / pool output run
  // a tile's first output word and the words between its output pixels (pool or conv pixels)
  int o_first, o_pix;
  always_comb begin
    o_first = out_addr + (f_pool ? mul(tile, tile_nf) * (PE / SIMD) : ch_off);
    o_pix = f_pool ? out_c / SIMD : pix_stride;
  end

  // a run command (one output pixel's channels) at the first step of each pixel
  always_comb begin
    rf_push = 1'b0;
    rf_push_a = '0;
    rf_push_n = '0;
    if (c_issue && !f_pool && fo == 0 && tap == 0) begin
      rf_push = 1'b1;
      rf_push_a = o_ptr;
      rf_push_n = run_n;
    end else if (p_issue && pc == 0 && ptap == 0) begin
      rf_push = 1'b1;
      rf_push_a = o_ptr;
      rf_push_n = p_run_n;
    end
  end

  always_ff @(posedge clk) begin
    // memories: registered reads
    // (every cycle: a stage reads them only the cycle after its issue, so no read enable)
    lb_q <= lb[lb_ra];
    wb_q <= wbuf[wa];
    pb_q <= pbm[pb_ra];
    if (!rst_n) begin
      st <= S_IDLE;
      done <= 1'b0;
      ret <= '0;
      layer <= '0;
      layer_done <= 1'b0;
      rd_cmd_valid <= 1'b0;
      u_start <= 1'b0;
      wst_start <= 1'b0;
      of_rd <= '0;
      of_wr <= '0;
      of_cnt <= '0;
      piece <= '0;
      rf_rd <= '0;
      rf_wr <= '0;
      rf_cnt <= '0;
      c1_v <= 1'b0;
      cp_v <= 1'b0;
      ca_v <= 1'b0;
      cr_v <= 1'b0;
      ser_on <= 1'b0;
      lt_gap <= 0;
      c2_v <= 1'b0;
      p1_v <= 1'b0;
      ph_v <= 1'b0;
      ps_on <= 1'b0;
      po_i <= 0;
      pl_gap <= 0;
      inflight <= '0;
      ld_act <= 1'b0;
      pf_done <= 1'b0;
      ldn <= 0;
    end else begin
      done <= 1'b0;
      layer_done <= 1'b0;
      u_start <= 1'b0;
      wst_start <= 1'b0;
      if (rd_cmd_valid && rd_cmd_ready) rd_cmd_valid <= 1'b0;
      // ---- output FIFOs
      if (wr_valid && wr_ready) piece <= of_pop ? '0 : piece + 1'b1;
      if (of_push) begin
        ofifo_d[of_wr] <= of_push_d;
        ofifo_n[of_wr] <= of_push_n;
        of_wr <= of_wr + 1'b1;
      end
      if (of_pop) of_rd <= of_rd + 1'b1;
      of_cnt <= of_cnt + (of_push ? 1 : 0) - (of_pop ? 1 : 0);
      // ---- conv pipeline: 1 (issued) -> P (products) -> A (accumulate) -> 2 (requantized)
      c1_v <= c_issue;
      if (c_issue) begin
        c1_first <= tap == 0;
        c1_last <= tap == kkcf - 1;
        c1_real <= c_real;
        c1_f <= TFW'(fo);
        if (f_wst) c1_wst <= W_PORTS > 1 ? wst_data : uw_data;
      end
      cp_v <= c1_v;
      if (c1_v) begin
        cp_first <= c1_first;
        cp_last <= c1_last;
        cp_real <= c1_real;
        cp_f <= c1_f;
      end
      if (cp_v) begin
        for (int p = 0; p < PE; p++) begin
          logic signed [ACC_BITS-1:0] s;
          s = cp_first ? b_rd[p] : acc[p];
          if (cp_real) begin
            // the SIMD products summed at their own width (PRW + log2 SIMD bits), then the sum
            // added to the accumulator (modulo 2^ACC_BITS either way)
            logic signed [PSW-1:0] ps;
            ps = '0;
            for (int i = 0; i < SIMD; i++) ps = ps + PSW'(prod[p][i]) + PSW'({1'b0, bor[p][i]});
            s = s + ACC_BITS'(ps);
          end
          acc[p] <= s;
          if (cp_last) rq_acc[p] <= s;
        end
      end
      ca_v <= cp_v && cp_last;
      if (ca_v) begin
        ser_on <= NS > 1;
        ser_i <= 1;
      end else if (ser_on) begin
        ser_i <= ser_i + 1;
        if (ser_i == NS - 1) ser_on <= 1'b0;
      end
      if (c_issue && tap == kkcf - 1) lt_gap <= NS - 1;
      else if (lt_gap != 0) lt_gap <= lt_gap - 1;
      cr_v <= rd_v;                // ep_ovl_rq's first stage
      cr_i <= rd_i;
      for (int j = 0; j < NS; j++) begin
        if (cr_v && cr_i == j) begin
          for (int k = 0; k < RQ_LANES; k++) begin
            c2_word[(j*RQ_LANES+k)*OUT_BITS+:OUT_BITS] <= rq_y[k];
            c2_narrow[(j*RQ_LANES+k)*ACT_BITS+:ACT_BITS] <= rq_y[k][ACT_BITS-1:0];
          end
        end
      end
      c2_v <= cr_v && cr_i == NS - 1;
      if (c2_v && f_pool) begin
        pbm[pb_wp] <= c2_narrow;
        pb_wp <= pb_wp + 1 == pb_n ? 0 : pb_wp + 1;
      end
      inflight <= inflight + ((c_issue && !f_pool && tap == kkcf - 1) ||
                              (p_issue && ptap == pkk - 1) ? 1 : 0) - (of_push ? 1 : 0);
      // ---- pool pipeline: 1 (issued) -> A (sum / max, count) -> ep_ovl_avgdiv -> 2
      p1_v <= p_issue;
      if (p_issue) begin
        p1_first <= ptap == 0;
        p1_last <= ptap == pkk - 1;
        p1_real <= p_real;
        p1_cnt <= p_real || (p_pad && f_cpad);
      end
      if (p1_v) begin
        pcnt <= p_c;
        for (int l = 0; l < PE; l++) pacc[l] <= p_nv[l];
      end
      if (p1_v && p1_last) begin
        dv_hold <= p_nv_flat;
        dv_den <= f_avg && p_c != 0 ? p_c : DEN_BITS'(1);
      end
      ph_v <= p1_v && p1_last;
      if (ph_v) begin
        ps_on <= NS > 1;
        ps_i <= 1;
      end else if (ps_on) begin
        ps_i <= ps_i + 1;
        if (ps_i == NS - 1) ps_on <= 1'b0;
      end
      if (dv_v) begin
        for (int j = 0; j < NS; j++) if (po_i == j) dv_acc[j*RQ_LANES*ACT_BITS+:RQ_LANES*ACT_BITS] <= dv_out;
        po_i <= po_i == NS - 1 ? 0 : po_i + 1;
      end
      if (p_issue && ptap == pkk - 1) pl_gap <= NS - 1;
      else if (pl_gap != 0) pl_gap <= pl_gap - 1;

      // ---- activation words into LB (conv) or PB (pool layer), loads and prefetches alike
      if (ld_act && u_out_valid[2]) begin
        if (kind == 1) begin
          pbm[pb_wp] <= PW'(ua_data);
          pb_wp <= pb_wp + 1 == pb_n ? 0 : pb_wp + 1;
        end else begin
          lb[lb_wp] <= ua_data;
          lb_wp <= lb_wp + 1 == lb_n ? 0 : lb_wp + 1;
        end
        ldn <= ldn - 1;
        if (ldn == 1) ld_act <= 1'b0;
      end
      if (ld_go) begin
        rd_cmd_valid <= 1'b1;
        rd_cmd_addr <= al(ld_byte);
        rd_cmd_beats <= nbeats(ld_byte, ld_words, AWB);
        usel <= U_ACT;
        u_start <= 1'b1;
        u_skip <= AWB >= BB ? 8'd0 : 8'(32'(ld_byte) % BB / AWB);
        u_n <= ld_words;
        ldn <= ld_words;
        ld_act <= 1'b1;
        ld_ptr <= ld_ptr + AXW'(ld_words) * AWB;
      end
      if (pf_go) begin
        loaded <= pf_rows;
        pf_done <= 1'b1;
      end
      if (w_go) begin
        rd_cmd_valid <= 1'b1;
        rd_cmd_addr <= al(w_byte);
        rd_cmd_beats <= nbeats(w_byte, w_words, WWB);
        usel <= U_W;
        u_start <= 1'b1;
        u_skip <= WWB >= BB ? 8'd0 : 8'(32'(w_byte) % BB / WWB);
        u_n <= w_words;
      end

      case (st)
        S_IDLE:
        if (start) begin
          layer <= '0;
          ret <= '0;
          st <= n_layers == 0 ? S_FINISH : S_DESC;
        end
        S_DESC: begin
          rd_cmd_valid <= 1'b1;
          rd_cmd_addr <= al(desc_base + AXW'(layer) * 160);
          rd_cmd_beats <= nbeats(desc_base + AXW'(layer) * 160, 40, 4);
          usel <= U_DESC;
          u_start <= 1'b1;
          u_skip <= 8'((desc_base[$clog2(BB)-1:0]) / 4);
          u_n <= 40;
          di <= 0;
          st <= S_DESC_W;
        end
        S_DESC_W:
        if (u_out_valid[0]) begin
          d[di] <= ud_data;
          di <= di + 1;
          if (di == 39) st <= S_SETUP;
        end
        S_SETUP: begin
          /* verilator lint_off UNUSEDSIGNAL */
          int scv, lsv;               // (their low SHW bits are kept)
          /* verilator lint_on UNUSEDSIGNAL */
          // the requantizer: right shift (round) by min(shift, ACC_BITS), or left shift by
          // min(-shift, RB + 1) with the bounds shifted right instead (kernels.requantize)
          scv = shift > ACC_BITS ? ACC_BITS : (shift < 1 ? 1 : shift);
          lsv = shift > 0 ? 0 : (-shift > RB + 1 ? RB + 1 : -shift);
          lo66 <= f_raw ? -(66'(1) <<< 63) : 66'(lo);
          nlo66 <= f_raw ? 66'(1) <<< 63 : -(66'(lo));
          hi66 <= f_raw ? (66'(1) <<< 63) - 1 : 66'(hi);
          rq_pos <= shift > 0;
          rq_sc <= SHW'(scv);
          rq_ls <= SHW'(lsv);
          rq_half <= ACC_BITS'(1) << (scv - 1);
          rq_low <= (ACC_BITS'(1) << (scv - 1)) - 1;
          bs_m <= -pt;
          pbs_m <= -ppt;
          cf <= in_c / SIMD;
          rw <= mul(in_w, in_c / SIMD);
          kk <= mul(kh, kw);
          ctn <= mul(cow, tile_nf);
          nf_all <= out_c / PE;
          kspan <= mul(dh, kh - 1) + 1;
          pkk <= mul(pkh, pkw);
          tile <= 0;
          st <= S_SETUP2;
        end
        S_SETUP2: begin                              // what follows from the registers above
          kkcf <= mul(kk, cf);
          nr <= kspan + sh;
          hl66 <= hi66 >>> rq_ls;
          nll66 <= nlo66 >>> rq_ls;       // ll = -((-lo) >>> ls), negated at the check
          rq_lo_o <= OUT_BITS'(lo66);
          rq_hi_o <= OUT_BITS'(hi66);
          swcf <= mul(sw, cf);
          dwcf <= mul(dw, cf);
          dhrw <= mul(dh, rw);
          st <= S_CHECK;
        end
        S_CHECK: begin
          logic bad;
          rq_lo <= clamp_wb(lo66);
          rq_hi <= clamp_wb(hi66);
          // clamp_wb(-nll66), the negation at WB bits beside the compares
          rq_ll <= nll66 > 66'(67'(1) <<< (WB - 1)) ? WB'(-(67'(1) <<< (WB - 1)))
                 : (nll66 < -(66'((67'(1) <<< (WB - 1)) - 1)) ? WB'((67'(1) <<< (WB - 1)) - 1)
                 : -(WB'(nll66)));
          rq_hl <= clamp_wb(hl66);
          bad = d[0] != MAGIC || (kind != 0 && kind != 1) ||
                (wide_out && (obits != OUT_BITS || kind == 1 || f_pool)) ||
                in_c % SIMD != 0 || in_h < 1 || in_w < 1 || in_c < 1;
          // every geometry field below 2^16: the products above stay exact at their width
          for (int i = 3; i <= 32; i++)
            if (i < 19 || i > 21) bad = bad || d[i] > 65535;
          bad = bad || !le_cap(kh, kw, 65535) || !le_cap(kk, cf, (1 << 24) - 1);
          // pool geometry (the modulo loop of S_MOD, the divider's count)
          if (kind == 1 || f_pool)
            bad = bad || pkh < 1 || pkw < 1 || psh < 1 || ppt < 0 ||
                  (f_avg && !le_cap(pkh, pkw, (1 << DEN_BITS) - 1));
          if (kind == 1) begin
            bad = bad || !f_pool || !le_cap(psh + pkh, rw, SPLB_WORDS);
          end else begin
            bad = bad || kh < 1 || kw < 1 || sh < 1 || dh < 1 || pt < 0 ||
                  out_c % PE != 0 || out_c < PE || !le_cap(nr, rw, LB_WORDS) ||
                  tile_nf < 1 || tile_nf > MAX_TILE_NF ||
                  (!f_wst && !le_cap(tile_nf, kkcf, WBUF_WORDS)) ||
                  (f_wst && W_PORTS > 1 && wmem_base[$clog2(BB)-1:0] != 0) ||
                  (f_pool && !le_cap(pkh + psh, ctn, PLB_WORDS));
          end
          if (bad) begin
            ret <= layer + 1;
            st <= S_FINISH;
          end else st <= S_MOD;
        end
        S_MOD:
        if (bs_m < 0 && kind != 1) bs_m <= bs_m + nr;
        else if (pbs_m < 0 && (kind == 1 || f_pool)) pbs_m <= pbs_m + pkh + psh;
        else begin
          lb_n <= mul(nr, rw);
          ld_ptr <= act_in_base + AXW'(in_addr) * AWB;
          w_ptr <= wmem_base + AXW'(w_addr) * WWB;
          b_ptr <= bmem_base + AXW'(b_addr) * 8;
          if (kind == 1) begin
            // standalone pool: PB holds the input map's rows (SIMD lanes of PE)
            p_h <= in_h; p_w <= in_w; p_cf <= cf; p_lanes <= SIMD; p_nr <= pkh + psh;
            p_rw <= rw;
            p_signed_i <= f_in_signed ? 1 : 0;
            p_base <= pbs_m;
            piy0 <= -ppt;
            pb_n <= mul(pkh + psh, rw);
            p_run_n <= cf;
            o_ptr <= act_out_base + AXW'(out_addr) * AWB;
            o_step <= AXW'(cf) * AWB;
            py <= 0; loaded <= 0; pb_wp <= 0;
            st <= S_PROW;
          end else begin
            st <= S_TILE;
          end
        end
        S_TILE: begin
          int nfv;
          nfv = nf_all - mul(tile, tile_nf) < tile_nf ? nf_all - mul(tile, tile_nf) : tile_nf;
          nf <= nfv;
          w_words <= mul(nfv, kkcf);
          run_n <= out_words(nfv * (PE / SIMD));
          ch_off <= out_words(mul(tile, tile_nf) * (PE / SIMD));
          pix_stride <= out_words(out_c / SIMD);
          st <= f_wst ? S_BREQ : S_WREQ;
        end
        S_WREQ: begin                                // the read: w_go
          lb_wp <= 0;                                // reused as the WBUF write pointer
          st <= S_WLOAD;
        end
        S_WLOAD:
        if (u_out_valid[3]) begin
          wbuf[lb_wp] <= uw_data;
          lb_wp <= lb_wp + 1;
          if (lb_wp == w_words - 1) st <= S_BREQ;
        end
        S_BREQ: begin
          rd_cmd_valid <= 1'b1;
          rd_cmd_addr <= al(b_ptr);
          rd_cmd_beats <= nbeats(b_ptr, nf * PE, 8);
          usel <= U_BIAS;
          u_start <= 1'b1;
          u_skip <= 8'(32'(b_ptr) % BB / 8);
          u_n <= nf * PE;
          lb_wp <= 0;
          b_lane <= '0;
          b_fold <= '0;
          st <= S_BLOAD;
        end
        S_BLOAD:
        if (u_out_valid[1]) begin
          lb_wp <= lb_wp + 1;                  // (the bias memories: b_we)
          if (32'(b_lane) == PE - 1) begin
            b_lane <= '0;
            b_fold <= b_fold + 1'b1;
          end else b_lane <= b_lane + 1'b1;
          if (lb_wp == nf * PE - 1) begin
            oy <= 0;
            loaded <= 0;
            lb_wp <= 0;
            pb_wp <= 0;
            base_slot <= bs_m;
            iy0 <= -pt;
            piy0 <= -ppt;
            // fused pool geometry: the conv output of this tile (nf words of PE lanes)
            p_h <= coh; p_w <= cow; p_cf <= nf; p_lanes <= PE; p_nr <= pkh + psh;
            p_rw <= mul(nf, cow);
            pb_n <= mul(pkh + psh, mul(nf, cow));
            p_run_n <= nf * (PE / SIMD);
            ld_ptr <= act_in_base + AXW'(in_addr) * AWB;
            // output runs: pool pixels (fused pool) or conv pixels, from the tile's channels
            o_ptr <= act_out_base + AXW'(o_first) * AWB;
            o_step <= AXW'(o_pix) * AWB;
            p_signed_i <= f_out_signed ? 1 : 0;
            p_base <= pbs_m;
            py <= 0;
            st <= S_ROW;
          end
        end
        S_ROW:
        if (!ld_act) begin                           // the prefetch has landed
          ldn <= mul(rows_clamp(iy0 + kspan, oy >= coh, in_h) - loaded, rw);
          pf_done <= 1'b0;
          st <= S_LREQ;
        end
        S_LREQ:
        if (ldn == 0) begin
          loaded <= kind == 1 ? p_ready : rows_clamp(iy0 + kspan, oy >= coh, in_h);
          st <= kind == 1 ? S_POOL : (f_wst ? S_WSREQ : S_CONV);
          ox <= 0; fo <= 0; ky <= 0; kx <= 0; ci <= 0; tap <= 0;
          ix0 <= -pl; kyd <= 0; kxd <= 0; kxdcf <= 0; wa <= 0;
          ix0cf <= -mul(pl, cf);
          sa <= mul(base_slot, rw);
          sa_base <= mul(base_slot, rw);
          px <= 0; pc <= 0; pky <= 0; pkx <= 0; ptap <= 0;
          pix0 <= -ppl; pkxcf <= 0;
          pix0cf <= -mul(ppl, p_cf);
          pswcf <= mul(psw, p_cf);
          psa <= mul(p_base, p_rw);
          psa_base <= mul(p_base, p_rw);
        end else st <= S_LOAD;                       // the read: ld_go
        S_LOAD:
        if (!ld_act) st <= S_LREQ;
        S_WSREQ: begin                               // one port: the read is w_go
          if (W_PORTS > 1) begin
            wst_start <= 1'b1;
            wst_addr <= w_byte;
            wst_n <= w_words;
          end
          st <= S_CONV;
        end
        S_CONV:
        if (c_issue) begin
          wa <= wa + 1;
          if (tap == kkcf - 1) begin
            tap <= 0;
            if (fo == nf - 1) begin
              fo <= 0;
              ox <= ox + 1;
              ix0 <= ix0 + sw;
              ix0cf <= ix0cf + swcf;
              wa <= 0;
            end else fo <= fo + 1;
          end else tap <= tap + 1;
          if (ci == cf - 1) begin
            ci <= 0;
            if (kx == kw - 1) begin
              kx <= 0;
              kxd <= 0;
              kxdcf <= 0;
              if (ky == kh - 1) begin
                ky <= 0;
                kyd <= 0;
                sa <= sa_base;
              end else begin
                ky <= ky + 1;
                kyd <= kyd + dh;
                sa <= sa + dhrw >= lb_n ? sa + dhrw - lb_n : sa + dhrw;
              end
            end else begin
              kx <= kx + 1;
              kxd <= kxd + dw;
              kxdcf <= kxdcf + dwcf;
            end
          end else ci <= ci + 1;
          if (c_last_step) st <= S_CDRAIN;
        end
        S_CDRAIN:
        if (!c1_v && !cp_v && !ca_v && !ser_on && !cr_v && !c2_v) begin
          base_slot <= base_slot + sh >= nr ? base_slot + sh - nr : base_slot + sh;
          oy <= oy + 1;
          iy0 <= iy0 + sh;
          st <= f_pool ? S_PROW : (oy == coh - 1 ? S_TNEXT : S_ROW);
        end
        S_PROW: begin
          // conv+pool: pool rows whose inputs are in PB; pool layer: load, then one row
          if (py >= poh) st <= kind == 1 ? S_LEND : (oy >= coh ? S_TNEXT : S_ROW);
          else if (kind == 1) begin
            ldn <= mul(p_ready - loaded, p_rw);
            st <= S_LREQ;
          end else if (p_ready <= oy) begin
            px <= 0; pc <= 0; pky <= 0; pkx <= 0; ptap <= 0;
            pix0 <= -ppl; pkxcf <= 0;
            pix0cf <= -mul(ppl, p_cf);
            pswcf <= mul(psw, p_cf);
            psa <= mul(p_base, p_rw);
            psa_base <= mul(p_base, p_rw);
            st <= S_POOL;
          end else st <= oy >= coh ? S_TNEXT : S_ROW;
        end
        S_POOL:
        if (p_issue) begin
          if (pkx == pkw - 1) begin
            pkx <= 0;
            pkxcf <= 0;
            if (pky == pkh - 1) begin
              pky <= 0;
              ptap <= 0;
              psa <= psa_base;
              if (pc == p_cf - 1) begin
                pc <= 0;
                px <= px + 1;
                pix0 <= pix0 + psw;
                pix0cf <= pix0cf + pswcf;
              end else pc <= pc + 1;
            end else begin
              pky <= pky + 1;
              ptap <= ptap + 1;
              psa <= psa + p_rw >= pb_n ? psa + p_rw - pb_n : psa + p_rw;
            end
          end else begin
            pkx <= pkx + 1;
            ptap <= ptap + 1;
            pkxcf <= pkxcf + p_cf;
          end
          if (p_last_step) st <= S_PDRAIN;
        end
        S_PDRAIN:
        if (!p1_v && !ph_v && !ps_on && !dv_busy) begin
          p_base <= p_base + psh >= p_nr ? p_base + psh - p_nr : p_base + psh;
          py <= py + 1;
          piy0 <= piy0 + psh;
          st <= S_PROW;
        end
        S_TNEXT:
        if (mul(tile + 1, tile_nf) >= nf_all) st <= S_LEND;
        else begin
          tile <= tile + 1;
          w_ptr <= w_ptr + AXW'(w_words) * WWB;
          b_ptr <= b_ptr + AXW'(nf) * (PE * 8);
          st <= S_TILE;
        end
        S_LEND:
        if (of_cnt == 0 && rf_cnt == 0 && wr_idle && !rf_push) begin
          layer_done <= 1'b1;
          if (layer + 1 == n_layers) st <= S_FINISH;
          else begin
            layer <= layer + 1;
            st <= S_DESC;
          end
        end
        S_FINISH:
        if (of_cnt == 0 && rf_cnt == 0 && wr_idle) begin
          done <= 1'b1;
          st <= S_IDLE;
        end
        default: st <= S_IDLE;
      endcase
      if (rf_push) begin
        o_ptr <= o_ptr + o_step;
        rfifo_a[rf_wr] <= rf_push_a;
        rfifo_n[rf_wr] <= rf_push_n;
        rf_wr <= rf_wr + 1'b1;
      end
      if (rf_pop) rf_rd <= rf_rd + 1'b1;
      rf_cnt <= rf_cnt + (rf_push ? 1 : 0) - (rf_pop ? 1 : 0);
    end
  end
  wire unused = &{1'b0, pb_ & 0, pr & 0, u_active, ub_data, lb_ra, pb_ra};
endmodule
