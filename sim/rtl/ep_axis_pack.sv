// SPDX-License-Identifier: Apache-2.0
// Width converter datapath -> DMA stream: one element (EB-byte container) per beat -> beats of
// BEAT_BYTES bytes, K = BEAT_BYTES / EB elements each, element 0 in the low bytes
// (edgepool.accel.axis). Frames of N elements are counted; the last beat of a frame is
// zero-padded, carries TLAST and keeps every byte (the driver's frame is whole beats, so the
// DMA's S2MM byte count is the padded frame length). `done` pulses when that beat is taken.
// II = 1 element per cycle (a full beat leaves while the next one fills).
`timescale 1ns / 1ps
module ep_axis_pack #(
    parameter int BEAT_BYTES = 8,
    parameter int EB = 4,
    parameter int N = 10
) (
    input  logic                    clk,
    input  logic                    rst_n,
    input  logic [          EB*8-1:0] s_tdata,
    input  logic                    s_tvalid,
    output logic                    s_tready,
    output logic [BEAT_BYTES*8-1:0] m_tdata,
    output logic [  BEAT_BYTES-1:0] m_tkeep,
    output logic                    m_tlast,
    output logic                    m_tvalid,
    input  logic                    m_tready,
    output logic                    done
);
  localparam int K = BEAT_BYTES / EB;
  localparam int IW = K > 1 ? $clog2(K) : 1;
  localparam int NW = N > 1 ? $clog2(N) : 1;

  logic [BEAT_BYTES*8-1:0] acc, acc_next;
  logic [IW-1:0] idx;
  logic [NW-1:0] cnt;

  wire frame_end = (cnt == NW'(N - 1));
  wire beat_end = (idx == IW'(K - 1)) || frame_end;
  wire m_hs = m_tvalid && m_tready;
  assign s_tready = !beat_end || !m_tvalid || m_tready;
  wire s_hs = s_tvalid && s_tready;
  assign m_tkeep = '1;
  assign done = m_hs && m_tlast;

  always_comb begin
    acc_next = acc;
    acc_next[idx*EB*8+:EB*8] = s_tdata;
  end

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      acc <= '0;
      idx <= '0;
      cnt <= '0;
      m_tdata <= '0;
      m_tvalid <= 1'b0;
      m_tlast <= 1'b0;
    end else begin
      if (m_hs) m_tvalid <= 1'b0;
      if (s_hs) begin
        cnt <= frame_end ? '0 : cnt + NW'(1);
        if (beat_end) begin
          m_tdata <= acc_next;
          m_tvalid <= 1'b1;
          m_tlast <= frame_end;
          acc <= '0;
          idx <= '0;
        end else begin
          acc <= acc_next;
          idx <= idx + IW'(1);
        end
      end
    end
  end
endmodule
