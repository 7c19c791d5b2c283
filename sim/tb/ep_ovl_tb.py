# SPDX-License-Identifier: Apache-2.0
"""cocotb bench of the RTL overlay IP (``ep_ovl_top`` under a generated top), through its real
interfaces only: cocotbext-axi ``AxiLiteMaster`` on ``s_axi_control`` (the driver's register map)
and ``AxiRam`` on ``m_axi_gmem`` as the DDR (128-bit = the Ultra96 HP port's 16 B/cycle; a
configurable extra read latency and random stalls on every channel), plus an ``AxiRamRead`` on
the same memory for each extra weight-streaming port ``m_axi_gmem1..`` (``w_ports`` > 1).
Configured by the JSON in ``EP_TB_CONFIG`` (written by :mod:`edgepool.runtime.rtl_overlay_sim`):

* ``regions``: [byte address, file] images loaded into the DDR (descriptors, weights, biases);
* ``args``: register name -> value (pointers are byte addresses);
* ``frames``: per frame the input bytes (file) to write at ``in_addr`` and how many bytes of
  output to read back at ``out_addr``; results (output hex, cycles, ap_return, interrupt,
  register reads while busy) go to ``result_path``;
* ``scenario``: ``frames`` (back to back) or ``reset`` (reset in the middle of the first frame,
  then every frame again). (Auto-restart is not exercised: an overlay run overwrites its own
  input region when the program has an even number of layers, as the HLS overlay does.)
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge
from cocotbext.axi import AxiBus, AxiLiteBus, AxiLiteMaster, AxiRam, AxiReadBus
from cocotbext.axi.axi_ram import AxiRamRead

AP_START, AP_DONE, AP_IDLE = 1, 2, 4


def _pause(prob: float, seed: int):
    rng = random.Random(seed)
    while True:
        yield rng.random() < prob


def _delay_reads(rd: AxiRamRead, latency: int) -> None:
    """Make ``rd``'s read data of a non-sequential access start ``latency`` cycles late (a
    DDR's first-beat latency; a burst that continues the previous one streams on)."""
    orig = rd._read
    last = [-1]
    rd.log.setLevel("WARNING")

    async def delayed(address, length, _orig=orig):
        if latency and address != last[0] + length:
            await ClockCycles(rd.clock, latency)
        last[0] = address
        return await _orig(address, length)

    rd._read = delayed


class LatencyRam(AxiRam):
    """``AxiRam`` whose read data of a non-sequential access starts ``latency`` cycles late;
    the bus width caps the bandwidth at DW/8 bytes per cycle."""

    def __init__(self, *a, latency: int = 0, **kw):
        super().__init__(*a, **kw)
        self.latency = latency
        self.write_if.log.setLevel("WARNING")
        _delay_reads(self.read_if, latency)


class Bench:
    def __init__(self, dut, cfg: dict):
        self.dut = dut
        self.cfg = cfg
        self.regs = cfg["registers"]
        self.axil = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "s_axi_control"), dut.ap_clk,
                                  dut.ap_rst_n, reset_active_level=False)
        self.ram = LatencyRam(AxiBus.from_prefix(dut, "m_axi_gmem"), dut.ap_clk, dut.ap_rst_n,
                              reset_active_level=False, size=cfg["mem_size"],
                              latency=cfg.get("latency", 0))
        # the weight-streaming read ports: the same memory, their own latency and stalls
        self.wports = []
        for k in range(1, cfg.get("w_ports", 1)):
            rd = AxiRamRead(AxiReadBus.from_prefix(dut, f"m_axi_gmem{k}"), dut.ap_clk,
                            dut.ap_rst_n, reset_active_level=False, size=cfg["mem_size"],
                            mem=self.ram.mem)
            _delay_reads(rd, cfg.get("latency", 0))
            self.wports.append(rd)
        p = cfg.get("stall", 0.0)
        if p:
            chans = [self.ram.write_if.aw_channel, self.ram.write_if.w_channel,
                     self.ram.write_if.b_channel, self.ram.read_if.ar_channel,
                     self.ram.read_if.r_channel]
            for rd in self.wports:
                chans += [rd.ar_channel, rd.r_channel]
            for i, ch in enumerate(chans):
                ch.set_pause_generator(_pause(p, cfg.get("seed", 0) + i))
        self.cycle = 0

    async def count(self) -> None:
        while True:
            await RisingEdge(self.dut.ap_clk)
            self.cycle += 1

    async def reset(self) -> None:
        self.dut.ap_rst_n.value = 0
        await ClockCycles(self.dut.ap_clk, 8)
        self.dut.ap_rst_n.value = 1
        await ClockCycles(self.dut.ap_clk, 2)

    async def rd(self, name: str) -> int:
        return int.from_bytes((await self.axil.read(self.regs[name]["offset"], 4)).data,
                              "little")

    async def wr(self, name: str, value: int) -> None:
        await self.axil.write(self.regs[name]["offset"], int(value).to_bytes(4, "little"))

    async def program_args(self) -> None:
        for name, v in self.cfg["args"].items():
            bits = self.regs[name]["bits"]
            await self.wr(name, v & 0xFFFFFFFF)
            if bits == 64:
                await self.axil.write(self.regs[name]["offset"] + 4,
                                      (v >> 32).to_bytes(4, "little"))
        await self.wr("GIER", 1)
        await self.wr("IP_IER", 1)           # ap_done interrupt

    async def run_frame(self, f: dict, start: bool = True) -> dict:
        self.ram.write(f["in_addr"], Path(f["input"]).read_bytes())
        t0 = self.cycle
        if start:
            await self.wr("CTRL", AP_START)
        busy_reads = irq = 0
        while True:
            v = await self.rd("CTRL")
            if v & AP_DONE:
                break
            if not v & AP_IDLE:
                busy_reads += 1
            if self.cycle - t0 > self.cfg["timeout_cycles"]:
                raise TimeoutError(f"no ap_done after {self.cycle - t0} cycles")
            await ClockCycles(self.dut.ap_clk, self.cfg.get("poll_cycles", 200))
        cycles = self.cycle - t0
        irq = int(self.dut.interrupt.value)
        ret = await self.rd("ap_return")
        await self.wr("IP_ISR", 1)           # acknowledge
        irq_after = int(self.dut.interrupt.value)
        out = self.ram.read(f["out_addr"], f["out_len"])
        return {"output": out.hex(), "cycles": cycles, "ret": ret, "irq": irq,
                "irq_after_ack": irq_after, "busy_reads": busy_reads}


@cocotb.test()
async def run_overlay(dut):
    """Run the configured scenario (see the module docstring)."""
    cfg = json.loads(Path(os.environ["EP_TB_CONFIG"]).read_text())
    cocotb.start_soon(Clock(dut.ap_clk, 4, unit="ns").start())
    b = Bench(dut, cfg)
    cocotb.start_soon(b.count())
    for addr, path in cfg["regions"]:
        b.ram.write(addr, Path(path).read_bytes())
    await b.reset()
    await b.program_args()
    results = []
    scenario = cfg.get("scenario", "frames")
    if scenario == "reset":
        f = cfg["frames"][0]
        b.ram.write(f["in_addr"], Path(f["input"]).read_bytes())
        await b.wr("CTRL", AP_START)
        await ClockCycles(dut.ap_clk, cfg.get("reset_after", 500))
        busy = not (await b.rd("CTRL")) & AP_IDLE
        await b.reset()
        idle_after = bool((await b.rd("CTRL")) & AP_IDLE)
        for addr, path in cfg["regions"]:           # the aborted run may have written
            b.ram.write(addr, Path(path).read_bytes())
        await b.program_args()
        results.append({"busy_before_reset": busy, "idle_after_reset": idle_after})
    for f in cfg["frames"]:
        results.append(await b.run_frame(f))
    Path(cfg["result_path"]).write_text(json.dumps(results))
