# SPDX-License-Identifier: Apache-2.0
"""cocotb bench of a generated ``ep_top``: frames back to back through the whole chain, every
output beat checked against the golden model, random input gaps and output back-pressure, an
optional reset in the middle of a frame. Configured by ``EP_TB_CONFIG`` (see eptb.config)."""

from __future__ import annotations

import json

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge, with_timeout
from eptb.config import BenchConfig
from eptb.parts import Checker, FrameDriver, FrameMonitor, GoldenModel, HandshakeProbe


@cocotb.test()
async def stream_bench(dut) -> None:
    """Drive all frames, check every output, record handshake cycles."""
    cfg = BenchConfig.load()
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    driver = FrameDriver(dut, cfg.in_bits, cfg.in_signed, cfg.input_gaps, cfg.seed)
    monitor = FrameMonitor(dut, cfg.out_bits, cfg.out_signed, cfg.backpressure, cfg.seed)
    model = GoldenModel(cfg.program_pickle)
    checker = Checker(cfg.out_elems)
    probe = HandshakeProbe(dut, cfg.probes)

    dut.rst_n.value = 0
    await ClockCycles(dut.clk, 4)
    dut.rst_n.value = 1
    await RisingEdge(dut.clk)
    cocotb.start_soon(probe.run())
    outputs: list[list[int]] = []
    checked_frames: list[int] = []

    async def receive(n: int) -> None:
        for _ in range(n):
            got = await monitor.recv()
            checker.check(got)
            outputs.append(got)

    budget = cfg.timeout_cycles * 10
    start = probe.cycle
    if cfg.reset_frame >= 0:
        # frames before the interrupted one, then half of it, then a reset
        for i in range(cfg.reset_frame):
            checker.expect(model(cfg.frames[i]) if cfg.check_values else None)
            await driver.send(cfg.frames[i])
        await with_timeout(receive(cfg.reset_frame), budget, "ns")
        checked_frames += list(range(cfg.reset_frame))
        cut = cfg.frames[cfg.reset_frame]
        await driver.send(cut)
        await ClockCycles(dut.clk, max(2, len(cut) // 2))
        dut.rst_n.value = 0
        await ClockCycles(dut.clk, 3)
        dut.rst_n.value = 1
        await RisingEdge(dut.clk)
        monitor.sink.clear()
        probe.clear()
        start = probe.cycle
        rest = list(range(cfg.reset_frame + 1, len(cfg.frames)))
    else:
        rest = list(range(len(cfg.frames)))

    for i in rest:
        checker.expect(model(cfg.frames[i]) if cfg.check_values else None)
    rx = cocotb.start_soon(receive(len(rest)))
    for i in rest:
        await driver.send(cfg.frames[i])
    await with_timeout(rx, budget, "ns")
    checked_frames += rest
    await ClockCycles(dut.clk, 20)
    assert monitor.empty(), "the DUT produced beats after the last expected frame"
    assert checker.frames_checked == len(checked_frames)
    assert checker.beats_checked == len(checked_frames) * cfg.out_elems
    dut._log.info("checked %d frames, %d beats", checker.frames_checked, checker.beats_checked)
    with open(cfg.result_path, "w") as f:
        json.dump({"outputs": outputs, "frames": checked_frames,
                   "beats_checked": checker.beats_checked, "start_cycle": start,
                   "end_cycle": probe.cycle, "handshakes": probe.cycles}, f)
