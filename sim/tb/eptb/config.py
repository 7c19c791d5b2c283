# SPDX-License-Identifier: Apache-2.0
"""The bench configuration, written as JSON by :mod:`edgepool.runtime.rtlsim` and read by the
cocotb test through the ``EP_TB_CONFIG`` environment variable."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class BenchConfig:
    """Everything a bench run needs; frames are lists of stream elements (HWC order)."""

    program_pickle: str                 # pickled HwProgram: the golden model's input
    frames: list[list[int]]
    in_bits: int
    in_signed: bool
    out_bits: int
    out_signed: bool
    out_elems: int
    result_path: str
    probes: dict[str, str] = field(default_factory=dict)   # name -> dotted signal path
    backpressure: float = 0.0           # probability the sink pauses in a cycle
    input_gaps: float = 0.0             # probability the source idles in a cycle
    reset_frame: int = -1               # reset in the middle of this frame (dropped), -1 = never
    seed: int = 0
    check_values: bool = True           # False: count beats / frames only (a plain executor run)
    timeout_cycles: int = 1_000_000

    @staticmethod
    def load(path: str | None = None) -> BenchConfig:
        p = Path(path or os.environ["EP_TB_CONFIG"])
        return BenchConfig(**json.loads(p.read_text()))

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.__dict__))
