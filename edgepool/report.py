# SPDX-License-Identifier: Apache-2.0
"""report.md of a build directory: model, layers, chosen configuration, estimates, next steps."""

from __future__ import annotations

from typing import Any

# The seed paper: VGG16 on Ultra96 with PYNQ, Q2.14, 2.0 s per image at 2.63 W (6.0 GOPS/W).
SEED_PAPER = {"latency_s": 2.0, "power_w": 2.63, "gops_per_w": 6.0, "bits": 16}


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:,.4g}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def write_report(ctx) -> None:
    m = ctx.manifest
    lines = [f"# edgepool build: {m['model']['name']} for {m['target']['name']}", ""]
    lines.append(f"edgepool {m.get('edgepool_version')}; stages: "
                 f"{', '.join(dict.fromkeys(m.get('stages', []) + ['report']))}")
    lines.append("")
    lines.append("## Model")
    for io in ("inputs", "outputs"):
        for v in m["model"][io]:
            lines.append(f"- {io[:-1]} `{v['name']}`: {v['type']} {v['shape']}")
    if ctx.program is not None:
        lines += ["", "## Accelerator layers", "",
                  "| # | layer | kind | in (H,W,C) | out (H,W,C) | types | MACs |",
                  "|---|---|---|---|---|---|---|"]
        for i, layer in enumerate(ctx.program.layers):
            kind = layer.kind + (" fc" if layer.is_fc else "") + (
                f" +{layer.pool.kind}pool" if layer.kind == "conv" and layer.pool else "") + (
                " +relu" if layer.relu else "")
            lines.append(f"| {i} | `{layer.name[-32:]}` | {kind} | {layer.in_shape} | "
                         f"{layer.out_shape} | {layer.in_type}→{layer.out_type} | "
                         f"{layer.macs:,} |")
    cfg = m.get("config", {})
    if cfg:
        lines += ["", "## Chosen configuration", ""]
        for k, v in sorted(cfg.get("summary", cfg).items()):
            if k != "hls":
                lines.append(f"- {k}: {_fmt(v)}")
    est = m.get("estimates")
    if est:
        lines += ["", "## Estimates (analytic cost model)", "",
                  "| metric | value | budget |", "|---|---|---|"]
        budget = m.get("budget", {})
        for k, v in est.items():
            if isinstance(v, (int, float, str)):
                lines.append(f"| {k} | {_fmt(v)} | {_fmt(budget.get(k, ''))} |")
        if "latency_s" in est and m["model"]["name"].lower().startswith("vgg16"):
            lines += ["", "Compared with the seed paper (VGG16, Ultra96, Q2.14, PYNQ): "
                      f"{SEED_PAPER['latency_s']} s per image at {SEED_PAPER['power_w']} W.",
                      f"This build: {est['latency_s']:.3g} s per image estimated "
                      f"({SEED_PAPER['latency_s'] / max(est['latency_s'], 1e-12):.2f}× the "
                      "seed's speed)."]
    if m.get("verification"):
        lines += ["", "## Verification", ""]
        lines += [f"- {k}: {v}" for k, v in m["verification"].items()]
    if m.get("next_steps"):
        lines += ["", "## Next steps", ""]
        lines += [f"- {s}" for s in m["next_steps"]]
    lines.append("")
    ctx.path("report.md").write_text("\n".join(lines))
