// SPDX-License-Identifier: Apache-2.0
// Beats of DW bits -> words of WB bytes (little-endian: word i of a beat in bytes [i*WB,
// (i+1)*WB)). `start` loads a transfer: skip `skip` words of the first beat (an unaligned start,
// WB < DW/8), then deliver `n` words; the rest of the last beat is dropped. WB must divide DW/8
// or be a multiple of it (then words are beat-aligned, skip = 0).
`timescale 1ns / 1ps
module ep_ovl_unpack #(
    parameter int DW = 128,
    parameter int WB = 16
) (
    input  logic            clk,
    input  logic            rst_n,
    input  logic            start,
    input  logic [     7:0] skip,
    input  logic [    31:0] n,
    input  logic            in_valid,
    output logic            in_ready,
    input  logic [  DW-1:0] in_data,
    output logic            out_valid,
    input  logic            out_ready,
    output logic [WB*8-1:0] out_data,
    output logic            active
);
  localparam int BB = DW / 8;
  logic [31:0] left_q;
  assign active = left_q != 0;
  generate
    if (WB <= BB) begin : g_split
      localparam int PER = BB / WB;
      localparam int IW = PER > 1 ? $clog2(PER) : 1;
      logic [IW-1:0] idx_q;
      wire last_in_beat = (32'(idx_q) == PER - 1) || left_q == 1;
      assign out_valid = in_valid && active;
      assign out_data = in_data[32'(idx_q)*WB*8+:WB*8];
      assign in_ready = out_ready && active && last_in_beat;
      always_ff @(posedge clk) begin
        if (!rst_n) begin
          left_q <= '0;
          idx_q <= '0;
        end else if (start) begin
          left_q <= n;
          idx_q <= IW'(skip);
        end else if (out_valid && out_ready) begin
          left_q <= left_q - 1;
          idx_q <= last_in_beat ? '0 : idx_q + 1'b1;
        end
      end
      wire unused = &{1'b0, skip};
    end else begin : g_gather
      localparam int NB = WB / BB;
      logic [WB*8-1:0] word_q;
      logic [$clog2(NB+1)-1:0] cnt_q;
      assign out_valid = 32'(cnt_q) == NB;
      assign out_data = word_q;
      assign in_ready = active && 32'(cnt_q) < NB;
      always_ff @(posedge clk) begin
        if (!rst_n) begin
          left_q <= '0;
          cnt_q <= '0;
          word_q <= '0;
        end else if (start) begin
          left_q <= n;
          cnt_q <= '0;
        end else begin
          if (in_valid && in_ready) begin
            word_q <= {in_data, word_q[WB*8-1:DW]};
            cnt_q <= cnt_q + 1'b1;
          end
          if (out_valid && out_ready) begin
            cnt_q <= '0;
            left_q <= left_q - 1;
          end
        end
      end
      wire unused = &{1'b0, skip};
    end
  endgenerate
endmodule
