# SPDX-License-Identifier: Apache-2.0
"""Targets: FPGA boards (read from ``hw/boards/*.toml``) and CPUs.

``edgepool build --target NAME``: a board name builds the HLS accelerator (+ NEON for the CPU
side); ``cortex-a53`` builds the NEON/TVM aarch64 library; ``x86`` the same kernels via SIMDe.
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..toolchain import REPO_ROOT

BOARDS_DIR = REPO_ROOT / "hw" / "boards"
CONSTRAINTS_DIR = REPO_ROOT / "hw" / "constraints"


@dataclass(frozen=True)
class Board:
    """An FPGA board: part, resources, clocks, memory, PYNQ name (see hw/boards/*.toml)."""

    name: str
    display: str
    part: str
    board_part: str
    family: str
    ps_ip: str
    pynq_board: str
    cpu: str
    resources: dict[str, int]
    clocks: dict[str, float]
    memory: dict[str, Any]
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def kind(self) -> str:
        return "fpga"

    @property
    def xdc(self) -> Path:
        return CONSTRAINTS_DIR / f"{self.name}.xdc"


@dataclass(frozen=True)
class Cpu:
    """A CPU target: ``triple`` for cross compilation, ``simd`` kind."""

    name: str
    triple: str
    description: str

    @property
    def kind(self) -> str:
        return "cpu"


CPUS = {
    "cortex-a53": Cpu("cortex-a53", "aarch64-linux-gnu",
                      "ARM Cortex-A53 (Ultra96/ZCU104 CPU): NEON kernels + TVM, aarch64 .so"),
    "x86": Cpu("x86", "x86_64-linux-gnu",
               "x86-64 host: the same NEON kernels through SIMDe, for users without ARM"),
}


@functools.cache
def boards() -> dict[str, Board]:
    out = {}
    for f in sorted(BOARDS_DIR.glob("*.toml")):
        d = tomllib.loads(f.read_text())
        out[d["name"]] = Board(d["name"], d["display"], d["part"], d["board_part"], d["family"],
                               d["ps_ip"], d["pynq_board"], d["cpu"], dict(d["resources"]),
                               dict(d["clocks"]), dict(d["memory"]), d)
    return out


def known_targets() -> list[str]:
    return sorted(boards()) + sorted(CPUS)


def get_target(name: str) -> Board | Cpu:
    """A board or CPU by name; :class:`ConfigError` listing the known ones otherwise."""
    if name in boards():
        return boards()[name]
    if name in CPUS:
        return CPUS[name]
    raise ConfigError(f"unknown target {name!r}",
                      f"known targets: {', '.join(known_targets())}")
