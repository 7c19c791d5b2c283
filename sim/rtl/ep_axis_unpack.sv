// SPDX-License-Identifier: Apache-2.0
// Width converter DMA stream -> datapath: beats of BEAT_BYTES bytes carrying K = BEAT_BYTES /
// EB little-endian elements of EB bytes (edgepool.accel.axis: element 0 in the low bytes,
// every frame zero-padded to whole beats) -> one element per beat. Frames are counted, not
// marked: s_axis_tlast / tkeep are ignored (the DMA's TLAST ends a transfer, which may hold
// several frames). A `start` pulse (only while !busy) grants one frame of BEATS beats; `taken`
// pulses when its last beat is accepted (HLS ap_ready: the input is consumed). The padding of
// a frame's last beat is dropped. II = 1 element per cycle; the next beat is accepted in the
// cycle the last element of the current one leaves.
`timescale 1ns / 1ps
module ep_axis_unpack #(
    parameter int BEAT_BYTES = 8,
    parameter int EB = 1,               // element container bytes (1, 2, 4, 8)
    parameter int N = 64                // elements per frame
) (
    input  logic                    clk,
    input  logic                    rst_n,
    input  logic [BEAT_BYTES*8-1:0] s_tdata,
    input  logic                    s_tvalid,
    output logic                    s_tready,
    output logic [          EB*8-1:0] m_tdata,
    output logic                    m_tvalid,
    input  logic                    m_tready,
    input  logic                    start,
    output logic                    busy,
    output logic                    taken
);
  localparam int K = BEAT_BYTES / EB;
  localparam int BEATS = (N + K - 1) / K;
  localparam int LAST_K = N - (BEATS - 1) * K;
  localparam int CW = $clog2(K + 1);
  localparam int BW = $clog2(BEATS + 1);

  logic [BEAT_BYTES*8-1:0] buf_q;
  logic full;
  logic [CW-1:0] idx;
  logic [CW-1:0] nvalid;
  logic [BW-1:0] beats_left;

  wire m_hs = full && m_tready;
  wire last_of_beat = (idx + CW'(1) == nvalid);
  assign m_tvalid = full;
  assign m_tdata = buf_q[idx*EB*8+:EB*8];
  assign s_tready = busy && (!full || (m_hs && last_of_beat));
  wire s_hs = s_tvalid && s_tready;
  assign taken = s_hs && (beats_left == BW'(1));

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      full <= 1'b0;
      busy <= 1'b0;
      idx <= '0;
      nvalid <= '0;
      beats_left <= '0;
      buf_q <= '0;
    end else begin
      if (start && !busy) begin
        busy <= 1'b1;
        beats_left <= BW'(BEATS);
      end
      if (s_hs) begin
        buf_q <= s_tdata;
        full <= 1'b1;
        idx <= '0;
        nvalid <= (beats_left == BW'(1)) ? CW'(LAST_K) : CW'(K);
        beats_left <= beats_left - BW'(1);
        if (beats_left == BW'(1)) busy <= 1'b0;
      end else if (m_hs) begin
        if (last_of_beat) full <= 1'b0;
        else idx <= idx + CW'(1);
      end
    end
  end
endmodule
