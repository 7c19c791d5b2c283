# SPDX-License-Identifier: Apache-2.0
"""``edgepool build``: the staged compiler driver.

A build runs named stages in order (per target kind, listed in :data:`STAGES`); each stage reads
and extends a :class:`BuildContext` and leaves a checkpoint in the build directory, so that
``--from STAGE`` resumes and ``--to STAGE`` stops early. The directory is assembled in a sibling
``OUT.partial`` and renamed into place only when every requested stage succeeded: a failed build
never leaves a half-written ``OUT``.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import __version__
from .accel.lower import lower_to_hw
from .accel.program import HostSplit, program_from_json, program_to_json
from .config import BuildConfig
from .dse.explore import config_from_dict
from .errors import ConfigError, EdgepoolError, ManifestError
from .ir import serialize
from .passes.pipelines import load
from .report import write_report
from .targets import Board, Cpu, get_target

STAGES: dict[str, tuple[str, ...]] = {
    "fpga": ("import", "lower", "dse", "hls", "rtl", "vendor", "bundle", "report"),
    "cpu": ("import", "cpu", "report"),
}

# where each stage is implemented ("module:function"); a stage function takes the context
STAGE_IMPL: dict[str, str] = {
    "import": "edgepool.build:stage_import",
    "lower": "edgepool.build:stage_lower",
    "dse": "edgepool.dse.run:stage_dse",
    "hls": "edgepool.codegen.hls:stage_hls",
    "rtl": "edgepool.codegen.rtl:stage_rtl",
    "vendor": "edgepool.codegen.vendor:stage_vendor",
    "bundle": "edgepool.runtime.bundle:stage_bundle",
    "report": "edgepool.build:stage_report",
    "cpu": "edgepool.tvm.build:stage_cpu",
}

MANIFEST = "manifest.json"


@dataclass
class BuildContext:
    """State handed from stage to stage. ``manifest`` is written as manifest.json."""

    model_path: Path
    target: Board | Cpu
    out: Path                                   # the working directory (OUT.partial)
    final_out: Path
    bits: int | None = None
    config: BuildConfig = field(default_factory=BuildConfig)
    graph: Any = None                           # canonical IR Graph
    program: Any = None                         # HwProgram (fpga)
    host: Any = None                            # HostSplit (fpga)
    hls_config: Any = None                      # chosen configuration (fpga, from dse)
    manifest: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def path(self, *parts: str) -> Path:
        p = self.out.joinpath(*parts)
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def write_manifest(self) -> None:
        self.path(MANIFEST).write_text(json.dumps(self.manifest, indent=2, sort_keys=True,
                                                  default=_json_default) + "\n")


def _json_default(o: Any):
    import dataclasses

    import numpy as np

    if dataclasses.is_dataclass(o):
        return dataclasses.asdict(o)
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, Path):
        return str(o)
    return str(o)


@dataclass
class BuildResult:
    out: Path
    target: str
    stages: list[str]
    notes: list[str]
    manifest: dict[str, Any]

    def summary(self) -> str:
        lines = [f"built {self.manifest.get('model', {}).get('name', '?')} for {self.target} "
                 f"in {self.out}/ (stages: {', '.join(self.stages)})"]
        lines += [f"  {n}" for n in self.notes]
        return "\n".join(lines)


# --------------------------------------------------------------------------- stages (core)
def stage_import(ctx: BuildContext) -> None:
    """Import + canonicalize; checkpoint the IR (opens in Netron)."""

    ctx.graph = load(ctx.model_path)
    serialize.save(ctx.graph, ctx.path("checkpoints", "canonical.onnx"))
    shutil.copyfile(ctx.model_path, ctx.path("model.onnx"))
    g = ctx.graph
    ctx.manifest["model"] = {
        "name": g.name, "source": str(ctx.model_path),
        "inputs": [{"name": v.name, "shape": list(v.shape), "type": str(v.type)}
                   for v in g.input_values()],
        "outputs": [{"name": v.name, "shape": list(v.shape), "type": str(v.type)}
                    for v in g.output_values()],
    }


def stage_lower(ctx: BuildContext) -> None:
    """Lower to the accelerator program; weights to program.bin, layers to program.json."""

    ctx.program, ctx.host = lower_to_hw(ctx.graph)
    desc, blob = program_to_json(ctx.program)
    ctx.path("program.json").write_text(json.dumps(desc, indent=1) + "\n")
    ctx.path("program.bin").write_bytes(blob)
    ctx.manifest["host"] = ctx.host.to_dict()
    ctx.manifest["program"] = {"file": "program.json", "weights": "program.bin",
                               "layers": len(ctx.program.layers),
                               "macs": sum(layer.macs for layer in ctx.program.layers)}


def stage_report(ctx: BuildContext) -> None:
    """report.md: what was built, estimates, how to continue."""

    write_report(ctx)


# --------------------------------------------------------------------------- restore for --from
def restore(ctx: BuildContext, upto: str) -> None:
    """Reload the state the stages before ``upto`` produced, from the build directory."""

    mpath = ctx.out / MANIFEST
    try:
        ctx.manifest = json.loads(mpath.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise ManifestError(f"cannot resume: {mpath} is missing or corrupt ({e})",
                            "rebuild without --from") from None
    ck = ctx.out / "checkpoints" / "canonical.onnx"
    if ck.exists():
        ctx.graph = serialize.load(ck)
    if (ctx.out / "program.json").exists():
        ctx.program = program_from_json(json.loads((ctx.out / "program.json").read_text()),
                                        (ctx.out / "program.bin").read_bytes())
        ctx.host = HostSplit.from_dict(ctx.manifest["host"])
    if "config" in ctx.manifest and ctx.manifest["config"].get("hls"):

        ctx.hls_config = config_from_dict(ctx.manifest["config"]["hls"])


def _resolve(stage: str) -> Callable[[BuildContext], None]:
    mod, fn = STAGE_IMPL[stage].split(":")
    return getattr(importlib.import_module(mod), fn)


def build(model: Path | str, target: str, out_dir: Path | str, *, bits: int | None = None,
          from_stage: str | None = None, to_stage: str | None = None, force: bool = False,
          progress: Callable[[str], None] | None = None,
          config: BuildConfig | None = None) -> BuildResult:
    """Build ``model`` for ``target`` into ``out_dir`` (see module docstring). ``config`` holds
    the remaining knobs (style, clock, resource margin, jobs); its ``target`` is overridden.
    When resuming (``from_stage``) without a ``config``, the build's recorded settings are used."""
    tgt = get_target(target)
    explicit_config = config is not None
    config = BuildConfig(**{**(config or BuildConfig()).to_dict(), "target": tgt.name})
    stages = list(STAGES[tgt.kind])
    for s in (from_stage, to_stage):
        if s is not None and s not in stages:
            raise ConfigError(f"unknown stage {s!r} for target {target}",
                              f"stages: {', '.join(stages)}")
    first = stages.index(from_stage) if from_stage else 0
    last = stages.index(to_stage) if to_stage else len(stages) - 1
    out_dir = Path(out_dir)
    model = Path(model)
    if from_stage is None and out_dir.exists() and any(out_dir.iterdir()) and not force:
        raise ConfigError(f"build directory {str(out_dir)!r} exists and is not empty",
                          "pass --force to replace it, or --from STAGE to resume it")
    if from_stage and not (out_dir / MANIFEST).exists():
        raise ManifestError(f"cannot resume {str(out_dir)!r}: no {MANIFEST} there",
                            "run the build without --from first")
    work = out_dir.with_name(out_dir.name + ".partial")
    if work.exists():
        shutil.rmtree(work)
    if from_stage:
        shutil.copytree(out_dir, work)
    else:
        work.mkdir(parents=True)
    ctx = BuildContext(model, tgt, work, out_dir, bits, config)
    try:
        if from_stage:
            restore(ctx, from_stage)
            if explicit_config:      # new settings for the resumed stages, recorded
                ctx.manifest["build_config"] = config.to_dict()
            elif "build_config" in ctx.manifest:
                ctx.config = BuildConfig.from_dict(ctx.manifest["build_config"])
        if not from_stage:
            ctx.manifest.update({
                "edgepool_version": __version__, "format": 1,
                "target": {"name": tgt.name, "kind": tgt.kind,
                           **({"part": tgt.part, "board_part": tgt.board_part,
                               "pynq_board": tgt.pynq_board} if isinstance(tgt, Board)
                              else {"triple": tgt.triple})},
                "stages": [],
                "build_config": config.to_dict(),
            })
        done = []
        for s in stages[first:last + 1]:
            t0 = time.perf_counter()
            if progress:
                progress(s)
            _resolve(s)(ctx)
            dt = time.perf_counter() - t0
            ctx.manifest.setdefault("stage_seconds", {})[s] = round(dt, 3)
            if s not in ctx.manifest["stages"]:
                ctx.manifest["stages"].append(s)
            done.append(s)
            ctx.write_manifest()
    except EdgepoolError:
        shutil.rmtree(work, ignore_errors=True)
        raise
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    if out_dir.exists():
        shutil.rmtree(out_dir)
    os.replace(work, out_dir)
    return BuildResult(out_dir, tgt.name, done, ctx.notes, ctx.manifest)


def check_target(graph, target: str) -> str:
    """One line for ``edgepool inspect --target``: can this graph be lowered there?"""
    tgt = get_target(target)
    if tgt.kind == "fpga":

        program, _ = lower_to_hw(graph)
        return (f"target {target}: all {len(program.layers)} accelerator layers lowerable "
                f"({sum(layer.macs for layer in program.layers):,} MACs on the fabric)")
    return f"target {target}: CPU build through TVM + NEON kernels"
