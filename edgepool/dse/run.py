# SPDX-License-Identifier: Apache-2.0
"""Design-space exploration as a job: explore, study word lengths, write the outputs (the
build's ``dse`` step, :func:`choose_config`, and ``edgepool dse``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..accel.engine import HlsConfig
from ..accel.lower import lower_to_hw
from ..accel.manifest import Budget, ConfigSection, DseSection, Estimates, decode
from ..accel.program import HostSplit, HwProgram
from ..config import BuildConfig
from ..errors import ConfigError
from ..passes.pipelines import load
from ..targets import Board, get_target
from .explore import (
    Candidate,
    budget,
    chosen_of,
    estimates,
    explore,
    program_notes,
    space_for,
    summary,
    write_outputs,
)
from .space import DseSpace
from .wordlength import study_markdown, word_length_study


# --------------------------------------------------------------------------- build stage / CLI
def run(program: HwProgram, board: Board, out_dir: Path, *, host: HostSplit | None = None,
        test_set: Path | None = None, siblings: tuple[Path, ...] = (), jobs: int = 0,
        progress: bool = False, space: DseSpace | None = None,
        no_study: str = "") -> list[Candidate]:
    """Explore, study word lengths (when a test set is given and ``no_study`` gives no reason
    not to) and write the outputs."""
    space = space or DseSpace()
    cands = explore(program, board, space, jobs, progress)
    study = f"## Word-length study\n\nNot run: {no_study}.\n" if no_study else ""
    if not no_study and host is not None and test_set is not None and Path(test_set).exists():

        rows = word_length_study(program, host, Path(test_set), board, space, siblings)
        study = study_markdown(rows)
    c = chosen_of(cands)
    write_outputs(program, cands, board, space, out_dir, study, program_notes(program, c))
    return cands


def _siblings(model_path: Path) -> tuple[Path, ...]:
    """Other shipped bit widths of a model (``name.onnx``, ``name-w16.onnx``, ...)."""

    stem = re.sub(r"-w\d+$", "", model_path.stem)
    return tuple(sorted(p for p in model_path.parent.glob(f"{stem}*.onnx")
                        if re.fullmatch(rf"{re.escape(stem)}(-w\d+)?", p.stem)
                        and p.resolve() != model_path.resolve()))


@dataclass(frozen=True)
class DseChoice:
    """What the build's ``dse`` stage records: the chosen configuration and its manifest
    sections (``config``, ``estimates``, ``budget``, ``dse``), and a one-line note."""

    config: HlsConfig
    section: ConfigSection
    estimates: Estimates
    budget: Budget
    dse: DseSection
    note: str


def choose_config(program: HwProgram, host: HostSplit | None, board: Board, out_dir: Path,
                  model_path: Path, *, bits: int | None = None,
                  settings: BuildConfig | None = None, no_study: str = "") -> DseChoice:
    """The build's ``dse`` step: explore ``program`` on ``board`` with the build ``settings``
    (style, clock, margin, jobs), write ``out_dir/pareto.csv``, ``pareto.png`` and ``dse.md``
    and return the chosen configuration with its manifest sections. ``bits`` must match the
    model's trained activation width (the types are fixed by training; dse.md shows the effect
    of other widths). The word-length study uses ``test.npz`` beside ``model_path``; ``no_study``
    (a reason) skips it."""
    settings = settings or BuildConfig()
    space = space_for(board, settings.style, settings.clock_mhz, settings.margin)
    a_bits = program.in_type.bits
    if bits is not None and bits != a_bits:
        raise ConfigError(f"--bits {bits}: the model was trained with {a_bits}-bit "
                          "activations and its fixed-point types are fixed by training",
                          "export the model at that width (python -m edgepool.quant.trainer "
                          "NAME --bits N); dse/dse.md tabulates the post-training effect of "
                          "other widths")
    test_set = Path(model_path).parent / "test.npz"
    out_dir.mkdir(parents=True, exist_ok=True)
    cands = run(program, board, out_dir, host=host,
                test_set=test_set if test_set.exists() else None,
                siblings=_siblings(Path(model_path)), jobs=int(settings.jobs), space=space,
                no_study=no_study)
    c = chosen_of(cands)
    note = (f"dse: {c.label()}: {c.latency_s * 1e3:,.3f} ms/image, {c.gops:,.2f} GOP/s, "
            f"{c.dsp} DSP, {c.bram36} BRAM36, {c.lut:,} LUT "
            f"({len(cands)} configurations, dse/dse.md)")
    return DseChoice(
        config=c.config,
        section=ConfigSection(hls=c.config, summary=summary(c, board, space)),
        estimates=decode(Estimates, estimates(c), "estimates"),
        budget=decode(Budget, budget(board, space), "budget"),
        dse=DseSection(dir=out_dir.name, candidates=len(cands),
                       fitting=sum(x.fits for x in cands), pareto=sum(x.pareto for x in cands)),
        note=note)


def explore_cli(model: Path | str, target: str, out_dir: Path | str | None, jobs: int) -> None:
    """``edgepool dse MODEL --target T -o OUT -j N``: explore, write the outputs, print the
    front and the chosen configuration."""
    from rich.console import Console
    from rich.table import Table


    model = Path(model)
    board = get_target(target)
    if not isinstance(board, Board):
        raise ConfigError(f"target {target!r} is not an FPGA board",
                          "design-space exploration needs a board (ultra96, zcu104, pynq-z2)")
    out = Path(out_dir) if out_dir else Path("out") / f"dse-{model.stem}"
    console = Console()
    with console.status(f"importing {model} ..."):
        program, host = lower_to_hw(load(model))
    test_set = model.parent / "test.npz"
    space = DseSpace()
    cands = run(program, board, out, host=host, test_set=test_set if test_set.exists() else None,
                siblings=_siblings(model), jobs=jobs, progress=True, space=space)
    c = chosen_of(cands)
    t = Table(title=f"Pareto front: {program.name} on {board.name} "
                    f"({sum(x.fits for x in cands)}/{len(cands)} fit)")
    for col in ("configuration", "latency ms", "GOP/s", "DSP", "BRAM36", "LUT"):
        t.add_column(col, justify="left" if col == "configuration" else "right")
    front = sorted((x for x in cands if x.pareto), key=lambda x: (x.latency_s, x.area))
    for x in front[:25]:
        t.add_row(("* " if x.chosen else "") + x.label(), f"{x.latency_s * 1e3:,.3f}",
                  f"{x.gops:,.2f}", str(x.dsp), str(x.bram36), f"{x.lut:,}",
                  style="bold green" if x.chosen else None)
    console.print(t)
    console.print(f"[bold]chosen[/]: {c.label()}: {c.latency_s * 1e3:,.3f} ms, {c.gops:,.2f} "
                  f"GOP/s, {c.dsp} DSP, {c.bram36} BRAM36, {c.lut:,} LUT")
    for n in program_notes(program, c):
        console.print(f"[yellow]note[/]: {n}")
    console.print(f"wrote {out}/pareto.csv, pareto.png, dse.md")
