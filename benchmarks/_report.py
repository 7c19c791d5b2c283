# SPDX-License-Identifier: Apache-2.0
"""Machine-readable benchmark reports: every table a benchmark prints is also kept as data.

``Recorder`` collects rich tables (and free-form figures) and writes them as JSON; ``run.py``
writes the Markdown next to it. The JSON carries the conditions of the run (CPU, cores, load,
versions, commit) so a figure quoted in a README can be traced to the run that produced it.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import time
from pathlib import Path
from typing import Any

from rich.table import Table

REPO = Path(__file__).resolve().parents[1]


def conditions() -> dict[str, Any]:
    """Where and with what the benchmarks ran (no figure means anything without this)."""
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    out: dict[str, Any] = {"date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                           "cpu": cpu, "cores": os.cpu_count(),
                           "load_average_at_start": list(os.getloadavg()),
                           "python": platform.python_version()}
    try:
        from tvm.target import codegen

        out["llvm_host_cpu"] = codegen.llvm_get_system_cpu()
    except ImportError:
        pass
    for mod in ("torch", "tvm", "numpy"):
        try:
            out[mod] = __import__(mod).__version__
        except ImportError:
            pass
    r = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                       capture_output=True, text=True)
    out["commit"] = r.stdout.strip() if r.returncode == 0 else None
    return out


def table_data(t: Table) -> dict[str, Any]:
    """A rich table as ``{"title", "columns", "rows"}`` (cells as printed)."""
    cols = [str(c.header) for c in t.columns]
    cells = [list(c.cells) for c in t.columns]
    rows = [[str(cells[j][i]) for j in range(len(cols))] for i in range(t.row_count)]
    return {"title": str(t.title or ""), "columns": cols, "rows": rows}


class Recorder:
    """Collects the tables and figures of one benchmark script and writes them as JSON."""

    def __init__(self, name: str, **meta: Any) -> None:
        self.data: dict[str, Any] = {"benchmark": name, "conditions": conditions(), **meta,
                                     "tables": [], "figures": {}}

    def table(self, t: Table) -> Table:
        """Record ``t`` (returned unchanged, to print it)."""
        self.data["tables"].append(table_data(t))
        return t

    def figures(self, key: str, value: Any) -> None:
        """Record raw figures under ``key`` (numbers with their units in the key names)."""
        self.data["figures"][key] = value

    def write(self, path: Path | None) -> None:
        if path is not None:
            Path(path).write_text(json.dumps(self.data, indent=1, default=str) + "\n")


def markdown(data: dict[str, Any], stdout: str, header: str) -> str:
    """The Markdown report of one benchmark: conditions, every recorded table, the raw log."""
    lines = [header, ""]
    cond = data.get("conditions", {})
    if cond:
        lines += ["| condition | value |", "|---|---|"]
        lines += [f"| {k} | {v} |" for k, v in cond.items()]
        lines.append("")
    for note in data.get("notes", []):
        lines += [f"* {note}"]
    if data.get("notes"):
        lines.append("")
    for t in data.get("tables", []):
        lines += [f"### {t['title']}", "", "| " + " | ".join(t["columns"]) + " |",
                  "|" + "---|" * len(t["columns"])]
        lines += ["| " + " | ".join(r) + " |" for r in t["rows"]]
        lines.append("")
    lines += ["### Log", "", "```text", stdout.rstrip(), "```", ""]
    return "\n".join(lines)
