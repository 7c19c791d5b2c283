# SPDX-License-Identifier: Apache-2.0
"""Yosys synthesis of the generated RTL: cell counts per design (generic ``synth``) and, on
request, Xilinx resources (``synth_xilinx -family xcup`` UltraScale+ / ``xc7`` 7-series: LUT /
FF / BRAM / DSP) and the logic depth (:func:`synth_sources` ``ltp``).

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
from ..accel.program import HwProgram
from ..errors import ToolchainError
from .emit import render
from .names import check_safe
from .rtl import LayerFolding, generate_accel, generate_rtl

#: the synthesis command per target
SYNTH = {"generic": "synth -top {top} -flatten",
         "xcup": "synth_xilinx -family xcup -top {top} -flatten",
         "xc7": "synth_xilinx -family xc7 -top {top} -flatten"}


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
        design = generate_rtl(program, wd, folding, copy_library=True)
        return synth_sources(program.name, design.sources, design.top, target, wd, timeout,
                             ltp)


def synth_accel(program: HwProgram, folding: Mapping[str, LayerFolding] | None = None,
                target: str = "xcup", workdir: str | Path | None = None,
                timeout: float = 1800, ltp: bool = True) -> SynthReport:
    """The whole dataflow IP (``ep_accel``: AXI4-Lite control, stream width converters and
    the datapath) of ``program`` through yosys, with its logic depth by default."""
    with _workdir(workdir) as wd:
        acc = generate_accel(program, wd, folding, copy_library=True)
        return synth_sources(program.name, acc.sources, acc.top, target, wd, timeout, ltp)


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
