# SPDX-License-Identifier: Apache-2.0
"""The state one build hands from stage to stage, and what a build returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..accel.engine import HlsConfig
from ..accel.manifest import Manifest
from ..accel.program import HostSplit, HwProgram
from ..config import BuildConfig
from ..ir.graph import Graph
from ..targets import Board, Cpu
from ..tvm.placement import Placement


@dataclass
class BuildContext:
    """State handed from stage to stage (see :mod:`edgepool.build.stages` for which stage
    needs and makes which field). ``manifest`` is written as ``manifest.json`` after every
    stage; ``out`` is the working directory (``OUT.partial``), ``final_out`` the directory it
    becomes (the name messages show)."""

    model_path: Path
    target: Board | Cpu
    out: Path
    final_out: Path
    bits: int | None = None
    config: BuildConfig = field(default_factory=BuildConfig)
    graph: Graph | None = None                  # canonical IR (import)
    program: HwProgram | None = None            # accelerator program (lower, fpga)
    host: HostSplit | None = None               # host side of the program (lower, fpga)
    hls_config: HlsConfig | None = None         # chosen configuration (dse / hls, fpga)
    placement: Placement | None = None          # applied fabric/CPU split (place, fpga)
    manifest: Manifest = field(default_factory=Manifest)
    notes: list[str] = field(default_factory=list)

    def path(self, *parts: str) -> Path:
        """``out/parts...`` with its parent folder created."""
        p = self.out.joinpath(*parts)
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def write_manifest(self) -> None:
        """Write ``manifest.json`` into the working directory."""
        self.manifest.write(self.out)

    @property
    def board(self) -> Board:
        """The target as a board (fpga stages only run for boards)."""
        assert isinstance(self.target, Board), f"{self.target.name} is not a board"
        return self.target

    @property
    def cpu(self) -> Cpu:
        """The target as a CPU (the cpu stage only runs for CPUs)."""
        assert isinstance(self.target, Cpu), f"{self.target.name} is not a CPU"
        return self.target


@dataclass
class BuildResult:
    """A finished build: its directory, the stages run now, their notes and the manifest
    (``manifest``: the JSON object as written; ``sections``: the same, typed)."""

    out: Path
    target: str
    stages: list[str]
    notes: list[str]
    manifest: dict[str, Any]
    sections: Manifest

    def summary(self) -> str:
        """What was built, one note per line."""
        name = self.sections.model.name if self.sections.model is not None else "?"
        lines = [f"built {name} for {self.target} in {self.out}/ "
                 f"(stages: {', '.join(self.stages)})"]
        lines += [f"  {n}" for n in self.notes]
        return "\n".join(lines)
