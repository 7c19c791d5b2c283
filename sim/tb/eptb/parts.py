# SPDX-License-Identifier: Apache-2.0
"""Driver, monitor, model, checker and handshake probe of the stream benches."""

from __future__ import annotations

import pickle
import random
from collections.abc import Iterator

import numpy as np
from cocotb.handle import SimHandleBase
from cocotb.triggers import ReadOnly, RisingEdge
from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource

from edgepool.accel import axis
from edgepool.accel.program import HwProgram, run_reference


def pause_generator(prob: float, seed: int) -> Iterator[bool]:
    """Endless random pauses: True (idle this cycle) with probability ``prob``."""
    rng = random.Random(seed)
    while True:
        yield rng.random() < prob


class FrameDriver:
    """Sends frames of elements on ``s_axis`` (cocotbext-axi source), with random input gaps."""

    def __init__(self, dut: SimHandleBase, bits: int, signed: bool, gaps: float, seed: int):
        self.bits, self.signed = bits, signed
        self.source = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis"), dut.clk,
                                      dut.rst_n, reset_active_level=False)
        if gaps > 0:
            self.source.set_pause_generator(pause_generator(gaps, seed))

    async def send(self, elements: list[int]) -> None:
        data = axis.pack(np.asarray(elements, dtype=np.int64), self.bits, self.signed)
        await self.source.send(AxiStreamFrame(data))


class FrameMonitor:
    """Receives frames on ``m_axis`` (cocotbext-axi sink, frames end at TLAST), with random
    back-pressure."""

    def __init__(self, dut: SimHandleBase, bits: int, signed: bool, backpressure: float,
                 seed: int):
        self.bits, self.signed = bits, signed
        self.container_bytes = axis.container_bits(bits) // 8
        self.sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis"), dut.clk, dut.rst_n,
                                  reset_active_level=False)
        if backpressure > 0:
            self.sink.set_pause_generator(pause_generator(backpressure, seed + 1))

    async def recv(self) -> list[int]:
        """One frame as elements (the exact beat count is checked by the checker)."""
        frame = await self.sink.recv()
        data = bytes(frame.tdata)
        if len(data) % self.container_bytes:
            raise AssertionError(f"frame of {len(data)} bytes is not whole beats")
        n = len(data) // self.container_bytes
        return axis.unpack(data, n, self.bits, self.signed).tolist()

    def empty(self) -> bool:
        return self.sink.empty()


class GoldenModel:
    """Expected output stream of a frame: :func:`edgepool.accel.program.run_reference`."""

    def __init__(self, program_pickle: str):
        with open(program_pickle, "rb") as f:
            self.program: HwProgram = pickle.load(f)

    def __call__(self, elements: list[int]) -> list[int]:
        x = np.asarray(elements, dtype=np.int64).reshape(self.program.in_shape)
        return np.asarray(run_reference(self.program, x), dtype=np.int64).ravel().tolist()


class Checker:
    """Scoreboard: compares every output element (beat) exactly, counts beats and frames."""

    def __init__(self, out_elems: int):
        self.out_elems = out_elems
        self.expected: list[list[int]] = []
        self.beats_checked = 0
        self.frames_checked = 0

    def expect(self, values: list[int] | None) -> None:
        """Queue the next frame's expected elements; ``None``: only its beat count is checked."""
        if values is not None and len(values) != self.out_elems:
            raise AssertionError(f"model produced {len(values)} elements, not {self.out_elems}")
        self.expected.append(values)

    def drop_expected(self) -> None:
        """Forget every pending expectation (their frames were cut by a reset)."""
        self.expected.clear()

    def check(self, got: list[int]) -> None:
        if not self.expected:
            raise AssertionError(f"unexpected extra frame of {len(got)} beats")
        want = self.expected.pop(0)
        n_want = self.out_elems if want is None else len(want)
        if len(got) != n_want:
            raise AssertionError(f"frame {self.frames_checked}: {len(got)} beats, "
                                 f"expected {n_want} (lost or duplicated beats)")
        if want is None:
            self.beats_checked += len(got)
            self.frames_checked += 1
            return
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            if g != w:
                raise AssertionError(f"frame {self.frames_checked} beat {i}: got {g}, "
                                     f"expected {w}")
        self.beats_checked += len(got)
        self.frames_checked += 1


class HandshakeProbe:
    """Records the clock cycle of every handshake on named 1-bit ``*_hs`` signals."""

    def __init__(self, dut: SimHandleBase, probes: dict[str, str], clk: str = "clk",
                 rst: str = "rst_n"):
        self.dut = dut
        self.clk = getattr(dut, clk)
        self.handles = {}
        for name, path in probes.items():
            h = dut
            for part in path.split("."):
                h = getattr(h, part)
            self.handles[name] = h
        self.cycles: dict[str, list[int]] = {n: [] for n in probes}
        self.cycle = 0
        self.rst = getattr(dut, rst)

    def clear(self) -> None:
        for v in self.cycles.values():
            v.clear()

    async def run(self) -> None:
        """Sample after every rising edge (ReadOnly): a 1 means a handshake at the next edge."""
        while True:
            await RisingEdge(self.clk)
            await ReadOnly()
            self.cycle += 1
            if int(self.rst.value) == 0:
                continue
            for name, h in self.handles.items():
                if int(h.value):
                    self.cycles[name].append(self.cycle)
