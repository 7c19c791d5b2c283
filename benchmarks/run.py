# SPDX-License-Identifier: Apache-2.0
"""``make bench``: run every benchmark script in this folder, in one session, and keep their
reports in ``benchmarks/results/<name>.md`` (readable: conditions, tables, log) and
``benchmarks/results/<name>.json`` (the same figures as data). The figures quoted in the READMEs
come from there; the latest run is committed.

Scripts that take ``--json PATH`` write their tables and figures there themselves (see
``_report.py``); for the others the JSON holds the run's conditions and its log.
Benchmarks print ratios against baselines measured in the same run; nothing here asserts a time.

    .venv/bin/python benchmarks/run.py [--only NAME ...] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from _report import conditions, markdown

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
        text = script.read_text()
        json_path = out_dir / f"{script.stem}.json"
        cmd = [sys.executable, str(script)]
        if args.quick and "--quick" in text:
            cmd.append("--quick")
        writes_json = "--json" in text
        if writes_json:
            cmd += ["--json", str(json_path)]
        print(f"\n=== {script.name} ===", flush=True)
        t0 = time.perf_counter()
        # the edgepool of this checkout, whatever the venv's editable install points at
        env = {**os.environ, "COLUMNS": "160",
               "PYTHONPATH": os.pathsep.join(filter(None, [str(HERE.parent),
                                                           os.environ.get("PYTHONPATH")]))}
        proc = subprocess.run(cmd, cwd=HERE.parent, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
        print(proc.stdout)
        seconds = time.perf_counter() - t0
        header = (f"# {script.name} — {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} — "
                  f"{seconds:.0f} s — exit {proc.returncode}"
                  + (" (--quick)" if "--quick" in cmd else ""))
        data = (json.loads(json_path.read_text()) if writes_json and json_path.exists()
                else {"benchmark": script.stem, "conditions": conditions(), "tables": []})
        data.update({"seconds": round(seconds, 1), "exit": proc.returncode,
                     "quick": "--quick" in cmd, "log": proc.stdout})
        json_path.write_text(json.dumps(data, indent=1, default=str) + "\n")
        (out_dir / f"{script.stem}.md").write_text(markdown(data, proc.stdout, header))
        if proc.returncode:
            failed.append(script.name)
    if failed:
        print(f"benchmarks that failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
