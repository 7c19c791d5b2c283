# SPDX-License-Identifier: Apache-2.0
"""Yosys synthesis of the generated RTL: cell counts per design (generic ``synth``) and, on
request, Xilinx resources (``synth_xilinx -family xcup`` UltraScale+ / ``xc7`` 7-series: LUT /
FF / BRAM / DSP) and the logic depth (:func:`synth_sources` ``ltp``).

Per block (:func:`synth_blocks`, script ``templates/yosys/blocks.ys.j2``): the blocks of
``sim/rtl`` kept as modules through ``synth_xilinx``, their cells, parameters and logic levels
(:func:`logic_levels`: ``ltp`` on the mapped netlist with flip-flops / block RAMs cut), the
flattened design's deepest path (:func:`critical_path`); :func:`compare_blocks` puts them beside
the RTL resource model (:func:`edgepool.dse.cost.rtl_block_resources`) and
:func:`rtl_synth_table` renders that with the device's capacity (markdown, for the build
report). DSP packing follows the family (on for ``xcup``, off for ``xc7``).

The RTL overlay IP (:func:`synth_overlay`) is synthesized whole and flattened, from its
capacities (:class:`~edgepool.accel.engine.OverlayParams`); target ``xcup-dsp-bram`` stops
``synth_xilinx`` after the DSP and block RAM inference (their counts, without the LUT mapping).

The script is rendered from ``edgepool/codegen/templates/yosys/synth.ys.j2`` through the one
emitter environment (:mod:`edgepool.codegen.emit`); the design is generated from an HwProgram
(a single-layer program gives the numbers of one block), with the library modules copied beside
the top so that the script names plain files only, and flattened, so ``stat`` reports one
module. Run from the generated directory, where ``$readmemh`` finds the ROM images.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .. import toolchain
from ..accel.engine import OverlayParams
from ..accel.program import HwProgram
from ..errors import ToolchainError
from .emit import render
from .names import check_safe
from .rtl import LayerFolding, generate_accel, generate_rtl
from .rtl_overlay import generate_overlay

#: the synthesis command per target
SYNTH = {"generic": "synth -top {top} -flatten",
         "xcup": "synth_xilinx -family xcup -top {top} -flatten",
         "xc7": "synth_xilinx -family xc7 -top {top} -flatten",
         # UltraScale+ up to the DSP and block RAM inference (the fine-grained mapping to
         # LUTs / FFs skipped): DSP48E2 / RAMB counts in a fraction of the time
         "xcup-dsp-bram": "synth_xilinx -family xcup -top {top} -flatten -run :fine"}


@dataclass
class SynthReport:
    """Cell counts of one synthesized design."""

    name: str
    target: str                       # "generic" or "xcup"
    cells: int
    cell_types: dict[str, int] = field(default_factory=dict)
    wires: int = 0
    #: Yosys ``ltp -noff`` after generic synthesis mapped to LUT6 (``abc -lut 6``): the most
    #: 6-input LUT levels between flip-flops; None when not asked for
    logic_depth: int | None = None

    def summary(self) -> dict[str, int]:
        """Generic: total cells, flip-flops, memories; Xilinx: LUT, FF, BRAM, DSP, CARRY."""
        t = self.cell_types
        if self.target == "generic":
            ff = sum(v for k, v in t.items() if "DFF" in k.upper())
            mem = sum(v for k, v in t.items() if "MEM" in k.upper())
            return {"cells": self.cells, "ff": ff, "mem": mem}
        pick = {
            "LUT": sum(v for k, v in t.items() if k.startswith("LUT")),
            "FF": sum(v for k, v in t.items() if re.fullmatch(r"FD[A-Z]*", k)),
            "BRAM": sum(v for k, v in t.items() if k.startswith("RAMB")),
            "LUTRAM": sum(v for k, v in t.items() if k.startswith(("RAM32", "RAM64", "RAM128",
                                                                     "RAM256"))),
            "DSP": sum(v for k, v in t.items() if k.startswith("DSP")),
            "CARRY": sum(v for k, v in t.items() if k.startswith("CARRY")),
        }
        return {"cells": self.cells, **pick}


def parse_stat(text: str) -> tuple[int, dict[str, int], int]:
    """Parse the LAST ``stat`` block of a yosys log: (cells, {type: count}, wires)."""
    blocks = text.split("Number of cells:")
    if len(blocks) < 2:
        raise ToolchainError("no `stat` output in the yosys log")
    last = blocks[-1]
    cells = int(last.split()[0])
    types: dict[str, int] = {}
    for line in last.splitlines()[1:]:
        m = re.fullmatch(r"\s+(\S+)\s+(\d+)\s*", line)
        if not m:
            if types:
                break
            continue
        types[m.group(1)] = int(m.group(2))
    wires_m = re.findall(r"Number of wires:\s+(\d+)", text)
    return cells, types, int(wires_m[-1]) if wires_m else 0


def parse_ltp(text: str) -> int:
    """The length of the LAST ``ltp`` report of a yosys log."""
    m = re.findall(r"Longest topological path in \S+ \(length=(\d+)\)", text)
    if not m:
        raise ToolchainError("no `ltp` output in the yosys log")
    return int(m[-1])


def synth_sources(name: str, sources: list[Path], top: str, target: str, workdir: Path,
                  timeout: float = 900, ltp: bool = False) -> SynthReport:
    """Synthesize ``sources`` (all inside ``workdir``; top ``top``) with the script template;
    ``target`` generic, ``xcup`` (UltraScale+) or ``xc7`` (7-series). ``ltp`` adds the logic
    depth: the elaborated design through generic synthesis mapped to 6-input LUTs (``abc -lut
    6``; adders count as LUT levels, so carry-chain paths are overstated) and ``ltp -noff``
    (paths cut at the flip-flops, which the Xilinx FD* primitives would not be)."""
    yosys = toolchain.require("yosys")
    if target not in SYNTH:
        raise ToolchainError(f"unknown synthesis target {target!r}",
                             f"use one of {', '.join(SYNTH)}")
    script = render("yosys/synth.ys.j2", top=check_safe(top),
                    sources=[check_safe(Path(s).name) for s in sources],
                    synth=SYNTH[target].format(top=top), ltp=ltp)
    (Path(workdir) / "synth.ys").write_text(script)
    p = subprocess.run([yosys, "-q", "-l", "synth.log", "synth.ys"], cwd=workdir,
                       capture_output=True, text=True, timeout=timeout)
    log = (Path(workdir) / "synth.log").read_text(errors="replace")
    if p.returncode != 0:
        raise ToolchainError(f"yosys failed on {name}:\n{p.stderr[-2000:]}")
    cells, types, wires = parse_stat(log)
    return SynthReport(name, target, cells, types, wires, parse_ltp(log) if ltp else None)


def synth_program(program: HwProgram, folding: Mapping[str, LayerFolding] | None = None,
                  target: str = "generic", workdir: str | Path | None = None,
                  timeout: float = 900, ltp: bool = False) -> SynthReport:
    """Generate and synthesize ``program``'s datapath top (``ep_top``) with yosys."""
    with _workdir(workdir) as wd:
        design = generate_rtl(program, wd, folding, copy_library=True,
                              dsp_pack=target != "xc7")
        return synth_sources(program.name, design.sources, design.top, target, wd, timeout,
                             ltp)


def synth_accel(program: HwProgram, folding: Mapping[str, LayerFolding] | None = None,
                target: str = "xcup", workdir: str | Path | None = None,
                timeout: float = 1800, ltp: bool = True) -> SynthReport:
    """The whole dataflow IP (``ep_accel``: AXI4-Lite control, stream width converters and
    the datapath) of ``program`` through yosys, with its logic depth by default."""
    with _workdir(workdir) as wd:
        acc = generate_accel(program, wd, folding, copy_library=True,
                             dsp_pack=target != "xc7")
        return synth_sources(program.name, acc.sources, acc.top, target, wd, timeout, ltp)



def synth_overlay(params: OverlayParams, target: str = "xcup",
                  workdir: str | Path | None = None, timeout: float = 3600,
                  ltp: bool = False, name: str = "overlay") -> SynthReport:
    """The RTL overlay IP (``edgepool_overlay``: AXI4-Lite control, the AXI4 read / write
    engines and the layer engine ``ep_ovl_core``) for the capacities ``params`` through yosys
    (:func:`~edgepool.codegen.rtl_overlay.generate_overlay` with the library copied beside
    the top), packing two int8 MAC lanes per DSP48E2 except for ``xc7`` (DSP48E1)."""
    with _workdir(workdir) as wd:
        d = generate_overlay(params, wd, copy_library=True, dsp_pack=target != "xc7")
        return synth_sources(name, d.sources, d.top, target, wd, timeout, ltp)


@contextlib.contextmanager
def _workdir(workdir: str | Path | None):
    if workdir is not None:
        Path(workdir).mkdir(parents=True, exist_ok=True)
        yield Path(workdir)
        return
    with tempfile.TemporaryDirectory(prefix="ep-synth-") as d:
        yield Path(d)


def table(reports: list[SynthReport]) -> str:
    """Reports as a text table (one row each)."""
    if not reports:
        return ""
    keys = list(reports[0].summary())
    rows = [f"{'design':<28}" + "".join(f"{k:>9}" for k in keys)]
    for r in reports:
        s = r.summary()
        rows.append(f"{r.name[:27]:<28}" + "".join(f"{s.get(k, 0):>9}" for k in keys))
    return "\n".join(rows)


# --------------------------------------------------------------------------- per-block synthesis
#: the hand-written modules of sim/rtl reported one by one (kept as hierarchy; the ROMs, RAMs
#: and requantizers they instantiate are flattened into them)
BLOCK_MODULES = ("ep_swg", "ep_mvau", "ep_pool", "ep_ser", "ep_axil_ctrl", "ep_axis_pack",
                 "ep_axis_unpack")
#: ``synth_xilinx`` family per board (UltraScale+ MPSoC boards, 7-series Zynq)
FAMILY = {"ultra96": "xcup", "zcu104": "xcup", "pynq-z2": "xc7"}
#: the cells that cut a path for :func:`logic_levels` (blocks.ys.j2 deletes them): flip-flops,
#: SRL shift registers (Yosys maps enable-only register chains to SRL16E / SRLC32E), block and
#: LUT RAMs (their write -> read is clocked; a LUTRAM's address -> data read is one LUT level
#: left uncounted), I/O buffers
CUT_CELLS = ("FD*", "SRL*", "RAMB*", "RAM32*", "RAM64*", "RAM128*", "RAM256*", "IBUF", "OBUF",
             "BUFG")


@dataclass
class BlockSynth:
    """One block of a design after ``synth_xilinx``: the cells of ONE instance, how many
    instances the design holds, its parameters and its logic levels."""

    module: str                        # yosys' module name ($paramod$<hash>\ep_mvau)
    block: str                         # ep_mvau
    params: dict[str, int | str]
    count: int
    report: SynthReport
    depth: int | None = None
    path: tuple[str, ...] = ()         # the deepest path's nodes, start to end


@dataclass
class DesignSynth:
    """A design synthesized block by block: the flattened total, its logic levels and its
    critical path across blocks, and every block."""

    name: str
    target: str
    top: SynthReport
    depth: int
    path: tuple[str, ...]
    blocks: list[BlockSynth]


def _stat_sections(text: str) -> dict[str, str]:
    """``=== name ===`` sections of ONE stat output."""
    parts = re.split(r"^=== (.+) ===\s*$", text, flags=re.M)
    return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts) - 1, 2)}


def _cell_types(section: str) -> tuple[int, dict[str, int]]:
    m = re.search(r"Number of cells:\s+(\d+)", section)
    types: dict[str, int] = {}
    if m:
        for line in section[m.end():].splitlines()[1:]:
            mm = re.fullmatch(r"\s+(\S+)\s+(\d+)\s*", line)
            if not mm:
                break
            types[mm.group(1)] = int(mm.group(2))
    return (int(m.group(1)) if m else 0), types


def _hierarchy_counts(section: str) -> dict[str, int]:
    """Instances of every module in the whole design, from stat's ``design hierarchy``."""
    counts: dict[str, int] = {}
    stack: list[tuple[int, int]] = []          # (indent, multiplicity)
    for line in section.splitlines():
        m = re.fullmatch(r"( +)(\S+)\s+(\d+)\s*", line)
        if not m:
            if line.strip().startswith("Number of"):
                break
            continue
        ind, name, n = len(m.group(1)), m.group(2), int(m.group(3))
        while stack and stack[-1][0] >= ind:
            stack.pop()
        mult = n * (stack[-1][1] if stack else 1)
        counts[name] = counts.get(name, 0) + mult
        stack.append((ind, mult))
    return counts


def _module_params(log: str) -> dict[str, dict[str, int | str]]:
    """The parameters of every derived module (``$paramod...``) from the elaboration log."""
    out: dict[str, dict[str, int | str]] = {}
    cur: dict[str, int | str] = {}
    for line in log.splitlines():
        if "Executing AST frontend in derive mode" in line:
            cur = {}
        m = re.match(r"Parameter \\(\w+) = (.+)$", line)
        if m:
            v = m.group(2).strip()
            cur[m.group(1)] = int(v) if re.fullmatch(r"-?\d+", v) else v
            continue
        m = re.match(r"Generating RTLIL representation for module `(.+)'\.", line)
        if m:
            out[m.group(1)] = dict(cur)
    return out


def logic_levels(log: str) -> dict[str, tuple[int, tuple[str, ...]]]:
    """``{module: (levels, path)}`` of every ``ltp`` report in ``log`` (the last one wins):
    levels = mapped cells (LUT, MUXF, CARRY, DSP) on the longest path between cut cells
    (:data:`CUT_CELLS`) and module ports; every CARRY4/CARRY8 of a carry chain counts one
    level, so adders and comparators are overstated against a vendor timing report."""
    out: dict[str, tuple[int, tuple[str, ...]]] = {}
    for m in re.finditer(r"Longest topological path in (\S+) \(length=(-?\d+)\):\n"
                         r"((?:\s+\d+: .*\n?)*)", log):
        nodes = tuple(re.sub(r" \(via .*\)$", "", ln.split(": ", 1)[1]).strip()
                      for ln in m.group(3).splitlines() if ": " in ln)
        out[m.group(1)] = (int(m.group(2)), nodes)
    return out


def critical_path(design: DesignSynth, ends: int = 2) -> str:
    """The deepest path of ``design`` in words: its levels, start and end node."""
    p = design.path
    if not p:
        return f"{design.depth} levels"
    return f"{design.depth} levels: {p[0]} -> {p[-1]}" if ends else f"{design.depth} levels"


def _short(module: str) -> str:
    m = re.search(r"\\?(\w+)$", module)
    return m.group(1) if m else module


def synth_blocks(program: HwProgram, folding: Mapping[str, LayerFolding] | None = None,
                 target: str = "xcup", workdir: str | Path | None = None,
                 timeout: float = 1800, accel: bool = False,
                 dsp_pack: bool | None = None) -> DesignSynth:
    """``synth_xilinx`` (``target`` ``xcup`` or ``xc7``) of ``program``'s generated datapath
    (``ep_top``; with ``accel`` the whole IP ``ep_accel``), the blocks of :data:`BLOCK_MODULES`
    kept as modules: per block the cells of one instance, its parameters and its logic levels
    (:func:`logic_levels`), and the flattened design's total and its deepest path.
    ``dsp_pack`` defaults to what the family supports (on for xcup, off for xc7)."""
    if target not in ("xcup", "xc7"):
        raise ToolchainError(f"per-block synthesis targets a Xilinx family, not {target!r}",
                             "use xcup (UltraScale+) or xc7 (7-series)")
    toolchain.require("yosys")                       # before generating anything
    pack = (target == "xcup") if dsp_pack is None else dsp_pack
    with _workdir(workdir) as wd:
        if accel:
            d = generate_accel(program, wd, folding, copy_library=True, dsp_pack=pack)
        else:
            d = generate_rtl(program, wd, folding, copy_library=True, dsp_pack=pack)
        return _run_blocks(program.name, d.sources, d.top, target, wd, timeout, BLOCK_MODULES)


def _run_blocks(name: str, sources: list[Path], top: str, target: str, wd: Path,
                timeout: float, modules: tuple[str, ...]) -> DesignSynth:
    """``blocks.ys.j2`` on a generated design in ``wd`` (``modules`` kept), parsed."""
    yosys = toolchain.require("yosys")
    script = render("yosys/blocks.ys.j2", top=check_safe(top),
                    sources=[check_safe(Path(s).name) for s in sources],
                    synth=f"synth_xilinx -family {target} -top {top} -flatten",
                    blocks=[check_safe(m) for m in modules])
    (wd / "blocks.ys").write_text(script)
    p = subprocess.run([yosys, "-q", "-l", "blocks.log", "blocks.ys"], cwd=wd,
                       capture_output=True, text=True, timeout=timeout)
    log = (wd / "blocks.log").read_text(errors="replace")
    if p.returncode != 0:
        raise ToolchainError(f"yosys failed on {name}:\n{p.stderr[-2000:]}")
    return parse_blocks_log(log, name, target, top, modules)


#: the overlay's modules reported one by one by :func:`synth_overlay_blocks`
OVERLAY_BLOCKS = ("ep_ovl_core", "ep_ovl_rq", "ep_ovl_avgdiv", "ep_ovl_rd", "ep_ovl_wr",
                  "ep_ovl_unpack", "ep_ovl_wst", "ep_axil_ctrl")


def synth_overlay_blocks(params: OverlayParams, target: str = "xcup",
                         workdir: str | Path | None = None, timeout: float = 3600,
                         name: str = "overlay") -> DesignSynth:
    """``synth_xilinx`` of the RTL overlay IP with its modules (:data:`OVERLAY_BLOCKS`) kept:
    per module the cells of one instance and its logic levels, and the flattened IP's total
    and deepest path (the ``blocks.ys.j2`` script of :func:`synth_blocks`)."""
    if target not in ("xcup", "xc7"):
        raise ToolchainError(f"per-block synthesis targets a Xilinx family, not {target!r}",
                             "use xcup (UltraScale+) or xc7 (7-series)")
    with _workdir(workdir) as wd:
        d = generate_overlay(params, wd, copy_library=True, dsp_pack=target != "xc7")
        return _run_blocks(name, d.sources, d.top, target, wd, timeout, OVERLAY_BLOCKS)


def parse_blocks_log(log: str, name: str, target: str, top: str,
                     modules: tuple[str, ...] = BLOCK_MODULES) -> DesignSynth:
    """A :class:`DesignSynth` from the log of ``blocks.ys.j2`` (blocks: ``modules``)."""
    try:
        stat_blocks = log.split("EP_STAT_BLOCKS", 1)[1].split("EP_LTP_BLOCKS", 1)[0]
        ltp_blocks = log.split("EP_LTP_BLOCKS", 1)[1].split("EP_STAT_TOP", 1)[0]
        stat_top = log.split("EP_STAT_TOP", 1)[1].split("EP_LTP_TOP", 1)[0]
        ltp_top = log.split("EP_LTP_TOP", 1)[1]
    except IndexError:
        raise ToolchainError("the yosys log misses a section of blocks.ys") from None
    sections = _stat_sections(stat_blocks)
    counts = _hierarchy_counts(sections.get("design hierarchy", ""))
    params = _module_params(log)
    levels = logic_levels(ltp_blocks)
    blocks = []
    for mod, sec in sorted(sections.items()):
        short = _short(mod)
        if short not in modules:
            continue
        cells, types = _cell_types(sec)
        depth, path = levels.get(mod, (None, ()))
        blocks.append(BlockSynth(mod, short, params.get(mod, {}), counts.get(mod, 1),
                                 SynthReport(short, target, cells, types), depth, path))
    cells, types = _cell_types(stat_top)
    top_levels = logic_levels(ltp_top)
    depth, path = top_levels.get(top, (0, ()))
    return DesignSynth(name, target, SynthReport(name, target, cells, types, 0, depth), depth,
                       path, blocks)


def yosys_resources(rep: SynthReport) -> dict[str, float]:
    """LUT / FF / DSP / BRAM36 (RAMB36 + RAMB18 / 2) of a Xilinx synthesis report; LUTRAM
    cells count as LUTs (one RAM64M / RAM32M uses four LUTs, RAM32X1D / RAM64X1D two)."""
    t = rep.cell_types
    lutram = sum(v * (4 if k.startswith(("RAM32M", "RAM64M")) else 2 if k.endswith("D")
                      else 1) for k, v in t.items() if k.startswith(("RAM32", "RAM64",
                                                                     "RAM128", "RAM256")))
    return {"LUT": sum(v for k, v in t.items() if k.startswith("LUT")) + lutram,
            "FF": sum(v for k, v in t.items() if re.fullmatch(r"FD[A-Z]*", k)),
            "DSP": sum(v for k, v in t.items() if k.startswith("DSP")),
            "BRAM36": sum(v for k, v in t.items() if k.startswith("RAMB36"))
            + sum(v for k, v in t.items() if k.startswith("RAMB18")) / 2}


def _err(model: float, synth: float) -> float | None:
    return None if not synth else 100.0 * (model - synth) / synth


def compare_blocks(design: DesignSynth) -> list[dict]:
    """Per block (one row per distinct block module) and for the whole design: the Yosys
    counts, the RTL resource model (:func:`edgepool.dse.cost.rtl_block_resources`) and the
    model's error in percent of Yosys, and the logic levels."""
    from ..dse.cost import RtlResources, rtl_block_resources

    rows = []
    model_total = RtlResources(0, 0, 0, 0.0)
    for b in design.blocks:
        y = yosys_resources(b.report)
        m = rtl_block_resources(b.block, {k: v for k, v in b.params.items()
                                          if isinstance(v, int)})
        model_total = model_total + m.scaled(b.count)
        rows.append(dict(block=b.block, params=_describe(b), count=b.count, yosys=y,
                         model=m.as_dict(), error={k: _err(m.as_dict()[k], y[k]) for k in y},
                         levels=b.depth))
    y = yosys_resources(design.top)
    rows.append(dict(block="TOTAL " + design.name, params="flattened", count=1, yosys=y,
                     model=model_total.as_dict(),
                     error={k: _err(model_total.as_dict()[k], y[k]) for k in y},
                     levels=design.depth))
    return rows


def _describe(b: BlockSynth) -> str:
    keys = {"ep_mvau": ("PE", "SIMD", "IDW", "WW", "ACCW", "NF", "WPF", "DSP_PACK"),
            "ep_swg": ("H", "W", "C", "SIMD", "KH", "KW", "DW"),
            "ep_pool": ("MODE", "SIMD", "DW", "KK"),
            "ep_ser": ("N", "M", "DW")}.get(b.block, ())
    return " ".join(f"{k}={b.params[k]}" for k in keys if k in b.params)


def rtl_synth_table(program: HwProgram, folding: Mapping[str, LayerFolding] | None = None,
                    board: str = "ultra96", accel: bool = True,
                    workdir: str | Path | None = None, design: DesignSynth | None = None
                    ) -> str:
    """Markdown table of :func:`synth_blocks` for ``board``'s family (``FAMILY``): per block
    and for the whole IP, Yosys LUT / FF / DSP / BRAM36 against the RTL resource model and the
    device's capacity, and the logic levels; pass ``design`` to format an earlier run. The
    counts are Yosys synthesis (not placed), the model estimated; the levels are ``ltp``
    path lengths, not a timing report."""
    from ..dse.cost import DEVICES

    if design is None:
        design = synth_blocks(program, folding, FAMILY[board], workdir, accel=accel)
    dev = DEVICES[board]
    cap = {"LUT": dev.lut, "FF": 2 * dev.lut, "DSP": dev.dsp, "BRAM36": dev.bram36}
    head = ("| block | parameters | n | " + " | ".join(
        f"{k} yosys | {k} model | err" for k in cap) + " | logic levels |")
    lines = [f"Yosys 0.23 `synth_xilinx -family {design.target}` of {design.name} for {board} "
             f"(synthesized, not placed; model = estimated). Deepest path: "
             f"{critical_path(design)}.", "", head,
             "|" + "---|" * (3 + 3 * len(cap) + 1)]
    for r in compare_blocks(design):
        cells = []
        for k in cap:
            e = r["error"][k]
            cells += [f"{r['yosys'][k]:g}", f"{r['model'][k]:g}",
                      "" if e is None else f"{e:+.0f} %"]
        lines.append(f"| {r['block']} | {r['params']} | {r['count']} | " + " | ".join(cells)
                     + f" | {'' if r['levels'] is None else r['levels']} |")
    y = yosys_resources(design.top)
    lines.append(f"| {board} capacity | {dev.part} | | " + " | ".join(
        f"{cap[k]} | | {100 * y[k] / cap[k]:.1f} % used" for k in cap) + " | |")
    return "\n".join(lines)
