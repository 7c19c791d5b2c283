# SPDX-License-Identifier: Apache-2.0
"""``make bench``: run every benchmark script in this folder, in one session, and keep their
reports in ``benchmarks/results/<name>.txt`` (the figures quoted in the READMEs come from there).

Benchmarks print ratios against baselines measured in the same run; nothing here asserts a time.

    .venv/bin/python benchmarks/run.py [--only NAME ...] [--quick]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SKIP = {"run.py"}


def scripts() -> list[Path]:
    return sorted(p for p in HERE.glob("*.py") if p.name not in SKIP and not p.name.startswith("_"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", nargs="*", default=None, help="benchmark names (file stems)")
    ap.add_argument("--quick", action="store_true", help="pass --quick to scripts that take it")
    args = ap.parse_args()
    out_dir = HERE / "results"
    out_dir.mkdir(exist_ok=True)
    failed = []
    for script in scripts():
        if args.only and script.stem not in args.only:
            continue
        cmd = [sys.executable, str(script)]
        if args.quick and "--quick" in script.read_text():
            cmd.append("--quick")
        print(f"\n=== {script.name} ===", flush=True)
        t0 = time.perf_counter()
        env = {**os.environ, "COLUMNS": "140"}
        proc = subprocess.run(cmd, cwd=HERE.parent, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
        print(proc.stdout)
        header = (f"# {script.name} — {time.strftime('%Y-%m-%d %H:%M')} — "
                  f"{time.perf_counter() - t0:.0f} s — exit {proc.returncode}\n")
        (out_dir / f"{script.stem}.txt").write_text(header + proc.stdout)
        if proc.returncode:
            failed.append(script.name)
    if failed:
        print(f"benchmarks that failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
