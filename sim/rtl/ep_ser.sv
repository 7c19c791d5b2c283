// SPDX-License-Identifier: Apache-2.0
// Width converter: one beat of N lanes (lane 0 first) -> N / M beats of M lanes (M | N).
// N == M is a wire. Otherwise N / M output beats per input beat, no bubble between input beats.
`timescale 1ns / 1ps
module ep_ser #(
    parameter int DW = 8,
    parameter int N  = 1,
    parameter int M  = 1
) (
    input  logic            clk,
    input  logic            rst_n,
    input  logic [N*DW-1:0] s_tdata,
    input  logic            s_tlast,
    input  logic            s_tvalid,
    output logic            s_tready,
    output logic [M*DW-1:0] m_tdata,
    output logic            m_tlast,
    output logic            m_tvalid,
    input  logic            m_tready
);
  generate
    if (N == M) begin : g_wire
      assign m_tdata  = s_tdata;
      assign m_tlast  = s_tlast;
      assign m_tvalid = s_tvalid;
      assign s_tready = m_tready;
      wire unused_clk = clk ^ rst_n;
    end else begin : g_ser
      localparam int NB = N / M;
      localparam int IW = NB > 1 ? $clog2(NB) : 1;
      logic [N*DW-1:0] buf_q;
      logic            last_q;
      logic            busy;
      logic [  IW-1:0] idx;
      wire             at_end = (idx == IW'(NB - 1));

      assign m_tvalid = busy;
      assign m_tdata  = buf_q[idx*M*DW+:M*DW];
      assign m_tlast  = last_q && at_end;
      assign s_tready = !busy || (at_end && m_tready);

      always_ff @(posedge clk) begin
        if (!rst_n) begin
          busy <= 1'b0;
          idx  <= '0;
        end else if (s_tvalid && s_tready) begin
          busy <= 1'b1;
          idx  <= '0;
        end else if (busy && m_tready) begin
          if (at_end) busy <= 1'b0;
          else idx <= idx + 1'b1;
        end
      end

      always_ff @(posedge clk) begin
        if (s_tvalid && s_tready) begin
          buf_q  <= s_tdata;
          last_q <= s_tlast;
        end
      end
    end
  endgenerate
endmodule
