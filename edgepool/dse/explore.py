# SPDX-License-Identifier: Apache-2.0
"""Design-space exploration of the HLS accelerator (the build's ``dse`` stage, ``edgepool dse``).

:func:`explore` enumerates configurations (:mod:`.space`: dataflow foldings, overlay PE x SIMD x
DMA width x tile x clock), evaluates each with the analytic cost model (:func:`.cost.estimate`,
in parallel worker processes), keeps those that fit the board within a utilization margin,
marks the Pareto front of (latency, resource-weighted area) and picks the default: the lowest
latency that fits at a clock the part closes (ties within ``space.tie`` -> the smaller area).
Everything is deterministic: the same program and board give the same CSV and the same choice.

Outputs (:func:`write_outputs`): ``pareto.csv`` (every candidate, with ``fits`` / ``pareto`` /
``chosen`` flags), ``pareto.png`` (latency vs DSP and vs BRAM36, front, choice, budget lines),
``dse.md`` (choice, per-layer bound analysis, front, word-length study).
"""

from __future__ import annotations

import csv
import io
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from ..accel.engine import HlsConfig
from ..accel.folding import folding_problems
from ..accel.manifest import decode, encode
from ..accel.program import HwProgram
from ..errors import ConfigError, ManifestError, ResourceBudgetError
from ..targets import Board, get_target
from . import cost
from .cost import Device
from .pareto import pareto_front
from .space import (
    DseSpace,
    dataflow_configs,
    ddr_port_gbps,
    device_of,
    overlay_configs,
    pad_channels,
    skeleton,
)

SEED_PAPER = {"latency_s": 2.0, "power_w": 2.63, "gops_per_w": 6.0, "bits": 16,
              "clock_mhz": None}


# --------------------------------------------------------------------------- config <-> dict
def config_to_dict(cfg: HlsConfig) -> dict[str, Any]:
    """JSON-able dict of an :class:`HlsConfig` (per-layer PE/SIMD as lists): the manifest's
    codec (:func:`edgepool.accel.manifest.encode`)."""
    return encode(cfg)


def config_from_dict(d: dict[str, Any]) -> HlsConfig:
    """Inverse of :func:`config_to_dict` (the manifest's codec); unknown keys or mistyped
    values are a :class:`ConfigError`, missing ones take the defaults."""
    names = {f.name for f in fields(HlsConfig)}
    unknown = sorted(set(d) - names)
    if unknown:
        raise ConfigError(f"unknown HLS configuration keys {unknown}",
                          f"known keys: {', '.join(sorted(names))}")
    try:
        return decode(HlsConfig, d, "HLS configuration")
    except ManifestError as e:
        raise ConfigError(e.message, "see edgepool.accel.engine.HlsConfig") from None


# --------------------------------------------------------------------------- candidates
@dataclass(frozen=True)
class Candidate:
    """One evaluated configuration. ``fits``: within the utilization margin; ``eligible``: fits
    and its clock is one the part closes (:func:`.space.closure_mhz`); ``compute_cycles``: the
    cycles with unlimited DMA bandwidth (``cycles`` much larger = memory bound)."""

    index: int
    config: HlsConfig
    cycles: int = 0
    interval_cycles: int = 0
    compute_cycles: int = 0
    dsp: int = 0
    bram36: int = 0
    lut: int = 0
    macs: int = 0
    padding: tuple[str, ...] = ()
    error: str = ""
    util: tuple[float, float, float] = (0.0, 0.0, 0.0)
    fits: bool = False
    eligible: bool = False
    pareto: bool = False
    chosen: bool = False
    layer_cycles: tuple[tuple[str, int, int], ...] = field(default=(), repr=False)

    @property
    def style(self) -> str:
        return self.config.style

    @property
    def latency_s(self) -> float:
        return self.cycles / (self.config.clock_mhz * 1e6) if self.cycles else float("inf")

    @property
    def fps(self) -> float:
        """Images per second when streaming (dataflow: one per interval)."""
        return self.config.clock_mhz * 1e6 / self.interval_cycles if self.interval_cycles else 0.0

    @property
    def gops(self) -> float:
        """Useful GOP/s: 2 x the original program's MACs (no padding) per latency."""
        return 2 * self.macs / self.latency_s / 1e9 if self.cycles else 0.0

    @property
    def area(self) -> float:
        """Resource-weighted area: the mean utilization of DSP, BRAM36 and LUT."""
        return sum(self.util) / 3

    @property
    def memory_bound_fraction(self) -> float:
        """Share of the cycles spent beyond pure compute (DMA / DDR bandwidth)."""
        return 1 - self.compute_cycles / self.cycles if self.cycles else 0.0

    def label(self) -> str:
        c = self.config
        if c.style == "overlay":
            return (f"overlay PE={c.pe} SIMD={c.simd} DMA={c.dma_bits} tile={c.max_tile_nf} "
                    f"@{c.clock_mhz:g}MHz")
        pe, simd = c.pe, c.simd
        par = sum(p * s for p, s in zip(pe, simd, strict=True)) if isinstance(pe, tuple) else 0
        return f"dataflow PE={_seq(pe)} SIMD={_seq(simd)} ({par} MAC lanes) @{c.clock_mhz:g}MHz"


def _seq(v: int | tuple[int, ...]) -> str:
    return str(v) if isinstance(v, int) else "/".join(str(x) for x in v)


def _evaluate(task: tuple[int, HlsConfig, HwProgram, tuple[str, ...], int]) -> Candidate:
    """Cost of one configuration (runs in a worker process)."""
    index, cfg, program, padding, macs = task
    try:
        pc = cost.estimate(program, cfg)
    except ConfigError as e:
        return Candidate(index, cfg, macs=macs, padding=padding, error=e.message)
    compute = pc.cycles
    if cfg.style == "overlay":
        compute = cost.estimate(program, replace(cfg, dma_bits=1 << 20, ddr_port_gbps=0.0)).cycles
    return Candidate(index, cfg, pc.cycles, pc.interval_cycles, compute, pc.dsp, pc.bram36,
                     pc.lut, macs, padding,
                     layer_cycles=tuple((lc.name, lc.cycles, 0) for lc in pc.layers))


def _program_macs(program: HwProgram) -> int:
    return sum(layer.macs for layer in program.layers)


def _tasks(program: HwProgram, board: Board, space: DseSpace, device: Device) -> list[tuple]:
    sk = skeleton(program)
    macs = _program_macs(sk)
    rows: list[tuple[HlsConfig, HwProgram, tuple[str, ...]]] = []
    if "dataflow" in space.styles:
        rows += dataflow_configs(sk, board, space, device)
    if "overlay" in space.styles:
        rows += overlay_configs(sk, board, space, device)
    return [(i, cfg, prog, notes, macs) for i, (cfg, prog, notes) in enumerate(rows)]


def _run(tasks: list[tuple], jobs: int, progress: bool, what: str) -> list[Candidate]:
    jobs = (os.cpu_count() or 1) if jobs <= 0 else jobs
    bar = None
    if progress:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        bar = Progress(TextColumn(f"[bold]dse[/] {what}"), BarColumn(), MofNCompleteColumn(),
                       TimeElapsedColumn(), transient=True)
    out: list[Candidate] = []
    chunk = max(1, len(tasks) // (8 * jobs))
    if bar is not None:
        bar.start()
        tid = bar.add_task("evaluate", total=len(tasks))
    try:
        if jobs == 1 or len(tasks) < 16:
            for t in tasks:
                out.append(_evaluate(t))
                if bar is not None:
                    bar.advance(tid)
        else:
            with ProcessPoolExecutor(max_workers=jobs) as ex:
                for c in ex.map(_evaluate, tasks, chunksize=chunk):
                    out.append(c)
                    if bar is not None:
                        bar.advance(tid)
    finally:
        if bar is not None:
            bar.stop()
    return out


def _utilization(c: Candidate, device: Device) -> tuple[float, float, float]:
    return (c.dsp / device.dsp, c.bram36 / device.bram36, c.lut / device.lut)


def _rank_key(c: Candidate) -> tuple:
    return (c.area, c.config.clock_mhz, c.latency_s, c.index)


def choose(cands: list[Candidate], tie: float) -> Candidate | None:
    """The default: lowest latency among the eligible candidates; all within ``tie`` (relative)
    of it count as tied and the smallest area wins (then the lower clock, then enumeration
    order). ``None`` if nothing is eligible."""
    ok = [c for c in cands if c.eligible]
    if not ok:
        return None
    best = min(c.latency_s for c in ok)
    tied = [c for c in ok if c.latency_s <= best * (1 + tie)]
    return min(tied, key=_rank_key)


def explore(program: HwProgram, board: Board | str, space: DseSpace | None = None,
            jobs: int = 0, progress: bool = False, raise_if_none: bool = True
            ) -> list[Candidate]:
    """Evaluate the design space of ``program`` on ``board`` (see module docstring).

    Returns every candidate in enumeration order with ``fits``, ``eligible``, ``pareto`` and
    ``chosen`` set. Raises :class:`ResourceBudgetError` (naming the smallest configuration's
    needs and the budget) when nothing fits, unless ``raise_if_none`` is false.
    """
    board = get_target(board) if isinstance(board, str) else board
    if not isinstance(board, Board):
        raise ConfigError(f"target {board.name!r} is not an FPGA board",
                          "design-space exploration needs a board (ultra96, zcu104, pynq-z2)")
    space = space or DseSpace()
    device = device_of(board)
    cap = space.cap(board)
    raw = _run(_tasks(program, board, space, device), jobs, progress,
               f"{program.name} on {board.name}")
    cands = []
    for c in raw:
        if c.error:
            cands.append(c)
            continue
        u = _utilization(c, device)
        fits = all(x <= space.margin for x in u)
        cands.append(replace(c, util=u, fits=fits,
                             eligible=fits and c.config.clock_mhz <= cap))
    ok = [i for i, c in enumerate(cands) if c.eligible]
    front = {ok[j] for j in pareto_front([(cands[i].latency_s, cands[i].area) for i in ok])}
    cands = [replace(c, pareto=i in front) for i, c in enumerate(cands)]
    best = choose(cands, space.tie)
    if best is None:
        if raise_if_none:
            raise budget_error(cands, board, space)
        return cands
    return [replace(c, chosen=c.index == best.index) for c in cands]


def evaluate_config(program: HwProgram, board: Board, cfg: HlsConfig) -> Candidate:
    """One configuration evaluated as :func:`explore` does (padded skeleton for the overlay,
    utilization of ``board``): what the hls stage records when it had to change the
    configuration, so that ``manifest["estimates"]`` always describes the built hardware."""

    sk = skeleton(program)
    padded, notes = (pad_channels(sk, cfg.pe, cfg.simd) if cfg.style == "overlay"
                     else (sk, []))
    c = _evaluate((0, cfg, padded, tuple(notes), _program_macs(sk)))
    if c.error:
        raise ConfigError(f"configuration {c.label()}: {c.error}")
    u = _utilization(c, device_of(board))
    return replace(c, util=u, fits=all(x <= 1.0 for x in u))


def budget(board: Board, space: DseSpace) -> dict[str, float]:
    """The resources a configuration may use (``margin`` of the device) and the clock cap."""
    d = device_of(board)
    return {"dsp": int(d.dsp * space.margin), "bram36": int(d.bram36 * space.margin),
            "lut": int(d.lut * space.margin), "clock_mhz": space.cap(board)}


def budget_error(cands: list[Candidate], board: Board, space: DseSpace) -> ResourceBudgetError:
    """The error when nothing fits: the smallest configuration's needs vs the budget."""
    b = budget(board, space)
    valid = [c for c in cands if not c.error]
    if not valid:
        reasons = sorted({c.error for c in cands})[:3]
        return ResourceBudgetError(
            f"no configuration of the accelerator can run this program on {board.name}: "
            + "; ".join(reasons), "see the HLS library's constraints in hls/README.md")
    small = min(valid, key=lambda c: (c.area, c.index))
    return ResourceBudgetError(
        f"no configuration fits {board.name} ({board.part}) within {space.margin:.0%} of its "
        f"resources: the smallest ({small.label()}) needs {small.dsp:,} DSP, "
        f"{small.bram36:,} BRAM36, {small.lut:,} LUT; budget {b['dsp']:,} DSP, "
        f"{b['bram36']:,} BRAM36, {b['lut']:,} LUT",
        "choose a larger board (e.g. --target zcu104), a narrower word length, or a smaller "
        "model")


def chosen_of(cands: list[Candidate]) -> Candidate:
    """The chosen candidate of an :func:`explore` result."""
    for c in cands:
        if c.chosen:
            return c
    raise ValueError("no candidate is chosen")


# --------------------------------------------------------------------------- reporting
CSV_FIELDS = ("index", "style", "clock_mhz", "pe", "simd", "dma_bits", "max_tile_nf",
              "lb_words", "wbuf_words", "plb_words", "splb_words", "act_bits", "w_bits",
              "acc_bits", "cycles", "compute_cycles", "interval_cycles", "latency_s", "fps",
              "gops", "dsp", "bram36", "lut", "dsp_util", "bram_util", "lut_util", "area", "fits",
              "eligible", "pareto", "chosen", "padding", "error")


def csv_text(cands: list[Candidate]) -> str:
    """``pareto.csv``: every candidate in enumeration order (fixed number formats)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_FIELDS)
    for c in cands:
        k = c.config
        ok = not c.error
        w.writerow([c.index, k.style, f"{k.clock_mhz:g}", _seq(k.pe), _seq(k.simd), k.dma_bits,
                    k.max_tile_nf if k.style == "overlay" else "",
                    *((k.lb_words, k.wbuf_words, k.plb_words, k.splb_words)
                      if k.style == "overlay" else ("", "", "", "")),
                    k.act_bits, k.w_bits, k.acc_bits,
                    c.cycles if ok else "", c.compute_cycles if ok else "",
                    c.interval_cycles if ok else "",
                    f"{c.latency_s:.6g}" if ok else "", f"{c.fps:.6g}" if ok else "",
                    f"{c.gops:.6g}" if ok else "",
                    c.dsp if ok else "", c.bram36 if ok else "", c.lut if ok else "",
                    *(f"{u:.4f}" for u in c.util), f"{c.area:.4f}",
                    int(c.fits), int(c.eligible), int(c.pareto), int(c.chosen),
                    "; ".join(c.padding), c.error])
    return buf.getvalue()


def plot(cands: list[Candidate], board: Board, space: DseSpace, path: Path, title: str) -> None:
    """``pareto.png``: latency vs DSP and vs BRAM36 (log latency), every valid candidate, the
    front, the choice, the budget (margin) and device lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    d = device_of(board)
    valid = [c for c in cands if not c.error]
    fig, axes = plt.subplots(1, 2, figsize=(12, 5.6), sharey=True)
    for ax, key, total, name in ((axes[0], "dsp", d.dsp, "DSP48E2"),
                                 (axes[1], "bram36", d.bram36, "BRAM36")):
        for style, marker in (("dataflow", "s"), ("overlay", "o")):
            for group, color, alpha, what in (
                    ((False, False), "0.75", 0.35, " (does not fit)"),
                    ((True, False), "tab:cyan", 0.35, " (fits, clock above the cap)"),
                    ((True, True), "tab:blue", 0.5, "")):
                pts = [c for c in valid if c.style == style and (c.fits, c.eligible) == group]
                if pts:
                    ax.scatter([getattr(c, key) for c in pts], [c.latency_s for c in pts],
                               s=12, marker=marker, c=color, alpha=alpha, label=style + what)
        front = sorted((c for c in valid if c.pareto), key=lambda c: c.latency_s)
        if front:
            ax.scatter([getattr(c, key) for c in front], [c.latency_s for c in front], s=28,
                       facecolors="none", edgecolors="tab:red", label="Pareto front "
                       "(latency, area)")
        for c in valid:
            if c.chosen:
                ax.scatter([getattr(c, key)], [c.latency_s], s=220, marker="*", c="gold",
                           edgecolors="black", zorder=5, label=f"chosen: {c.label()}")
        ax.axvline(total * space.margin, color="tab:orange", ls="--",
                   label=f"budget {space.margin:.0%}")
        ax.axvline(total, color="tab:red", ls=":", label=f"{board.name} {total}")
        ax.set_xscale("symlog", linthresh=10)
        ax.set_xlim(left=0)
        ax.set_yscale("log")
        ax.set_xlabel(name)
        ax.grid(alpha=0.3, which="both")
    axes[0].set_ylabel("latency per image [s]")
    handles, labels = axes[1].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=7, loc="lower center", ncol=3, frameon=False)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout(rect=(0, 0.16, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def summary(c: Candidate, board: Board, space: DseSpace) -> dict[str, Any]:
    """The ``config.summary`` of the manifest (shown in report.md)."""
    k = c.config
    s: dict[str, Any] = {
        "style": k.style, "pe": _seq(k.pe), "simd": _seq(k.simd), "clock_mhz": k.clock_mhz,
        "dma_bits": k.dma_bits, "act_bits": k.act_bits, "w_bits": k.w_bits,
        "int8_dsp_packing": k.int8_dsp_packing and k.act_bits <= 8 and k.w_bits <= 8,
        "label": c.label(),
        "clock_note": f"<= {space.cap(board)} MHz"
                      + (f": what HLS designs close on {board.part}" if not space.clock_cap_mhz
                         else " (chosen by the user)"),
    }
    if k.style == "overlay":
        s.update(max_tile_nf=k.max_tile_nf, lb_words=k.lb_words, wbuf_words=k.wbuf_words,
                 plb_words=k.plb_words, splb_words=k.splb_words,
                 ddr_port_gbps=round(k.ddr_port_gbps, 3))
    if c.padding:
        s["channel_padding"] = "; ".join(c.padding)
    return s


def estimates(c: Candidate) -> dict[str, Any]:
    """The flat ``estimates`` of the manifest."""
    return {"latency_s": c.latency_s, "gops": c.gops, "fps": c.fps, "cycles": c.cycles,
            "interval_cycles": c.interval_cycles, "clock_mhz": c.config.clock_mhz,
            "dsp": c.dsp, "bram36": c.bram36, "lut": c.lut,
            "dsp_util": round(c.util[0], 4), "bram_util": round(c.util[1], 4),
            "lut_util": round(c.util[2], 4), "macs": c.macs,
            "memory_bound_fraction": round(c.memory_bound_fraction, 4)}


def layer_bounds(program: HwProgram, c: Candidate) -> list[dict[str, Any]]:
    """Per layer of the chosen configuration: cycles, compute-only cycles (unlimited DMA), and
    whether DMA / DDR bandwidth (``memory``) or the MAC array (``compute``) bounds it."""
    k = c.config
    prog = skeleton(program)
    if k.style == "overlay":

        prog, _ = pad_channels(prog, k.pe, k.simd)
        full = cost.estimate(prog, k)
        comp = cost.estimate(prog, replace(k, dma_bits=1 << 20, ddr_port_gbps=0.0))
    else:
        full = comp = cost.estimate(prog, k)
    rows = []
    for layer, lf, lc in zip(prog.layers, full.layers, comp.layers, strict=True):
        w_bytes = 0 if layer.weights is None else (
            int(_prod(layer.weights.shape)) * (layer.weight_type.bits if layer.weight_type
                                               else k.w_bits) // 8)
        rows.append({"layer": layer.name, "macs": layer.macs, "cycles": lf.cycles,
                     "compute_cycles": lc.cycles, "weight_bytes": w_bytes,
                     "bound": "memory" if lf.cycles > 1.1 * lc.cycles else "compute",
                     "ms": lf.cycles / (k.clock_mhz * 1e3)})
    return rows


def _prod(xs: tuple[int, ...]) -> int:
    out = 1
    for x in xs:
        out *= int(x)
    return out


def markdown(program: HwProgram, cands: list[Candidate], board: Board, space: DseSpace,
             study_md: str = "", notes: tuple[str, ...] = ()) -> str:
    """``dse.md``: space, choice, per-layer bounds, the front, word-length study."""
    c = chosen_of(cands)
    b = budget(board, space)
    valid = [x for x in cands if not x.error]
    n_fit = sum(x.fits for x in cands)
    clocks = ", ".join(str(int(x)) for x in sorted({x.config.clock_mhz for x in cands}))
    k = c.config
    lines = [f"# Design-space exploration: {program.name} on {board.name} ({board.part})", "",
             f"{len(cands)} configurations evaluated ({len(valid)} valid, {n_fit} fit within "
             f"{space.margin:.0%} of {board.resources['dsp']} DSP / "
             f"{board.resources['bram36']} BRAM36 / {board.resources['lut']:,} LUT; "
             f"{sum(x.pareto for x in cands)} on the Pareto front of latency vs "
             "resource-weighted area = mean(DSP, BRAM36, LUT utilization)).",
             f"Clocks: {clocks} MHz evaluated; the choice uses <= {b['clock_mhz']} MHz "
             "(what HLS designs with "
             f"pipelined DSP48E2s close on {board.part}); faster ones are listed, not chosen.",
             f"DDR: {board.memory.get('ddr', '?')}, {board.memory.get('ddr_gbps', '?')} GB/s "
             f"sustained over {board.memory.get('hp_ports', '?')} HP ports -> "
             f"{ddr_port_gbps(board):.3g} GB/s per m_axi port (weights, activations in, "
             "activations out on separate ports), capping every overlay DMA transfer.", "",
             "Every latency, throughput, GOP/s, DSP, BRAM36, LUT, cycle and clock figure in this "
             "file is an **estimate** of the analytic cost model (`edgepool/dse/cost.py`); "
             "nothing was synthesized or measured.", "",
             "## Chosen configuration (estimates)", "", f"**{c.label()}**", "",
             "| metric | estimate | budget |", "|---|---|---|",
             f"| latency | {c.latency_s * 1e3:,.3f} ms | |",
             f"| throughput | {c.fps:,.1f} images/s | |",
             f"| GOP/s (2 x {c.macs:,} MACs / latency) | {c.gops:,.2f} | |",
             f"| DSP | {c.dsp} ({c.util[0]:.0%}) | {b['dsp']} |",
             f"| BRAM36 | {c.bram36} ({c.util[1]:.0%}) | {b['bram36']} |",
             f"| LUT | {c.lut:,} ({c.util[2]:.0%}) | {b['lut']:,} |",
             f"| clock | {k.clock_mhz:g} MHz | {b['clock_mhz']} MHz |",
             f"| cycles (compute only) | {c.cycles:,} ({c.compute_cycles:,}) | |", ""]
    if c.padding:
        lines += [f"Channel padding (exact; the driver/generator must apply it): "
                  f"{'; '.join(c.padding)}.", ""]
    lines += [f"- {n}" for n in notes]
    if notes:
        lines.append("")
    if program.name.lower().startswith("vgg16"):
        lines += [f"Seed paper (VGG16, Ultra96, Q2.14, PYNQ): {SEED_PAPER['latency_s']} s per "
                  f"image at {SEED_PAPER['power_w']} W. This estimate: {c.latency_s:.3g} s "
                  f"({SEED_PAPER['latency_s'] / c.latency_s:.2f}x).", ""]
    rows = layer_bounds(program, c)
    lines += ["## Per layer (chosen configuration, estimated)", "",
              "| layer | MACs (padded) | weights [B] | est. cycles | compute-only | bound | "
              "est. ms |",
              "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| `{r['layer'][-28:]}` | {r['macs']:,} | {r['weight_bytes']:,} | "
                     f"{r['cycles']:,} | {r['compute_cycles']:,} | {r['bound']} | "
                     f"{r['ms']:.3f} |")
    mem = sum(r["cycles"] for r in rows if r["bound"] == "memory")
    lines += ["", f"Memory-bound layers take {mem / max(1, c.cycles):.0%} of the cycles.", ""]
    front = sorted((x for x in cands if x.pareto), key=lambda x: (x.latency_s, x.area))
    lines += ["## Pareto front (eligible candidates, estimated)", "",
              "| configuration | est. latency [ms] | est. GOP/s | est. DSP | est. BRAM36 | "
              "est. LUT | area |",
              "|---|---|---|---|---|---|---|"]
    for x in front[:40]:
        lines.append(f"| {x.label()}{' **(chosen)**' if x.chosen else ''} | "
                     f"{x.latency_s * 1e3:,.3f} | {x.gops:,.2f} | {x.dsp} | {x.bram36} | "
                     f"{x.lut:,} | {x.area:.3f} |")
    if len(front) > 40:
        lines.append(f"| ... {len(front) - 40} more in pareto.csv | | | | | | |")
    lines += ["", "## Best per style (any clock, fitting; estimated)", "",
              "| style | configuration | est. latency [ms] | est. DSP | est. BRAM36 | est. LUT |",
              "|---|---|---|---|---|---|"]
    for style in ("dataflow", "overlay"):
        fit = [x for x in cands if x.fits and x.style == style]
        if fit:
            x = min(fit, key=lambda x: (x.latency_s, x.area, x.index))
            lines.append(f"| {style} | {x.label()} | {x.latency_s * 1e3:,.3f} | {x.dsp} | "
                         f"{x.bram36} | {x.lut:,} |")
        else:
            some = [x for x in cands if x.style == style and not x.error]
            why = (f"smallest needs {min(some, key=lambda x: x.area).bram36} BRAM36 / "
                   f"{min(some, key=lambda x: x.area).dsp} DSP" if some else
                   (sorted({x.error for x in cands if x.style == style}) or ["not explored"])[0])
            lines.append(f"| {style} | nothing fits: {why} | | | | |")
    if study_md:
        lines += ["", study_md]
    lines.append("")
    return "\n".join(lines)


def write_outputs(program: HwProgram, cands: list[Candidate], board: Board, space: DseSpace,
                  out_dir: Path, study_md: str = "", notes: tuple[str, ...] = ()) -> None:
    """Write ``pareto.csv``, ``pareto.png`` and ``dse.md`` into ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "pareto.csv").write_text(csv_text(cands))
    plot(cands, board, space, out_dir / "pareto.png",
         f"{program.name} on {board.name}: {len(cands)} configurations")
    (out_dir / "dse.md").write_text(markdown(program, cands, board, space, study_md, notes))


def program_notes(program: HwProgram, c: Candidate) -> tuple[str, ...]:
    """Caveats of the chosen configuration (the overlay's wide final output, dataflow folding
    problems)."""
    notes = []
    if c.style == "overlay":
        if c.config.out_bits:
            last = program.layers[-1]
            notes.append(f"final layer {last.name} writes its raw accumulator ({last.out_type}) "
                         f"in {c.config.out_bits}-bit containers through the overlay's wide "
                         f"output path (OUT_BITS); activations stay {c.config.act_bits}-bit")
    else:
        problems = folding_problems(program, c.config.pe, c.config.simd)
        notes += problems
    return tuple(notes)


def space_for(board: Board, style: str = "auto", clock_mhz: float | None = None,
              margin: float = 0.85) -> DseSpace:
    """The :class:`DseSpace` of the build settings (``BuildConfig``): ``style`` auto explores
    both styles; a fixed ``clock_mhz`` is the only clock and lifts the closure cap."""
    styles = ("dataflow", "overlay") if style == "auto" else (style,)
    if clock_mhz is None:
        return DseSpace(styles=styles, margin=margin)
    mx = float(board.clocks.get("max_mhz", clock_mhz))
    if clock_mhz > mx:
        raise ConfigError(f"clock {clock_mhz:g} MHz is above {board.name}'s maximum {mx:g} MHz",
                          f"choose <= {mx:g} MHz (hw/boards/{board.name}.toml)")
    return DseSpace(styles=styles, margin=margin, clocks_mhz=(int(clock_mhz),),
                    clock_cap_mhz=int(clock_mhz))
