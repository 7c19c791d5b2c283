// SPDX-License-Identifier: Apache-2.0
// Simple dual-port RAM: one write port, one REGISTERED read port (maps to BRAM / LUTRAM).
`timescale 1ns / 1ps
module ep_ram_sdp #(
    parameter int DW    = 8,
    parameter int DEPTH = 16,
    parameter int AW    = 4
) (
    input  logic          clk,
    input  logic          we,
    input  logic [AW-1:0] waddr,
    input  logic [DW-1:0] wdata,
    input  logic          re,
    input  logic [AW-1:0] raddr,
    output logic [DW-1:0] rdata
);
  logic [DW-1:0] mem[0:DEPTH-1];

  always_ff @(posedge clk) begin
    if (we) mem[waddr] <= wdata;
  end

  always_ff @(posedge clk) begin
    if (re) rdata <= mem[raddr];
  end
endmodule
