# SPDX-License-Identifier: Apache-2.0
"""Dynamic aarch64 instruction counts from a qemu block trace, shared by the benchmarks.

Run the binary as ``qemu-aarch64 -d nochain,in_asm,exec -D LOG …``: ``in_asm`` logs every
translated block once (its instructions), ``exec`` logs every execution of a block (with chaining
off, every single one); dynamic instructions = Σ executions × block length.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

_EXEC = re.compile(r"Trace \d+: 0x[0-9a-f]+ \[[0-9a-f]+/([0-9a-f]+)/")
_INSN = re.compile(r"0x([0-9a-f]+):")

QEMU_TRACE_FLAGS = ["-d", "nochain,in_asm,exec"]


def count_instructions(log: Path) -> int:
    """Dynamic instruction count of one qemu ``-d nochain,in_asm,exec`` log."""
    length: dict[str, int] = {}
    execs: Counter[str] = Counter()
    block, start = 0, None
    with open(log, errors="replace") as f:
        for line in f:
            if line.startswith("Trace"):
                m = _EXEC.match(line)
                if m:
                    execs[m.group(1).lstrip("0")] += 1
            elif line.startswith("IN:"):
                block, start = 0, None
            elif line.startswith("0x"):
                m = _INSN.match(line)
                if m:
                    if start is None:
                        start = m.group(1).lstrip("0")
                    block += 1
                    length[start] = block
    return sum(n * length.get(pc, 0) for pc, n in execs.items())
