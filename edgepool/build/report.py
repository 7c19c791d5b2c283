# SPDX-License-Identifier: Apache-2.0
"""report.md of a build directory: model, layers, chosen configuration, estimates, next steps."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from ..accel.manifest import Manifest
from ..accel.program import HwProgram
from ..tvm.placement import draw_placement, placement_table, segments_table

# The seed paper: VGG16 on Ultra96 with PYNQ, Q2.14, 2.0 s per image at 2.63 W (6.0 GOPS/W).
SEED_PAPER = {"latency_s": 2.0, "power_w": 2.63, "gops_per_w": 6.0, "bits": 16}


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:,.4g}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def _draw(m: Manifest, path: Path) -> None:
    if m.placement is not None:
        draw_placement(m.placement, path.parent / "placement.png")


def write_report(manifest: Manifest, program: HwProgram | None, path: Path) -> None:
    """Write ``report.md`` of a build (``program``: the accelerator program, when lowered)."""
    m = manifest
    _draw(m, path)
    model, target = m.section("model"), m.section("target")
    lines = [f"# edgepool build: {model.name} for {target.name}", ""]
    lines.append(f"edgepool {m.edgepool_version}; stages: "
                 f"{', '.join(dict.fromkeys(m.stages + ['report']))}")
    lines.append("")
    lines.append("## Model")
    for io, specs in (("input", model.inputs), ("output", model.outputs)):
        for v in specs:
            lines.append(f"- {io} `{v.name}`: {v.type} {list(v.shape)}")
    if program is not None:
        lines += ["", "## Accelerator layers", "",
                  "| # | layer | kind | in (H,W,C) | out (H,W,C) | types | MACs |",
                  "|---|---|---|---|---|---|---|"]
        for i, layer in enumerate(program.layers):
            kind = layer.kind + (" fc" if layer.is_fc else "") + (
                f" +{layer.pool.kind}pool" if layer.kind == "conv" and layer.pool else "") + (
                " +relu" if layer.relu else "")
            lines.append(f"| {i} | `{layer.name[-32:]}` | {kind} | {layer.in_shape} | "
                         f"{layer.out_shape} | {layer.in_type}→{layer.out_type} | "
                         f"{layer.macs:,} |")
    if m.engine is not None:
        lines += _engine_lines(m)
    if m.config is not None:
        lines += ["", "## Chosen configuration", ""]
        for k, v in sorted(m.config.summary.items()):
            lines.append(f"- {k}: {_fmt(v)}")
    est = m.estimates
    if est is not None:
        lines += ["", "## Estimates (analytic cost model)", "",
                  "Every figure in this table — latency, throughput, GOP/s, DSP, BRAM, LUT and "
                  "clock — is an estimate of edgepool's cost model (`edgepool/dse/cost.py`): "
                  "nothing was synthesized, placed or run on the board here. Model: the HLS "
                  "engine's (`estimate`, the exploration's ranking)"
                  + ("; the RTL engine that goes into this bitstream has its own cycle "
                     "estimate in the Engine section above." if m.engine is not None
                     and m.engine.name == "rtl" else "."), "",
                  "| metric | estimate | budget |", "|---|---|---|"]
        budget = asdict(m.budget) if m.budget is not None else {}
        for k, v in asdict(est).items():
            lines.append(f"| {k} | {_fmt(v)} | {_fmt(budget.get(k, ''))} |")
        if model.name.lower().startswith("vgg16"):
            lines += ["", "Compared with the seed paper (VGG16, Ultra96, Q2.14, PYNQ): "
                      f"{SEED_PAPER['latency_s']} s per image at {SEED_PAPER['power_w']} W.",
                      f"This build: {est.latency_s:.3g} s per image (estimated) "
                      f"({SEED_PAPER['latency_s'] / max(est.latency_s, 1e-12):.2f}× the "
                      "seed's speed)."]
    if m.placement is not None:
        pl = m.placement
        state = ("applied: heterogeneous build (fabric segment = the accelerator program "
                 "above; CPU segments in cpu/seg<i>/)" if pl.get("applied") else
                 "not applied: the whole model runs on the fabric (pin layers with --place "
                 "NAME=cpu|fabric to split it)")
        lines += ["", "## Placement (estimated)", "", f"Placement {state}. Every figure is an "
                  "estimate: " + str(pl.get("figures", "")) + ".", ""]
        if pl.get("note"):
            lines += [f"Note: {pl['note']}", ""]
        lines += [placement_table(pl), "", segments_table(pl), ""]
        if (path.parent / "placement.png").exists():
            lines += ["![placement](placement.png)", ""]
    verification = m.extra.get("verification")
    if isinstance(verification, dict) and verification:
        lines += ["", "## Verification", ""]
        lines += [f"- {k}: {v}" for k, v in verification.items()]
    if m.next_steps:
        lines += ["", "## Next steps", ""]
        lines += [f"- {s}" for s in m.next_steps]
    lines.append("")
    path.write_text("\n".join(lines))


def _engine_lines(m: Manifest) -> list[str]:
    """The ``## Engine`` section: which IP is in the bitstream, why, and its figures with the
    model that produced each."""
    e = m.engine
    ip = {"rtl": "the cocotb-verified SystemVerilog IP `rtl/ep_accel.sv` (packaged by "
                 "`rtl/package_ip.tcl`)",
          "hls": "the Vitis HLS export of `hls/`"}.get(e.name, e.name)
    ovl = m.rtl.overlay if m.rtl is not None else None
    if e.name == "rtl" and e.style == "overlay":
        ip = ("the cocotb-verified RTL overlay " + (f"`{ovl.sources[-1]}` (packaged by "
              f"`{ovl.package_tcl}`)" if ovl is not None else "(rtl stage not run yet)")
              + ", running the HLS overlay's descriptors")
    lines = ["", "## Engine", "", f"- engine: **{e.name.upper()}** — {ip}",
             f"- requested: `--engine {e.requested}`; reason: {e.reason}",
             f"- style: {e.style}"]
    if e.rtl_problems and e.name != "rtl":
        lines.append("- what the RTL engine cannot do here: " + "; ".join(e.rtl_problems))
    if e.estimate:
        est = e.estimate
        kind = ("RTL overlay cycle model, calibrated against its cycle-accurate simulation; "
                f"DDR model: {_fmt(est['ddr_latency_cycles'])} cycles first-beat latency, "
                f"{_fmt(est['ddr_bytes_per_cycle'])} B/cycle"
                if "ddr_bytes_per_cycle" in est else "RTL cycle model")
        lines.append(f"- estimated by `{est['model']}` ({kind}): "
                     f"{_fmt(est['interval_cycles'])} cycles/frame at steady state, "
                     f"{_fmt(est['latency_cycles'])} cycles latency of one frame, "
                     f"{_fmt(est['fps'])} frames/s at {_fmt(est['clock_mhz'])} MHz "
                     "(estimated; Fmax is an assumption until a vendor tool runs)")
        if "ip_lut" in est:
            lines.append("- resources of the RTL overlay IP (estimated: DSP and block RAM from "
                         "its structure, LUT / FF fitted to Yosys synth_xilinx runs, "
                         "`benchmarks/results/rtl_synth_overlay.md`): "
                         + ", ".join(f"{k} {_fmt(est['ip_' + k.lower()])}"
                                     for k in ("LUT", "FF", "DSP", "BRAM36")))
    if e.synth:
        s = e.synth
        keys = [k for k in ("LUT", "FF", "DSP", "BRAM", "LUTRAM", "CARRY", "logic_depth_lut6")
                if k in s]
        lines += ["", f"Synthesis (`{s.get('tool')}` of `{s.get('top')}`, log "
                      f"`{s.get('log')}`; Yosys counts, not placed and routed):", "",
                  "| " + " | ".join(keys) + " |", "|" + "---|" * len(keys),
                  "| " + " | ".join(_fmt(s[k]) for k in keys) + " |"]
    return lines
