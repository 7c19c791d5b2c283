# SPDX-License-Identifier: Apache-2.0
"""cocotb benches of the dataflow IP ``ep_accel`` through its AXI ports only: AXI4-Lite
control (ap_ctrl_hs, the driver's register map), AXI4-Stream at the DMA width with random
input gaps and output back-pressure, the interrupt pin. Every output frame is checked against
the golden model (``edgepool.accel.program.run_reference``). Configured by ``EP_TB_CONFIG``
(:class:`eptb.axi.AccelBenchConfig`); each test starts with its own reset."""

from __future__ import annotations

import json
import os

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge, with_timeout
from eptb.axi import AccelBenchConfig, ControlDriver, DmaSink, DmaSource, InterruptMonitor
from eptb.parts import Checker, GoldenModel, HandshakeProbe

from edgepool.accel import regmap as R


class Bench:
    """The parts of one test, wired to the DUT after a reset."""

    def __init__(self, dut, cfg: AccelBenchConfig, gaps: float, bp: float, seed: int):
        self.dut, self.cfg = dut, cfg
        self.ctrl = ControlDriver(dut, cfg.registers)
        self.src = DmaSource(dut, cfg, gaps, seed)
        self.sink = DmaSink(dut, cfg, bp, seed)
        self.model = GoldenModel(cfg.program_pickle)
        self.checker = Checker(cfg.out_elems)
        self.irq = InterruptMonitor(dut)
        self.probe = HandshakeProbe(dut, cfg.probes, "ap_clk", "ap_rst_n") if cfg.probes else None
        self.budget = cfg.timeout_cycles * 10

    @staticmethod
    async def create(dut, gaps: float = 0.0, bp: float = 0.0, seed: int | None = None
                     ) -> Bench:
        cfg = AccelBenchConfig.load()
        # tasks of a test end with it (cocotb 2): every test starts its own clock
        cocotb.start_soon(Clock(dut.ap_clk, 10, unit="ns").start())
        b = Bench(dut, cfg, gaps, bp, cfg.seed if seed is None else seed)
        await b.reset()
        cocotb.start_soon(b.irq.run())
        if b.probe is not None:
            cocotb.start_soon(b.probe.run())
        return b

    async def reset(self) -> None:
        self.dut.ap_rst_n.value = 0
        await ClockCycles(self.dut.ap_clk, 4)
        self.dut.ap_rst_n.value = 1
        await RisingEdge(self.dut.ap_clk)

    def expect(self, idx: list[int]) -> None:
        for i in idx:
            self.checker.expect(self.model(self.cfg.frames[i]))

    async def receive(self, n: int, into: list | None = None) -> None:
        for _ in range(n):
            got = await self.sink.recv()
            self.checker.check(got)
            if into is not None:
                into.append(got)

    async def wait_irq(self, rises: int) -> None:
        while self.irq.rises < rises:
            await RisingEdge(self.dut.ap_clk)


def _frames(cfg: AccelBenchConfig, n: int, offset: int = 0) -> list[int]:
    return [(offset + i) % len(cfg.frames) for i in range(n)]


def _save(key: str, value) -> None:
    cfg = AccelBenchConfig.load()
    path = cfg.result_path
    res = json.loads(open(path).read()) if os.path.exists(path) else {}
    res[key] = value
    with open(path, "w") as f:
        json.dump(res, f)


@cocotb.test()
async def registers_after_reset_and_no_run_without_start(dut) -> None:
    """Reset values, GIER / IER read back, ISR toggle-on-write cannot set a bit, and a frame
    on the stream is not consumed before ap_start."""
    b = await Bench.create(dut)
    st = await b.ctrl.status()
    assert st.idle and not (st.start or st.done or st.ready or st.auto_restart), st
    for name in ("GIER", "IP_IER", "IP_ISR"):
        assert await b.ctrl.read(name) == 0, name
    await b.ctrl.write("GIER", R.GIE)
    await b.ctrl.write("IP_IER", R.IRQ_AP_DONE | R.IRQ_AP_READY)
    assert await b.ctrl.read("GIER") == R.GIE
    assert await b.ctrl.read("IP_IER") == R.IRQ_AP_DONE | R.IRQ_AP_READY
    await b.ctrl.write("IP_ISR", R.IRQ_AP_DONE)      # toggle of a clear bit: no event, set...
    assert await b.ctrl.read("IP_ISR") == R.IRQ_AP_DONE
    assert int(dut.interrupt.value) == 1             # ...and the pin follows ISR & GIE
    await b.ctrl.write("IP_ISR", R.IRQ_AP_DONE)      # toggle back
    assert await b.ctrl.read("IP_ISR") == 0 and int(dut.interrupt.value) == 0
    await b.src.send([b.cfg.frames[0]])
    await ClockCycles(dut.ap_clk, 200)
    assert int(dut.s_axis_tready.value) == 0, "the IP consumed input before ap_start"
    assert b.sink.empty()
    st = await b.ctrl.status()
    assert st.idle and not st.done
    b.expect([0])
    await b.ctrl.start()                             # now the queued frame runs
    await with_timeout(b.receive(1), b.budget, "ns")
    b.src.clear()


@cocotb.test()
async def single_frames_with_interrupts(dut) -> None:
    """ap_start without auto-restart runs exactly one frame; ap_done / ap_ready raise the
    interrupt through IER / GIE, ISR toggle-on-write clears it, CTRL's done is clear-on-read,
    ap_start falls at ap_ready, ap_idle returns at the end."""
    b = await Bench.create(dut, gaps=0.3, bp=0.3)
    await b.ctrl.write("GIER", R.GIE)
    await b.ctrl.write("IP_IER", R.IRQ_AP_DONE)
    idx = _frames(b.cfg, 3)
    for k, i in enumerate(idx):
        b.expect([i])
        await b.src.send([b.cfg.frames[i]])
        await b.ctrl.start()
        await with_timeout(b.wait_irq(k + 1), b.budget, "ns")
        assert await b.ctrl.read("IP_ISR") == R.IRQ_AP_DONE      # ap_ready not enabled
        st = await b.ctrl.status()
        assert st.done and st.idle and not st.start, st
        assert not (await b.ctrl.status()).done, "ap_done is clear-on-read"
        await b.ctrl.write("IP_ISR", R.IRQ_AP_DONE)
        assert await b.ctrl.read("IP_ISR") == 0 and int(dut.interrupt.value) == 0
        await with_timeout(b.receive(1), b.budget, "ns")
    # with GIE off the pin stays low although ISR records the event
    await b.ctrl.write("GIER", 0)
    await b.ctrl.write("IP_IER", R.IRQ_AP_DONE | R.IRQ_AP_READY)
    b.expect([idx[0]])
    await b.src.send([b.cfg.frames[idx[0]]])
    await b.ctrl.start()
    await with_timeout(b.receive(1), b.budget, "ns")
    await ClockCycles(dut.ap_clk, 4)
    assert await b.ctrl.read("IP_ISR") == R.IRQ_AP_DONE | R.IRQ_AP_READY
    assert int(dut.interrupt.value) == 0 and b.irq.rises == len(idx)
    await ClockCycles(dut.ap_clk, 50)
    assert b.sink.empty() and int(dut.s_axis_tready.value) == 0


@cocotb.test()
async def frame_started_while_the_previous_drains(dut) -> None:
    """Without auto-restart: the second ap_start is written as soon as ap_ready says the first
    frame's input is consumed, while that frame is still in the datapath (not done, not idle);
    both frames come out right and in order."""
    b = await Bench.create(dut, gaps=0.2, bp=0.2)
    i0, i1 = _frames(b.cfg, 2, 1)
    b.expect([i0, i1])
    rx = cocotb.start_soon(b.receive(2))
    await b.src.send([b.cfg.frames[i0], b.cfg.frames[i1]])   # one DMA transfer, two frames
    await b.ctrl.start()
    while True:
        st = await b.ctrl.status()
        if st.ready:
            break
    assert not st.start, "ap_start must fall at ap_ready without auto-restart"
    assert not st.done and not st.idle, "frame 0 should still be draining"
    await b.ctrl.start()
    st = await b.ctrl.status()
    assert not st.idle
    await with_timeout(rx, b.budget, "ns")
    assert b.checker.frames_checked == 2


@cocotb.test()
async def streaming_auto_restart_with_register_reads(dut) -> None:
    """auto_restart: every frame of one long DMA transfer runs back to back under random gaps
    and back-pressure, while the host keeps reading CTRL (never idle during the run, idle
    after); ISR counts ap_done."""
    cfg = AccelBenchConfig.load()
    b = await Bench.create(dut, gaps=cfg.input_gaps, bp=cfg.backpressure)
    idx = list(range(len(cfg.frames)))
    b.expect(idx)
    outputs: list[list[int]] = []
    rx = cocotb.start_soon(b.receive(len(idx), outputs))
    await b.ctrl.write("IP_IER", R.IRQ_AP_DONE)
    await b.ctrl.start(auto_restart=True)
    await b.src.send([cfg.frames[i] for i in idx])
    reads = busy = 0
    while not rx.done():
        st = await b.ctrl.status()
        reads += 1
        busy += not st.idle
        assert st.auto_restart and st.start, st
        await ClockCycles(dut.ap_clk, 37)
    await rx
    # stopping, as with the HLS block: clearing auto_restart leaves the start already granted
    # waiting for its input; one more frame completes it and the IP goes idle
    await b.ctrl.write("CTRL", 0)
    await ClockCycles(dut.ap_clk, 20)
    st = await b.ctrl.status()
    assert not st.idle and not st.auto_restart, st
    b.expect([idx[0]])
    await b.src.send([cfg.frames[idx[0]]])
    await with_timeout(b.receive(1, outputs), b.budget, "ns")
    outputs.pop()
    await ClockCycles(dut.ap_clk, 20)
    st = await b.ctrl.status()
    assert st.idle and not st.start and not st.auto_restart, st
    assert await b.ctrl.read("IP_ISR") == R.IRQ_AP_DONE
    assert busy > 0 and b.sink.empty()
    assert b.checker.frames_checked == len(idx) + 1
    _save("outputs", outputs)
    _save("frames", idx)
    _save("ctrl_reads_during_run", reads)


@cocotb.test()
async def reset_in_the_middle_of_a_frame(dut) -> None:
    """A reset while a frame is half in: registers return to reset values, nothing of the cut
    frame comes out, and the next frames are right."""
    b = await Bench.create(dut, gaps=0.2, bp=0.2)
    i0, i1, i2 = _frames(b.cfg, 3, 2)
    b.expect([i0])
    await b.ctrl.write("GIER", R.GIE)
    await b.ctrl.write("IP_IER", R.IRQ_AP_DONE)
    await b.ctrl.start(auto_restart=True)
    await b.src.send([b.cfg.frames[i0]])
    await with_timeout(b.receive(1), b.budget, "ns")
    await b.src.send([b.cfg.frames[i1]])
    # wait until part of frame i1 is in, then reset
    n_beats = -(-len(b.src.pack(b.cfg.frames[i1])) // b.cfg.beat_bytes)
    taken = 0
    while taken < max(1, n_beats // 2):
        await RisingEdge(dut.ap_clk)
        taken += int(dut.s_axis_tvalid.value) & int(dut.s_axis_tready.value)
    b.src.clear()
    await b.reset()
    b.sink.clear()
    st = await b.ctrl.status()
    assert st.idle and not (st.start or st.auto_restart or st.done), st
    assert await b.ctrl.read("GIER") == 0 and await b.ctrl.read("IP_ISR") == 0
    b.expect([i2, i0])
    rx = cocotb.start_soon(b.receive(2))
    await b.ctrl.start(auto_restart=True)
    await b.src.send([b.cfg.frames[i2], b.cfg.frames[i0]])
    await with_timeout(rx, b.budget, "ns")
    await ClockCycles(dut.ap_clk, 50)
    assert b.sink.empty() and b.checker.frames_checked == 3


@cocotb.test()
async def throughput_without_stalls(dut) -> None:
    """auto_restart, no gaps or back-pressure: the element handshakes at the datapath's input
    and output and the TLAST beats, for II and cycles per frame (results.json)."""
    cfg = AccelBenchConfig.load()
    b = await Bench.create(dut)
    idx = _frames(cfg, cfg.measure_frames)
    b.expect(idx)
    rx = cocotb.start_soon(b.receive(len(idx)))
    await b.ctrl.start(auto_restart=True)
    await b.src.send([cfg.frames[i] for i in idx])
    await with_timeout(rx, b.budget, "ns")
    _save("handshakes", b.probe.cycles if b.probe else {})
