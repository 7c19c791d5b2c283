# SPDX-License-Identifier: Apache-2.0
"""The simulated accelerator IP as a server: the simulated PYNQ device
(:class:`edgepool.runtime.simdevice.SimDevice` with the ``rtl`` model) connects over a loopback
TCP socket and every MMIO access of the driver becomes an AXI4-Lite transaction here, every DMA
transfer an AXI4-Stream frame. Simulated time advances only while a request is served (the host
is infinitely fast between requests), so a run is deterministic.

Protocol: one JSON object per line each way. Requests ``{"op": ...}``:
``write`` (off, value), ``read`` (off) -> value, ``send`` (hex: bytes of one MM2S transfer,
queued), ``recv`` (cycles: wait at most that long) -> hex of one S2MM frame or null,
``idle`` -> whether the MM2S side has sent everything, ``irq`` -> the interrupt pin,
``cycles`` -> clock cycles so far, ``quit``. Configured by ``EP_TB_CONFIG``
(port, beat_bytes)."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge
from cocotbext.axi import (
    AxiLiteBus,
    AxiLiteMaster,
    AxiStreamBus,
    AxiStreamFrame,
    AxiStreamSink,
    AxiStreamSource,
)


class Server:
    """Serves the requests of one client connection (blocking reads: simulated time stands
    still while the host thinks)."""

    def __init__(self, dut, port: int):
        self.dut = dut
        self.axil = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "s_axi_control"), dut.ap_clk,
                                  dut.ap_rst_n, reset_active_level=False)
        self.source = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis"), dut.ap_clk,
                                      dut.ap_rst_n, reset_active_level=False)
        self.sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis"), dut.ap_clk,
                                  dut.ap_rst_n, reset_active_level=False)
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=120)
        self.sock.settimeout(None)
        self.rfile = self.sock.makefile("r")
        self.wfile = self.sock.makefile("w")
        self.cycle = 0

    async def count(self) -> None:
        while True:
            await RisingEdge(self.dut.ap_clk)
            self.cycle += 1

    def reply(self, obj: dict) -> None:
        self.wfile.write(json.dumps(obj) + "\n")
        self.wfile.flush()

    async def recv_frame(self, cycles: int) -> bytes | None:
        waited = 0
        while self.sink.empty() and waited < cycles:
            await RisingEdge(self.dut.ap_clk)
            waited += 1
        if self.sink.empty():
            return None
        return bytes((self.sink.recv_nowait()).tdata)

    async def serve(self) -> None:
        while True:
            line = self.rfile.readline()
            if not line:
                return
            req = json.loads(line)
            op = req["op"]
            if op == "write":
                await self.axil.write_dword(int(req["off"]), int(req["value"]))
                self.reply({"ok": True})
            elif op == "read":
                self.reply({"value": int(await self.axil.read_dword(int(req["off"])))})
            elif op == "send":
                await self.source.send(AxiStreamFrame(bytes.fromhex(req["hex"])))
                self.reply({"ok": True})
            elif op == "recv":
                data = await self.recv_frame(int(req["cycles"]))
                self.reply({"hex": None if data is None else data.hex()})
            elif op == "idle":
                await ClockCycles(self.dut.ap_clk, 1)
                self.reply({"idle": bool(self.source.empty() and not self.source.active)})
            elif op == "irq":
                self.reply({"value": int(self.dut.interrupt.value)})
            elif op == "cycles":
                self.reply({"value": self.cycle})
            elif op == "quit":
                self.reply({"ok": True})
                return
            else:
                self.reply({"error": f"unknown op {op!r}"})


@cocotb.test()
async def serve(dut) -> None:
    """Reset, then serve the simulated device until it says quit (or disconnects)."""
    cfg = json.loads(Path(os.environ["EP_TB_CONFIG"]).read_text())
    cocotb.start_soon(Clock(dut.ap_clk, 10, unit="ns").start())
    dut.ap_rst_n.value = 0
    await ClockCycles(dut.ap_clk, 4)
    dut.ap_rst_n.value = 1
    await RisingEdge(dut.ap_clk)
    srv = Server(dut, int(cfg["port"]))
    cocotb.start_soon(srv.count())
    try:
        await srv.serve()
    finally:
        srv.sock.close()
