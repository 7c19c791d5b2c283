// SPDX-License-Identifier: Apache-2.0
// ROM initialised by $readmemh(FILE), registered read with enable (maps to BRAM / LUTRAM).
`timescale 1ns / 1ps
module ep_rom #(
    parameter int DW    = 8,
    parameter int DEPTH = 16,
    parameter int AW    = 4,
    parameter     FILE  = "rom.hex"
) (
    input  logic          clk,
    input  logic          en,
    input  logic [AW-1:0] addr,
    output logic [DW-1:0] data
);
  logic [DW-1:0] mem[0:DEPTH-1];

  initial $readmemh(FILE, mem);

  always_ff @(posedge clk) begin
    if (en) data <= mem[addr];
  end
endmodule
