# SPDX-License-Identifier: Apache-2.0
"""Parts of the benches of the dataflow IP (``ep_accel``), driven only through its AXI ports:
the control driver (AXI4-Lite, the driver's register map), the DMA-side stream driver and
monitor (AXI4-Stream at the DMA width, frames in the :mod:`edgepool.accel.axis` format), an
interrupt monitor and the bench configuration."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from cocotb.handle import SimHandleBase
from cocotb.triggers import RisingEdge
from cocotbext.axi import (
    AxiLiteBus,
    AxiLiteMaster,
    AxiStreamBus,
    AxiStreamFrame,
    AxiStreamSink,
    AxiStreamSource,
)

from edgepool.accel import axis
from edgepool.accel import regmap as R
from eptb.parts import pause_generator


@dataclass
class AccelBenchConfig:
    """Configuration of ``ep_accel_tb`` (JSON in ``EP_TB_CONFIG``)."""

    program_pickle: str
    frames: list[list[int]]
    in_bits: int
    in_signed: bool
    out_bits: int
    out_signed: bool
    in_elems: int
    out_elems: int
    beat_bytes: int
    registers: dict
    result_path: str
    backpressure: float = 0.0
    input_gaps: float = 0.0
    seed: int = 0
    measure_frames: int = 4             # frames streamed without stalls for the II figures
    probes: dict[str, str] = field(default_factory=dict)
    timeout_cycles: int = 1_000_000

    @staticmethod
    def load(path: str | None = None) -> AccelBenchConfig:
        return AccelBenchConfig(**json.loads(Path(path or os.environ["EP_TB_CONFIG"])
                                             .read_text()))


@dataclass(frozen=True)
class CtrlStatus:
    """One read of CTRL, decoded with the register map's bit definitions."""

    start: bool
    done: bool
    idle: bool
    ready: bool
    auto_restart: bool

    @staticmethod
    def decode(v: int) -> CtrlStatus:
        return CtrlStatus(bool(v & R.AP_START), bool(v & R.AP_DONE), bool(v & R.AP_IDLE),
                          bool(v & R.AP_READY), bool(v & R.AP_AUTO_RESTART))


class ControlDriver:
    """The ap_ctrl_hs block through AXI4-Lite (cocotbext-axi ``AxiLiteMaster``), offsets from
    the register map the driver uses."""

    def __init__(self, dut: SimHandleBase, registers: dict):
        self.master = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "s_axi_control"), dut.ap_clk,
                                    dut.ap_rst_n, reset_active_level=False)
        self.off = {k: int(v["offset"]) for k, v in registers.items()}

    async def read(self, name: str) -> int:
        return await self.master.read_dword(self.off[name])

    async def write(self, name: str, value: int) -> None:
        await self.master.write_dword(self.off[name], value)

    async def status(self) -> CtrlStatus:
        """Read CTRL (clears ap_done / ap_ready, as on the board)."""
        return CtrlStatus.decode(await self.read("CTRL"))

    async def start(self, auto_restart: bool = False) -> None:
        await self.write("CTRL", R.AP_START | (R.AP_AUTO_RESTART if auto_restart else 0))


class DmaSource:
    """MM2S side: frames packed as the driver packs them (whole beats per frame), one
    ``AxiStreamFrame`` per DMA transfer (TLAST at its end), random input gaps."""

    def __init__(self, dut: SimHandleBase, cfg: AccelBenchConfig, gaps: float, seed: int):
        self.cfg = cfg
        self.source = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis"), dut.ap_clk,
                                      dut.ap_rst_n, reset_active_level=False)
        if gaps > 0:
            self.source.set_pause_generator(pause_generator(gaps, seed))

    def pack(self, frame: list[int]) -> bytes:
        return axis.pack(np.asarray(frame, np.int64), self.cfg.in_bits, self.cfg.in_signed,
                         self.cfg.beat_bytes)

    async def send(self, frames: list[list[int]]) -> None:
        """One DMA transfer of ``frames`` (queued; returns at once)."""
        await self.source.send(AxiStreamFrame(b"".join(self.pack(f) for f in frames)))

    def clear(self) -> None:
        """Drop queued data and stop the gaps (a paused source would stay paused)."""
        self.source.clear()
        self.source.set_pause_generator(None)
        self.source.pause = False


class DmaSink:
    """S2MM side: one frame per TLAST, decoded with the driver's unpacking, random
    back-pressure. Checks every beat keeps all bytes (the frame is whole beats)."""

    def __init__(self, dut: SimHandleBase, cfg: AccelBenchConfig, backpressure: float,
                 seed: int):
        self.cfg = cfg
        self.sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis"), dut.ap_clk,
                                  dut.ap_rst_n, reset_active_level=False)
        if backpressure > 0:
            self.sink.set_pause_generator(pause_generator(backpressure, seed + 1))
        cb = axis.container_bits(cfg.out_bits) // 8
        self.frame_bytes = -(-cfg.out_elems * cb // cfg.beat_bytes) * cfg.beat_bytes

    async def recv(self) -> list[int]:
        frame = await self.sink.recv()
        data = bytes(frame.tdata)
        if len(data) != self.frame_bytes:
            raise AssertionError(f"output frame of {len(data)} bytes, the driver expects "
                                 f"{self.frame_bytes} (TLAST misplaced, beats lost or extra)")
        if frame.tkeep is not None and not all(frame.tkeep):
            raise AssertionError("an output beat does not keep every byte")
        return axis.unpack(data, self.cfg.out_elems, self.cfg.out_bits,
                           self.cfg.out_signed).tolist()

    def empty(self) -> bool:
        return self.sink.empty()

    def clear(self) -> None:
        """Drop received data and stop the back-pressure (a paused sink would stay paused)."""
        self.sink.clear()
        self.sink.set_pause_generator(None)
        self.sink.pause = False


class InterruptMonitor:
    """Counts rising edges of the ``interrupt`` pin."""

    def __init__(self, dut: SimHandleBase):
        self.dut = dut
        self.rises = 0

    async def run(self) -> None:
        prev = 0
        while True:
            await RisingEdge(self.dut.ap_clk)
            v = int(self.dut.interrupt.value)
            if v and not prev:
                self.rises += 1
            prev = v
