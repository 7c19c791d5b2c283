# SPDX-License-Identifier: Apache-2.0
"""The build's stages, one typed step each, registered in one table (:data:`REGISTRY`).

A :class:`Stage` declares the :class:`~edgepool.build.context.BuildContext` fields it
``needs`` and ``makes``, the manifest sections it ``reads`` (written by an earlier stage),
``writes`` and ``updates`` (amends, when an earlier stage wrote them), a ``run`` function and a
``restore`` function. ``run`` does the stage's work and records its sections; ``restore``
reloads what ``run`` made from the build directory, so that ``edgepool build --from STAGE``
resumes from a checkpoint without the driver knowing any stage's outputs.

The stage functions here are thin adapters: the work stays where it belongs — import and
lowering (:mod:`edgepool.passes`, :mod:`edgepool.accel`), exploration (:mod:`edgepool.dse.run`),
HLS / RTL / Vivado generation (:mod:`edgepool.codegen`), the board bundle
(:mod:`edgepool.runtime.bundle`) and the CPU build (:mod:`edgepool.tvm.build`) — as plain
functions of typed arguments that return typed manifest sections.

The table itself (:data:`REGISTRY`, built from ``_ALL`` at the end of this module) is the one
place that says which stage reads and writes what; :func:`describe` prints it.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from ..accel.lower import lower_segment, lower_to_hw
from ..accel.manifest import (
    ConfigSection,
    ModelSection,
    ProgramSection,
    TensorSpec,
    read_program,
)
from ..accel.program import program_to_json
from ..codegen.hls import generate_for_build
from ..codegen.rtl import build_rtl
from ..codegen.rtl_overlay import BUILD_SUBDIR as OVERLAY_SUBDIR
from ..codegen.rtl_overlay import build_overlay_ip
from ..codegen.vendor import write_vendor
from ..dse.run import choose_config
from ..errors import ManifestError
from ..ir import serialize
from ..ir.graph import Value
from ..passes.pipelines import load
from ..runtime.bundle import write_bundle
from ..tvm.build import build_cpu
from ..tvm.placement import draw_placement, fused, place, segment_graph, split_applies
from ..tvm.segments import build_cpu_segments, save_segments
from . import engine as E
from .context import BuildContext
from .report import write_report

T = TypeVar("T")
CHECKPOINT = ("checkpoints", "canonical.onnx")


@dataclass(frozen=True)
class Stage:
    """One build step: what it needs and makes, how it runs and how it is restored."""

    name: str
    kinds: tuple[str, ...]               # target kinds it belongs to ("fpga", "cpu")
    run: Callable[[BuildContext], None]
    restore: Callable[[BuildContext], None]
    needs: tuple[str, ...] = ()          # BuildContext fields that must be set
    makes: tuple[str, ...] = ()          # BuildContext fields it sets
    reads: tuple[str, ...] = ()          # manifest sections an earlier stage wrote
    writes: tuple[str, ...] = ()         # manifest sections it writes
    updates: tuple[str, ...] = ()        # sections of an earlier stage it may amend (or write
                                         # when that stage did not run)
    doc: str = ""


def need(value: T | None, what: str, stage: str) -> T:
    """``value``, which the driver checked before running ``stage``."""
    if value is None:
        raise ManifestError(f"stage {stage!r} needs {what}, which no earlier stage made",
                            "run the build from the start (without --from)")
    return value


def _restore_nothing(ctx: BuildContext) -> None:
    """A stage whose outputs live in the manifest and its files only (nothing to reload)."""


# --------------------------------------------------------------------------- import
def run_import(ctx: BuildContext) -> None:
    """Import + canonicalize; checkpoint the IR (opens in Netron); ``model`` section."""
    ctx.graph = g = load(ctx.model_path)
    serialize.save(g, ctx.path(*CHECKPOINT))
    shutil.copyfile(ctx.model_path, ctx.path("model.onnx"))

    def spec(v: Value) -> TensorSpec:
        return TensorSpec(name=v.name, shape=tuple(int(d) for d in v.shape), type=str(v.type))

    ctx.manifest.model = ModelSection(
        name=g.name, source=str(ctx.model_path),
        inputs=tuple(spec(v) for v in g.input_values()),
        outputs=tuple(spec(v) for v in g.output_values()))


def restore_import(ctx: BuildContext) -> None:
    """The canonical IR from its checkpoint."""
    ck = ctx.out.joinpath(*CHECKPOINT)
    if not ck.exists():
        raise ManifestError(f"cannot resume: {ctx.final_out}/{'/'.join(CHECKPOINT)} is missing",
                            "rebuild without --from")
    ctx.manifest.section("model")
    ctx.graph = serialize.load(ck)


# --------------------------------------------------------------------------- place
#: the CPU of a board that has a TVM runtime (the PYNQ-Z2's Cortex-A9 is armv7: none on PyPI)
CPU_RUNTIMES = {"cortex-a53": "aarch64-linux-gnu"}


def _placement(ctx: BuildContext):
    g = need(ctx.graph, "the IR", "place")
    cpu_ok = ctx.board.cpu in CPU_RUNTIMES
    p = place(g, ctx.board, ctx.config.place, cpu_available=cpu_ok, require_fabric=True)
    applied = split_applies(p, bool(ctx.config.place))
    return p, applied, cpu_ok


def run_place(ctx: BuildContext) -> None:
    """Place every layer on the fabric or the CPU (tvm/placement.py); segment checkpoints."""
    p, applied, cpu_ok = _placement(ctx)
    section = {**p.to_dict(), "applied": applied,
               "cpu_runtime": CPU_RUNTIMES.get(ctx.board.cpu) if cpu_ok else None}
    if not cpu_ok:
        section["note"] = (f"{ctx.board.cpu} (armv7) has no TVM runtime on the package "
                           "registries: fabric-only build, the host quantizes / dequantizes")
    ctx.placement = p
    if applied:
        section["files"] = save_segments(fused(ctx.graph), p, ctx.out)
        draw_placement(section, ctx.out / "placement.png")     # the bundle carries it too
        ctx.notes.append("place: heterogeneous build — " + p.summary())
    else:
        ctx.notes.append("place: the whole model runs on the fabric (" + (
            "pins: none; " if not ctx.config.place else "") + p.summary() + ")")
    ctx.manifest.placement = section


def _applied(ctx: BuildContext):
    """The placement when the build applies it (heterogeneous), else None."""
    return ctx.placement if (ctx.manifest.placement or {}).get("applied") else None


def restore_place(ctx: BuildContext) -> None:
    """The placement, recomputed (deterministic) from the IR checkpoint."""
    ctx.manifest.section("placement")
    if ctx.graph is None:
        restore_import(ctx)
    ctx.placement = _placement(ctx)[0]


# --------------------------------------------------------------------------- lower
def run_lower(ctx: BuildContext) -> None:
    """Lower to the accelerator program (the fabric segment of a heterogeneous build); weights
    to program.bin, layers to program.json."""
    g = need(ctx.graph, "the IR", "lower")
    applied = _applied(ctx)
    fseg = applied.fabric_segment if applied is not None else None
    if fseg is not None:
        program, host = lower_segment(segment_graph(fused(g), fseg.nodes, fseg.index))
    else:
        program, host = lower_to_hw(g)
    desc, blob = program_to_json(program)
    ctx.path("program.json").write_text(json.dumps(desc, indent=1) + "\n")
    ctx.path("program.bin").write_bytes(blob)
    ctx.program, ctx.host = program, host
    ctx.manifest.host = host
    ctx.manifest.program = ProgramSection(
        file="program.json", weights="program.bin", layers=len(program.layers),
        macs=sum(layer.macs for layer in program.layers))


def restore_lower(ctx: BuildContext) -> None:
    """The program from program.json / program.bin, the host split from its section."""
    section = ctx.manifest.section("program")
    ctx.host = ctx.manifest.section("host")
    ctx.program = read_program(ctx.out, section)


# --------------------------------------------------------------------------- dse
def run_dse(ctx: BuildContext) -> None:
    """Explore the design space (dse/), choose the configuration."""
    applied = _applied(ctx)
    no_study = ("the fabric runs one segment of a heterogeneous build, whose input is a "
                "boundary tensor of the CPU segments, not the test images"
                if applied is not None and applied.heterogeneous else "")
    choice = choose_config(need(ctx.program, "the program", "dse"), ctx.host, ctx.board,
                           ctx.out / "dse", ctx.model_path, bits=ctx.bits, settings=ctx.config,
                           no_study=no_study)
    ctx.hls_config = choice.config
    m = ctx.manifest
    m.config, m.estimates, m.budget, m.dse = (choice.section, choice.estimates, choice.budget,
                                              choice.dse)
    ctx.notes.append(choice.note)


def restore_config(ctx: BuildContext) -> None:
    """The chosen (dse) or generated (hls) configuration from the ``config`` section."""
    ctx.hls_config = ctx.manifest.section("config").hls


# --------------------------------------------------------------------------- engine
def run_engine(ctx: BuildContext) -> None:
    """RTL or HLS accelerator (``--engine``); the RTL's cycle estimate of the configuration."""
    program = need(ctx.program, "the program", "engine")
    cfg = ctx.hls_config
    clock = cfg.clock_mhz if cfg is not None else ctx.board.clocks.get("default_mhz", 200.0)
    default_style = "dataflow" if ctx.config.style == "auto" else ctx.config.style
    ctx.manifest.engine = sec = E.pick(program, cfg, ctx.config.engine, default_style,
                                       float(clock))
    cycles = f"; estimate_rtl: {sec.estimate['interval_cycles']:,} cycles/frame, " \
        f"{sec.estimate['latency_cycles']:,} cycles latency (estimated)" if sec.estimate else ""
    ctx.notes.append(f"engine: {sec.name.upper()} ({sec.reason}){cycles}")
    ctx.notes += E.resource_warnings(sec.estimate or {}, ctx.board.resources, ctx.board.part)


# --------------------------------------------------------------------------- hls
def run_hls(ctx: BuildContext) -> None:
    """Emit the Vitis HLS project (hls/); register map and DMA buffer sizes."""
    m = ctx.manifest
    res = generate_for_build(need(ctx.program, "the program", "hls"), ctx.board,
                             ctx.hls_config, ctx.out, estimate=m.estimates is not None)
    if res.defaulted and m.config is None:       # the driver reads the configuration
        m.config = ConfigSection(hls=res.config, summary={"source": "default (no dse stage)",
                                                          "style": res.config.style})
    if res.widened:
        summary = m.config.summary if m.config is not None else {}
        m.config = ConfigSection(hls=res.config, summary=summary)
        if res.estimates is not None:
            m.estimates = res.estimates
    ctx.hls_config = res.config
    m.regmap, m.hls, m.dma = res.regmap, res.section, res.dma
    ctx.notes.extend(res.notes)


def restore_hls(ctx: BuildContext) -> None:
    """The configuration the design was generated for; the design must still be there."""
    hls = ctx.manifest.section("hls")
    if not (ctx.out / hls.design).exists():
        raise ManifestError(f"cannot resume: {ctx.final_out}/{hls.design} is missing",
                            "resume from the hls stage (--from hls)")
    restore_config(ctx)


# --------------------------------------------------------------------------- rtl
def run_rtl(ctx: BuildContext) -> None:
    """Generate the SystemVerilog design (rtl/), or record why the program has none; for an
    overlay build on the RTL engine the RTL overlay IP (rtl/overlay/) and its register map."""
    section, notes = build_rtl(need(ctx.program, "the program", "rtl"), ctx.out,
                               ctx.hls_config, ctx.board.clocks.get("default_mhz"),
                               ctx.board.part)
    ctx.manifest.rtl = section
    ctx.notes.extend(notes)
    m = ctx.manifest
    if m.engine is not None and m.engine.name == "rtl" and m.engine.style == "overlay":
        # the block design instantiates the RTL overlay IP: generated into rtl/overlay/
        program = need(ctx.program, "the program", "rtl")
        ovl = build_overlay_ip(E.overlay_params_of(ctx.hls_config), ctx.out, ctx.board.part,
                               program.name)
        files = tuple(sorted({*section.files, OVERLAY_SUBDIR}))
        ctx.manifest.rtl = section = dataclasses.replace(section, overlay=ovl, files=files)
        m.regmap = E.rtl_overlay_regmap(ctx.board.family, ovl)
        ctx.notes.append(f"rtl: the RTL overlay IP {ovl.vlnv} in {OVERLAY_SUBDIR}/ "
                         f"(packaged by {ovl.package_tcl})")
    elif m.engine is not None and m.engine.name == "rtl":
        if not section.supported:
            raise ManifestError("the engine stage chose the RTL but the rtl stage could not "
                                "generate it: " + "; ".join(section.reason),
                                "rebuild with --engine hls")
        # the block design instantiates the RTL IP: its register map replaces the HLS one
        m.regmap = E.rtl_regmap(ctx.board.family, section, section.accel.beat_bytes * 8)
    if ctx.config.synth and section.supported and m.engine is not None \
            and m.engine.style == "dataflow":
        m.engine = E.synthesize(ctx.out, need(ctx.program, "the program", "rtl"),
                                ctx.hls_config, ctx.board, m.engine)
    elif ctx.config.synth:
        ctx.notes.append("rtl: --synth skipped: it synthesizes the RTL dataflow IP, which this build "
                         "does not have")


def restore_rtl(ctx: BuildContext) -> None:
    """Nothing to reload; the recorded files must still be there."""
    rtl = ctx.manifest.section("rtl")
    _check_files(ctx, rtl.files, "rtl")


# --------------------------------------------------------------------------- vendor
def run_vendor(ctx: BuildContext) -> None:
    """Vivado scripts (vivado/) for the chosen engine's IP; the bitstream when the tools are on
    PATH (RTL: Vivado; HLS: Vitis HLS + Vivado)."""
    m = ctx.manifest
    res = write_vendor(ctx.out, ctx.board, m.section("regmap"),
                       ctx.program.name if ctx.program is not None else None, ctx.final_out,
                       engine=m.engine.name if m.engine is not None else "hls",
                       rtl_package=_rtl_package(m))
    m.files, m.vendor = res.files, res.section
    if res.bitstream is not None:
        m.bitstream = res.bitstream
    if res.next_step is not None and res.next_step not in m.next_steps:
        m.next_steps.append(res.next_step)
    ctx.notes.extend(res.notes)


def _rtl_package(m: Any) -> str | None:
    """The rtl stage's packaging script of the IP the block design instantiates (None: the
    dataflow IP's default)."""
    rtl = m.rtl
    if rtl is not None and rtl.overlay is not None and m.engine is not None \
            and m.engine.style == "overlay":
        return rtl.overlay.package_tcl
    return None


def restore_vendor(ctx: BuildContext) -> None:
    """Nothing to reload; the recorded files must still be there."""
    files = ctx.manifest.section("files")
    ctx.manifest.section("vendor")
    _check_files(ctx, files.vivado, "vendor")


# --------------------------------------------------------------------------- bundle
def run_bundle(ctx: BuildContext) -> None:
    """The zip to copy to the board (bundle/)."""
    section, note = write_bundle(ctx.out, ctx.manifest, ctx.graph, ctx.model_path,
                                 (ctx.final_out,))
    ctx.manifest.bundle = section
    ctx.notes.append(note)


def restore_bundle(ctx: BuildContext) -> None:
    """Nothing to reload; the zip must still be there."""
    _check_files(ctx, (ctx.manifest.section("bundle").file,), "bundle")


# --------------------------------------------------------------------------- cpu
def run_cpu(ctx: BuildContext) -> None:
    """TVM Relax + NEON kernels: the model library and its runner (cpu/)."""
    section, note = build_cpu(need(ctx.graph, "the IR", "cpu"), ctx.cpu.triple, ctx.out,
                              ctx.model_path, ctx.bits)
    ctx.manifest.cpu = section
    ctx.notes.append(note)


def restore_cpu(ctx: BuildContext) -> None:
    """Nothing to reload; the recorded files must still be there."""
    _check_files(ctx, ctx.manifest.section("cpu").files, "cpu")


# --------------------------------------------------------------------------- cpu-segments
def run_cpu_segments(ctx: BuildContext) -> None:
    """The CPU segments of a heterogeneous build: one aarch64 TVM library each (cpu/seg<i>/)."""
    applied = _applied(ctx)
    if applied is None:
        ctx.manifest.cpu_segments = {"triple": CPU_RUNTIMES.get(ctx.board.cpu), "segments": []}
        return
    key = ctx.model_path.read_bytes() + f"|bits={ctx.bits}|place={ctx.config.place}".encode()
    ctx.manifest.cpu_segments = build_cpu_segments(
        fused(need(ctx.graph, "the IR", "cpu-segments")), applied,
        CPU_RUNTIMES[ctx.board.cpu], ctx.out, key)
    n = len(ctx.manifest.cpu_segments["segments"])
    ctx.notes.append(f"cpu-segments: {n} CPU segment(s) compiled for {ctx.board.cpu} (cpu/seg<i>/)")


def restore_cpu_segments(ctx: BuildContext) -> None:
    """Nothing to reload; the recorded files must still be there."""
    if ctx.manifest.cpu_segments is not None:
        _check_files(ctx, tuple(f for s in ctx.manifest.cpu_segments["segments"]
                                for f in s["files"]), "cpu-segments")


# --------------------------------------------------------------------------- report
def run_report(ctx: BuildContext) -> None:
    """report.md: what was built, estimates, how to continue."""
    write_report(ctx.manifest, ctx.program, ctx.path("report.md"))


def _check_files(ctx: BuildContext, files: tuple[str, ...], stage: str) -> None:
    missing = [f for f in files if not (ctx.out / f).exists()]
    if missing:
        raise ManifestError(f"cannot resume: {len(missing)} file(s) the {stage} stage wrote are "
                            f"missing from {ctx.final_out} (first: {missing[0]})",
                            f"resume from the {stage} stage (--from {stage})")


# --------------------------------------------------------------------------- the table
_ALL = (
    Stage("import", ("fpga", "cpu"), run_import, restore_import,
          makes=("graph",), writes=("model",), doc=run_import.__doc__ or ""),
    Stage("place", ("fpga",), run_place, restore_place, needs=("graph",),
          makes=("placement",), writes=("placement",), doc=run_place.__doc__ or ""),
    Stage("lower", ("fpga",), run_lower, restore_lower, needs=("graph",),
          makes=("program", "host"), writes=("host", "program"), doc=run_lower.__doc__ or ""),
    Stage("dse", ("fpga",), run_dse, restore_config, needs=("program", "host"),
          makes=("hls_config",), writes=("config", "estimates", "budget", "dse"),
          doc=run_dse.__doc__ or ""),
    Stage("engine", ("fpga",), run_engine, _restore_nothing, needs=("program",),
          writes=("engine",), doc=run_engine.__doc__ or ""),
    Stage("hls", ("fpga",), run_hls, restore_hls, needs=("program",), makes=("hls_config",),
          writes=("regmap", "hls", "dma"), updates=("config", "estimates"),
          doc=run_hls.__doc__ or ""),
    Stage("rtl", ("fpga",), run_rtl, restore_rtl, needs=("program",), writes=("rtl",),
          updates=("regmap", "engine"), doc=run_rtl.__doc__ or ""),
    Stage("vendor", ("fpga",), run_vendor, restore_vendor, reads=("regmap", "hls"),
          writes=("files", "vendor", "bitstream", "next_steps"), doc=run_vendor.__doc__ or ""),
    Stage("cpu-segments", ("fpga",), run_cpu_segments, restore_cpu_segments,
          needs=("graph", "placement"), writes=("cpu_segments",), doc=run_cpu_segments.__doc__ or ""),
    Stage("bundle", ("fpga",), run_bundle, restore_bundle, reads=("model", "host", "program"),
          writes=("bundle",), doc=run_bundle.__doc__ or ""),
    Stage("cpu", ("cpu",), run_cpu, restore_cpu, needs=("graph",), writes=("cpu",),
          doc=run_cpu.__doc__ or ""),
    Stage("report", ("fpga", "cpu"), run_report, _restore_nothing, reads=("model",),
          doc=run_report.__doc__ or ""),
)

#: every stage by name (the driver looks stages up here at run time)
REGISTRY: dict[str, Stage] = {s.name: s for s in _ALL}

#: the stages of each target kind, in order
STAGES: dict[str, tuple[str, ...]] = {
    kind: tuple(s.name for s in _ALL if kind in s.kinds) for kind in ("fpga", "cpu")}


def maker_of(field_or_section: str) -> str | None:
    """The stage that makes a context field or writes a manifest section."""
    for s in _ALL:
        if field_or_section in s.makes or field_or_section in s.writes:
            return s.name
    return None


def describe() -> str:
    """The stage table as text: name, kinds, needs, makes, reads, writes, updates."""
    rows = [("stage", "kinds", "needs", "makes", "reads", "writes", "updates")]
    rows += [(s.name, "/".join(s.kinds), *(", ".join(x) or "-" for x in
              (s.needs, s.makes, s.reads, s.writes, s.updates))) for s in _ALL]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
                     for r in rows)
