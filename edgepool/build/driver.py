# SPDX-License-Identifier: Apache-2.0
"""``edgepool build``: the staged compiler driver.

A build runs the stages of its target kind in order (:data:`~edgepool.build.stages.STAGES`,
each a :class:`~edgepool.build.stages.Stage` of :data:`~edgepool.build.stages.REGISTRY`); each
stage reads and extends a :class:`BuildContext` and leaves its checkpoint in the build
directory, so that ``--from STAGE`` resumes (every earlier stage restores what it made) and
``--to STAGE`` stops early. The directory is assembled in a sibling ``OUT.partial`` and renamed
into place only when every requested stage succeeded: a failed build never leaves a
half-written ``OUT``.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from .. import __version__
from ..accel.lower import lower_to_hw
from ..accel.manifest import MANIFEST, Manifest, TargetSection, read_manifest
from ..config import BuildConfig
from ..errors import ConfigError, ManifestError, UnsupportedOpError
from ..ir.graph import Graph
from ..targets import Board, Cpu, get_target
from .context import BuildContext, BuildResult
from .stages import CPU_RUNTIMES, REGISTRY, STAGES, Stage, maker_of


def _target_section(tgt: Board | Cpu) -> TargetSection:
    if isinstance(tgt, Board):
        return TargetSection(name=tgt.name, kind="fpga", part=tgt.part,
                             board_part=tgt.board_part, pynq_board=tgt.pynq_board)
    return TargetSection(name=tgt.name, kind="cpu", triple=tgt.triple)


def restore(ctx: BuildContext, upto: str) -> None:
    """Reload the state the stages before ``upto`` made, from the build directory: the
    manifest, then each earlier stage that ran restores its own outputs. ``upto`` and the
    stages after it are no longer recorded as run (they run again now, and are recorded when
    they have): a resumed build's manifest is the one a fresh build writes."""
    ctx.manifest = m = read_manifest(ctx.out)
    stages = STAGES[ctx.target.kind]
    before = stages[:stages.index(upto)]
    m.stages = [s for s in m.stages if s in before]
    m.stage_seconds = {s: t for s, t in m.stage_seconds.items() if s in before}
    for name in before:
        if name in m.stages:
            REGISTRY[name].restore(ctx)


def _check_inputs(ctx: BuildContext, stage: Stage) -> None:
    """The context fields and manifest sections ``stage`` declares it needs are there."""
    missing = [f for f in stage.needs if getattr(ctx, f) is None]
    missing += [s for s in stage.reads if getattr(ctx.manifest, s, None) is None]
    if missing:
        makers = sorted({m for f in missing if (m := maker_of(f)) is not None},
                        key=list(REGISTRY).index)
        raise ManifestError(
            f"stage {stage.name!r} needs {', '.join(missing)}, made by stage(s) "
            f"{', '.join(makers) or '?'}, which did not run in {ctx.final_out}",
            f"resume from {makers[0] if makers else 'the start'} (--from "
            f"{makers[0] if makers else 'import'})")


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
                ctx.manifest.build_config = config
            elif ctx.manifest.build_config is not None:
                ctx.config = ctx.manifest.build_config
        else:
            ctx.manifest = Manifest(edgepool_version=__version__, target=_target_section(tgt),
                                    stages=[], build_config=config)
        done = []
        for s in stages[first:last + 1]:
            stage = REGISTRY[s]
            _check_inputs(ctx, stage)
            t0 = time.perf_counter()
            if progress:
                progress(s)
            stage.run(ctx)
            ctx.manifest.stage_seconds[s] = round(time.perf_counter() - t0, 3)
            if s not in ctx.manifest.stages:
                ctx.manifest.stages.append(s)
            done.append(s)
            ctx.write_manifest()
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    if out_dir.exists():
        shutil.rmtree(out_dir)
    os.replace(work, out_dir)
    return BuildResult(out_dir, tgt.name, done, ctx.notes, ctx.manifest.to_dict(), ctx.manifest)


def check_target(graph: Graph, target: str) -> str:
    """One line for ``edgepool inspect --target``: can this graph be lowered there?"""
    tgt = get_target(target)
    if tgt.kind == "fpga":
        try:
            program, _ = lower_to_hw(graph)
        except UnsupportedOpError as e:
            if getattr(tgt, "cpu", None) not in CPU_RUNTIMES:
                raise
            return (f"target {target}: the fabric cannot run the whole model "
                    f"({len(e.problems)} construct(s)); the build places those layers on the "
                    f"{tgt.cpu} (placement below)")
        return (f"target {target}: all {len(program.layers)} accelerator layers lowerable "
                f"({sum(layer.macs for layer in program.layers):,} MACs on the fabric)")
    return f"target {target}: CPU build through TVM + NEON kernels"
