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
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import toolchain
from ..accel import axis
from ..accel import regmap as R
from ..accel.descriptor import DESC_WORDS, OverlayImage
from ..accel.engine import OverlayParams
from ..codegen.rtl_overlay import OverlayDesign, generate_overlay
from ..errors import ToolchainError
from .rtlsim import TB_DIR, _new_run_dir, _run_cocotb, _sim_environ, build_design, cache_dir

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
           "w_ports": p.w_ports,
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


# ------------------------------------------------------------------ C++ harness (fast path)
HARNESS = TB_DIR / "ep_ovl_harness.cpp"
#: bytes per cycle of one Ultra96 S_AXI_HP*_FPD port at the PL clock (128 bits, hw/boards)
HP_BYTES_PER_CYCLE = 16.0
#: first-beat latency of the DDR model (cycles at the PL clock)
DDR_LATENCY = 40


def build_harness(p: OverlayParams, registers: dict | None = None) -> Path:
    """The Verilator C++ harness of the overlay with capacities ``p`` (cached); returns the
    executable."""
    exe = toolchain.require("verilator")
    with_tmp = _new_run_dir(None) / "rtl"
    design = generate_overlay(p, with_tmp, registers=registers)
    flags = ["-O3", "-Wno-fatal", "--x-assign", "fast", "--x-initial", "fast",
             "-CFLAGS", f"-DEP_WPORTS={p.w_ports}"]
    key = toolchain.content_key(files=[*design.sources, HARNESS], texts=[design.top],
                                flags=flags, tools=[exe])

    def build(tmp: Path) -> None:
        top = design.top
        cmd = [exe, "--cc", "--exe", "--build", "-j", "1", *flags, "--top-module", top,
               "-CFLAGS", f"-DVTOP=V{top}",
               # the wheel's verilated.mk leaves the precompiled-header include flag empty,
               # which breaks designs big enough to be split into several C++ files
               "-MAKEFLAGS", "CFG_CXXFLAGS_PCH_I=-include",
               "--Mdir", str(tmp / "obj"), "-o", str(tmp / "harness"),
               *[str(s) for s in design.sources], str(HARNESS)]
        with _sim_environ():
            r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            raise ToolchainError(f"verilator build of the overlay harness failed:\n"
                                 f"{(r.stdout + r.stderr)[-3000:]}")
        shutil.rmtree(tmp / "obj", ignore_errors=True)

    return toolchain.cached_build("rtl_overlay_harness", key, build) / "harness"


@dataclass
class HarnessRun:
    """A harness run: per frame the result; the DDR model it ran with."""

    frames: list[FrameResult]
    latency: int
    bytes_per_cycle: float
    total_bytes_per_cycle: float = 0.0


def run_harness_raw(p: OverlayParams, *, regions: Sequence[tuple[int, bytes]],
                    args: dict[str, int], frames: Sequence[tuple[int, bytes, int, int]],
                    base: int, size: int, desc_base: int = 0, n_layers: int = 0,
                    latency: int = DDR_LATENCY, bytes_per_cycle: float = HP_BYTES_PER_CYCLE,
                    total_bytes_per_cycle: float = 0.0,
                    timeout_cycles: int = 2_000_000_000) -> list[tuple[bytes, dict]]:
    """Run the harness on a DDR image: ``regions`` (address, bytes), argument registers
    ``args`` (register name -> value, pointers 64-bit), ``frames`` (input address, input
    bytes, output address, output length); every AXI port capped at ``bytes_per_cycle``, all
    of them together at ``total_bytes_per_cycle`` (0: no shared cap). Returns per frame
    (output bytes, result record: cycles, ret, layers = cycles per layer)."""
    exe = build_harness(p)
    regs = R.default_regmap("overlay")["accel"]["registers"]
    run_dir = _new_run_dir(None)
    lines = [f"base {base}", f"mem {size}", f"lat {latency}", f"bpc {bytes_per_cycle}",
             f"gbpc {total_bytes_per_cycle}",
             f"timeout {timeout_cycles}", f"desc {desc_base} {n_layers}"]
    for i, (addr, data) in enumerate(regions):
        f = run_dir / f"region{i}.bin"
        f.write_bytes(data)
        lines.append(f"region {addr} {f}")
    for name, v in args.items():
        off = int(regs[name]["offset"])
        lines.append(f"reg {off} {v & 0xFFFFFFFF}")
        if regs[name]["bits"] == 64:
            lines.append(f"reg {off + 4} {(v >> 32) & 0xFFFFFFFF}")
    outs = []
    for i, (ia, data, oa, olen) in enumerate(frames):
        fi, fo = run_dir / f"in{i}.bin", run_dir / f"out{i}.bin"
        fi.write_bytes(data)
        outs.append(fo)
        lines.append(f"frame {ia} {fi} {oa} {olen} {fo}")
    lines.append(f"result {run_dir / 'result.json'}")
    (run_dir / "harness.cfg").write_text("\n".join(lines) + "\n")
    r = subprocess.run([str(exe), str(run_dir / "harness.cfg")], capture_output=True,
                       text=True)
    if r.returncode != 0:
        raise ToolchainError(f"the overlay harness failed ({r.returncode}): {r.stderr[-2000:]}",
                             f"see {run_dir}")
    recs = json.loads((run_dir / "result.json").read_text())
    res = [(fo.read_bytes(), rec) for fo, rec in zip(outs, recs, strict=True)]
    shutil.rmtree(run_dir, ignore_errors=True)
    return res


def run_harness(p: OverlayParams, img: OverlayImage, inputs: Sequence[np.ndarray], *,
                in_signed: bool, out_signed: bool, latency: int = DDR_LATENCY,
                bytes_per_cycle: float = HP_BYTES_PER_CYCLE,
                total_bytes_per_cycle: float = 0.0) -> HarnessRun:
    """Run ``inputs`` back to back through the IP in the C++ harness (DDR model: ``latency``,
    ``bytes_per_cycle`` per port, ``total_bytes_per_cycle`` over all ports, 0 = no shared
    cap); each result carries the simulated cycles of every layer (``info['layers']``)."""
    lay = ddr_layout(img, p)
    out_len = int(np.prod(img.out_shape)) * img.out_bits // 8
    regions = [(lay.desc, img.desc.astype("<u4").tobytes()), (lay.wmem, img.weights),
               (lay.bmem, img.bias.astype("<i8").tobytes())]
    frames = [(lay.act + img.in_addr * lay.act_word_bytes, input_bytes(img, p, x, in_signed),
               lay.act + img.out_addr * lay.act_word_bytes, out_len) for x in inputs]
    raw = run_harness_raw(p, regions=regions, args=lay.args(img.n_layers), frames=frames,
                          base=0, size=lay.end, desc_base=lay.desc, n_layers=img.n_layers,
                          latency=latency, bytes_per_cycle=bytes_per_cycle,
                          total_bytes_per_cycle=total_bytes_per_cycle)
    res = [FrameResult(output_of(img, data, out_signed) if rec["ret"] == 0 else None,
                       int(rec["cycles"]), int(rec["ret"]), rec) for data, rec in raw]
    return HarnessRun(res, latency, bytes_per_cycle, total_bytes_per_cycle)


# ------------------------------------------------------------------ VGG16 on the RTL overlay
def vgg16_overlay_params(bits: int = 8) -> OverlayParams:
    """The overlay capacities the VGG16 figures use (Ultra96-sized: PE 32 x SIMD 16 at 8 bits,
    PE 16 x SIMD 16 at 16 bits = 512 / 256 multipliers; line buffer for a 224-wide, 64-word
    row set; 1 152 weight words = 4 folds of a 512-channel 3x3 layer; FC weights streamed over
    the four HP ports)."""
    if bits == 8:
        return OverlayParams(simd=16, pe=32, act_bits=8, w_bits=8, acc_bits=32, lb_words=3584,
                             wbuf_words=1152, max_tile_nf=8, plb_words=1792, splb_words=1024,
                             sum_bits=16, out_bits=32, w_ports=4)
    return OverlayParams(simd=16, pe=16, act_bits=16, w_bits=16, acc_bits=48, lb_words=7168,
                         wbuf_words=1152, max_tile_nf=8, plb_words=3584, splb_words=2048,
                         sum_bits=24, out_bits=64, w_ports=4)


def vgg16_program(hw: int = 32, bits: int = 8, seed: int = 0):
    """The lowered program of edgepool's fixed-point VGG16 (:mod:`edgepool.quant.vgg16`: 13 conv
    + 5 max pool + 3 FC) at an ``hw`` x ``hw`` input (224 = the full model)."""
    from ..accel.lower import lower_to_hw
    from ..passes.pipelines import load
    from ..quant import vgg16 as V

    shape = (1, 3, hw, hw)
    q, layers = V.random_params(V.VGG16, shape, bits, seed)
    program, _ = lower_to_hw(load(V.qonnx_from_params(V.VGG16, shape, q, layers,
                                                      name=f"vgg16_{hw}_w{bits}")))
    return program
