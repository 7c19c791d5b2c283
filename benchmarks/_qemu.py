# SPDX-License-Identifier: Apache-2.0
"""Dynamic aarch64 instruction counts from a qemu block trace, shared by the benchmarks.

Run the binary as ``qemu-aarch64 -d nochain,in_asm,exec -D LOG …``: ``in_asm`` logs every
translated block once (its instructions), ``exec`` logs every execution of a block (with chaining
off, every single one); dynamic instructions = Σ executions × block length.

The log of a whole model is large (hundreds of MB for one LeNet inference, far more for bigger
models): :func:`count_instructions_piped` never writes it to disk — qemu logs to its stderr
(no ``-D``), which is parsed line by line as it streams through a pipe.
"""

from __future__ import annotations

import re
import subprocess
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

_EXEC = re.compile(r"Trace \d+: 0x[0-9a-f]+ \[[0-9a-f]+/([0-9a-f]+)/")
_INSN = re.compile(r"0x([0-9a-f]+):")

QEMU_TRACE_FLAGS = ["-d", "nochain,in_asm,exec"]


def count_instructions(log: Path) -> int:
    """Dynamic instruction count of one qemu ``-d nochain,in_asm,exec`` log file."""
    with open(log, errors="replace") as f:
        return _count_lines(f)


def count_instructions_piped(cmd: Sequence[str]) -> int:
    """Run ``cmd`` — a qemu-aarch64 command line that already carries ``QEMU_TRACE_FLAGS`` and
    no ``-D`` — and count its dynamic instructions from the log streamed on its stderr (nothing
    is written to disk). The program's stdout is discarded; a failure raises."""
    with subprocess.Popen(list(cmd), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          text=True, errors="replace", bufsize=1 << 20) as p:
        assert p.stderr is not None
        n = _count_lines(p.stderr)
    if p.returncode != 0:
        raise subprocess.CalledProcessError(p.returncode, list(cmd))
    return n


def _count_lines(lines: Iterable[str]) -> int:
    length: dict[str, int] = {}
    execs: Counter[str] = Counter()
    block, start = 0, None
    for line in lines:
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
