# SPDX-License-Identifier: Apache-2.0
"""Simulation of the RTL overlay IP (``sim/rtl/ep_ovl_*.sv``, generated top from
:mod:`edgepool.codegen.rtl_overlay`) with Verilator.

* :func:`ddr_layout` — where the driver's buffers (descriptors, weights, biases, activations)
  sit in the simulated DDR;
* :func:`run_cocotb` — the cocotb bench ``sim/tb/ep_ovl_tb.py`` (AXI4-Lite master + AxiRam):
  the interface-level checks (register reads during a run, interrupt, reset mid-run,
  back-to-back runs, a malformed descriptor);
* :func:`run_harness` — the C++ Verilator harness ``sim/tb/ep_ovl_harness.cpp`` (DDR model with
  a first-beat latency and a bytes-per-cycle cap, AXI4-Lite driven by the harness): the fast
  path for long runs (VGG16) and the simulated PYNQ device's ``rtl`` model of overlay builds;
  it returns the output and the simulated cycles of every layer.

Both compile the same sources, cached with :func:`edgepool.toolchain.cached_build`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..accel import axis
from ..accel import regmap as R
from ..accel.descriptor import DESC_WORDS, OverlayImage
from ..accel.engine import OverlayParams
from ..codegen.rtl_overlay import OverlayDesign, generate_overlay
from .rtlsim import _new_run_dir, _run_cocotb, build_design, cache_dir

DESC_BASE = 0x1000
ALIGN = 4096


def _align(x: int, a: int = ALIGN) -> int:
    return (x + a - 1) // a * a


@dataclass(frozen=True)
class DdrLayout:
    """Byte addresses of the overlay's buffers in the simulated DDR."""

    desc: int
    wmem: int
    bmem: int
    act: int
    end: int
    act_word_bytes: int

    def args(self, n_layers: int) -> dict[str, int]:
        """The argument registers the driver writes (act_in = act_out = the one buffer)."""
        return {"desc": self.desc, "n_layers": n_layers, "wmem": self.wmem, "bmem": self.bmem,
                "act_in": self.act, "act_out": self.act}


def ddr_layout(img: OverlayImage, p: OverlayParams, base: int = DESC_BASE) -> DdrLayout:
    """Buffers 4 KiB-aligned one after the other from ``base``."""
    awb = p.simd * axis.container_bits(p.act_bits) // 8
    desc = base
    wmem = _align(desc + img.n_layers * DESC_WORDS * 4)
    bmem = _align(wmem + max(1, len(img.weights)))
    act = _align(bmem + max(8, img.bias.size * 8))
    end = _align(act + img.act_words * awb)
    return DdrLayout(desc, wmem, bmem, act, end, awb)


def input_bytes(img: OverlayImage, p: OverlayParams, x_hwc: np.ndarray, signed: bool) -> bytes:
    """An (H, W, C) input as the activation buffer's bytes (channels zero-padded to the
    overlay's, as the driver does)."""
    x = np.asarray(x_hwc)
    c = img.in_shape[2]
    if x.shape[-1] != c:
        x = np.pad(x, ((0, 0), (0, 0), (0, c - x.shape[-1])))
    return axis.pack(x.ravel(), p.act_bits, signed)


def output_of(img: OverlayImage, data: bytes, signed: bool) -> np.ndarray:
    """The final map (padded H, W, C) from the bytes at the output address."""
    n = int(np.prod(img.out_shape))
    return axis.unpack(data, n, img.out_bits, signed).reshape(img.out_shape)


def build_overlay(p: OverlayParams, out_dir: Path, registers: dict | None = None
                  ) -> tuple[OverlayDesign, Path]:
    """Generate the overlay top into ``out_dir`` and build it for cocotb (cached)."""
    design = generate_overlay(p, out_dir, registers=registers)
    return design, build_design(design, "verilator", False, cache_dir(None))


@dataclass
class FrameResult:
    """One run of the IP: the output map, the cycles from start to done as the bench saw them,
    ap_return and the control observations."""

    output: np.ndarray | None
    cycles: int
    ret: int
    info: dict[str, Any] = field(default_factory=dict)


def run_cocotb(p: OverlayParams, img: OverlayImage, inputs: Sequence[np.ndarray], *,
               in_signed: bool, out_signed: bool, scenario: str = "frames", latency: int = 0,
               stall: float = 0.0, seed: int = 0, desc: np.ndarray | None = None,
               reset_after: int = 500, timeout_cycles: int = 20_000_000
               ) -> tuple[list[FrameResult], list[dict]]:
    """Run ``inputs`` through the IP in the cocotb bench (``scenario``: ``frames``, ``reset``,
    ``desc`` overrides the descriptors, e.g. a malformed one). Returns the
    frame results and the scenario's extra records (``reset``: the state around the reset)."""
    run_dir = _new_run_dir(None)
    regs = R.default_regmap("overlay")["accel"]["registers"]
    _, build = build_overlay(p, run_dir / "rtl", regs)
    lay = ddr_layout(img, p)
    files = {"desc": (desc if desc is not None else img.desc).astype("<u4").tobytes(),
             "wmem": img.weights, "bmem": img.bias.astype("<i8").tobytes()}
    regions = []
    for k, data in files.items():
        f = run_dir / f"{k}.bin"
        f.write_bytes(data)
        regions.append([getattr(lay, k), str(f)])
    out_len = int(np.prod(img.out_shape)) * img.out_bits // 8
    frames = []
    for i, x in enumerate(inputs):
        f = run_dir / f"in{i}.bin"
        f.write_bytes(input_bytes(img, p, x, in_signed))
        frames.append({"input": str(f), "in_addr": lay.act + img.in_addr * lay.act_word_bytes,
                       "out_addr": lay.act + img.out_addr * lay.act_word_bytes,
                       "out_len": out_len})
    cfg = {"regions": regions, "args": lay.args(img.n_layers), "registers": regs,
           "frames": frames, "mem_size": 1 << (lay.end - 1).bit_length(),
           "scenario": scenario, "latency": latency, "stall": stall, "seed": seed,
           "reset_after": reset_after, "timeout_cycles": timeout_cycles,
           "result_path": str(run_dir / "results.json")}
    (run_dir / "bench.json").write_text(json.dumps(cfg))
    _run_cocotb("verilator", "edgepool_overlay", build, run_dir, "ep_ovl_tb",
                {"EP_TB_CONFIG": str(run_dir / "bench.json")}, False)
    recs = json.loads((run_dir / "results.json").read_text())
    extra = [r for r in recs if "output" not in r]
    res = [FrameResult(output_of(img, bytes.fromhex(r["output"]), out_signed) if r["ret"] == 0
                       else None, r["cycles"], r["ret"], r) for r in recs if "output" in r]
    return res, extra
