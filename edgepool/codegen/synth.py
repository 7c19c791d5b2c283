# SPDX-License-Identifier: Apache-2.0
"""Yosys synthesis of the generated RTL: cell counts per design (generic ``synth``) and, on
request, Xilinx UltraScale+ resources (``synth_xilinx -family xcup``: LUT / FF / BRAM / DSP).

The script is rendered from ``edgepool/codegen/templates/yosys/synth.ys.j2`` through the one
emitter environment (:mod:`edgepool.codegen.emit`); the design is generated from an HwProgram
(a single-layer program gives the numbers of one block), with the library modules copied beside
the top so that the script names plain files only, and flattened, so ``stat`` reports one
module. Run from the generated directory, where ``$readmemh`` finds the ROM images.
"""

from __future__ import annotations

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
from .rtl import LayerFolding, generate_rtl

#: the synthesis command per target
SYNTH = {"generic": "synth -top {top} -flatten",
         "xcup": "synth_xilinx -family xcup -top {top} -flatten"}


@dataclass
class SynthReport:
    """Cell counts of one synthesized design."""

    name: str
    target: str                       # "generic" or "xcup"
    cells: int
    cell_types: dict[str, int] = field(default_factory=dict)
    wires: int = 0

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


def synth_program(program: HwProgram, folding: Mapping[str, LayerFolding] | None = None,
                  target: str = "generic", workdir: str | Path | None = None,
                  timeout: float = 900) -> SynthReport:
    """Generate and synthesize ``program``'s top with yosys; ``target`` generic or xcup."""
    yosys = toolchain.require("yosys")
    if target not in SYNTH:
        raise ToolchainError(f"unknown synthesis target {target!r}", "use generic or xcup")
    tmp = None
    if workdir is None:
        tmp = tempfile.TemporaryDirectory(prefix="ep-synth-")
        workdir = tmp.name
    try:
        design = generate_rtl(program, workdir, folding, copy_library=True)
        script = render("yosys/synth.ys.j2", top=check_safe(design.top),
                        sources=[check_safe(Path(s).name) for s in design.sources],
                        synth=SYNTH[target].format(top=design.top))
        (Path(workdir) / "synth.ys").write_text(script)
        p = subprocess.run([yosys, "-q", "-l", "synth.log", "synth.ys"], cwd=workdir,
                           capture_output=True, text=True, timeout=timeout)
        log = (Path(workdir) / "synth.log").read_text(errors="replace")
        if p.returncode != 0:
            raise ToolchainError(f"yosys failed on {program.name}:\n{p.stderr[-2000:]}")
        cells, types, wires = parse_stat(log)
        return SynthReport(program.name, target, cells, types, wires)
    finally:
        if tmp is not None:
            tmp.cleanup()


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
