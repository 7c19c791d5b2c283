# SPDX-License-Identifier: Apache-2.0
"""The build's ``engine`` step: which implementation of the accelerator goes into the bitstream.

:func:`rtl_problems` lists what the RTL datapath (:mod:`edgepool.codegen.rtl`) cannot do for a
program under the chosen configuration (unsupported layers, folding, size);
:func:`~edgepool.accel.engine.choose_engine` turns that, the style and the user's ``--engine``
into an :class:`~edgepool.accel.engine.EngineChoice`. For RTL builds the configuration chosen by
the exploration is then costed with the RTL's own cycle model
(:func:`~edgepool.dse.cost.estimate_rtl`), and :func:`rtl_regmap` is the register map of the
block design with the RTL IP (ap_ctrl_hs control block + AXI DMA), which the ``rtl`` step
records in place of the HLS one. Overlay programs: :func:`rtl_overlay_problems` (the RTL
overlay's capacities), :func:`rtl_overlay_estimate` (its calibrated cycle model,
:mod:`edgepool.dse.rtl_overlay_cost`) and :func:`rtl_overlay_regmap`.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np

from ..accel import regmap as R
from ..accel.descriptor import plan_program
from ..accel.engine import EngineChoice, HlsConfig, OverlayParams, choose_engine
from ..accel.manifest import EngineSection, RtlAccelSection, RtlSection
from ..accel.program import HwProgram
from ..codegen.synth import synth_accel
from ..codegen.rtl import ACCEL_TOP, RTL_MAX_WEIGHTS, check_supported, folding_from_config
from ..codegen.rtl_overlay import unsupported_layers, unsupported_reason
from ..dse.cost import estimate_rtl
from ..dse.rtl_overlay_cost import BEAT, DdrModel, program_cycles, rtl_overlay_resources
from ..errors import ManifestError, UnsupportedOpError
from ..targets import Board

#: Yosys synth_xilinx family per PS family
SYNTH_FAMILY = {"zynquplus": "xcup", "zynq": "xc7"}


def rtl_problems(program: HwProgram, cfg: HlsConfig | None) -> list[str]:
    """What the RTL datapath cannot do for ``program`` with ``cfg``'s folding (empty: it can
    build it). Every problem names the layer and the reason."""
    n_weights = sum(int(np.prod(layer.weights.shape)) for layer in program.layers
                    if layer.weights is not None)
    if n_weights > RTL_MAX_WEIGHTS:
        return [f"{n_weights:,} weights > {RTL_MAX_WEIGHTS:,}: the dataflow RTL keeps every "
                "weight in on-chip ROM (the HLS overlay streams them from DDR)"]
    try:
        folds, _ = folding_from_config(program, cfg)
    except (AttributeError, IndexError, TypeError, ValueError):
        folds, _ = folding_from_config(program, None)
    try:
        check_supported(program, folds)
    except UnsupportedOpError as e:
        return list(e.problems)
    return []


def overlay_params_of(cfg: HlsConfig | None) -> OverlayParams:
    """The overlay capacities of ``cfg`` (the defaults without one)."""
    return cfg.overlay_params() if cfg is not None else OverlayParams()


def rtl_overlay_problems(program: HwProgram, cfg: HlsConfig | None) -> list[str]:
    """What the RTL overlay cannot do for ``program`` with ``cfg``'s capacities (empty: it can).
    The RTL overlay runs the HLS overlay's descriptors, so the per-layer limits are the
    lowering's and the descriptor planner's (typed errors before this stage); what is left is
    whether the RTL can be generated with these capacities
    (:func:`~edgepool.codegen.rtl_overlay.unsupported_reason`) and the layers beyond its own
    limits (:func:`~edgepool.codegen.rtl_overlay.unsupported_layers`)."""
    why = unsupported_reason(overlay_params_of(cfg))
    return ([f"RTL overlay capacities: {why}"] if why else []) + unsupported_layers(program)


def rtl_overlay_estimate(program: HwProgram, cfg: HlsConfig | None, clock_mhz: float
                         ) -> dict[str, Any]:
    """The RTL overlay's calibrated cycle model
    (:func:`edgepool.dse.rtl_overlay_cost.program_cycles`) of ``program`` with ``cfg``'s
    capacities at ``clock_mhz``, every m_axi port at ``cfg.ddr_port_gbps`` (else a full beat
    per cycle; FC weights over ``w_ports`` of them): the manifest's ``engine.estimate``
    (estimated, not simulated), with the IP's resources (structural DSP / block RAM, LUT / FF
    fitted to Yosys runs). The overlay runs one frame at a time: interval = latency."""
    p = overlay_params_of(cfg)
    gbps = float(cfg.ddr_port_gbps) if cfg is not None else 0.0
    bpc = min(float(BEAT), gbps * 1e3 / clock_mhz) if gbps > 0 else float(BEAT)
    ddr = DdrModel(bytes_per_cycle=bpc,
                   total_bytes_per_cycle=bpc * p.w_ports if p.w_ports > 1 else 0.0)
    layers = program_cycles(plan_program(program, p).program, p, ddr)
    total = int(sum(layers))
    return {"model": "edgepool.dse.rtl_overlay_cost.program_cycles",
            "latency_cycles": total, "interval_cycles": total, "clock_mhz": float(clock_mhz),
            "fps": round(clock_mhz * 1e6 / total, 3) if total else 0.0,
            "latency_s": total / (clock_mhz * 1e6),
            "ddr_bytes_per_cycle": round(bpc, 3), "ddr_latency_cycles": ddr.latency,
            **{f"ip_{k.lower()}": v for k, v in rtl_overlay_resources(
                p, bool(cfg.int8_dsp_packing) if cfg is not None else True).items()}}


def resource_warnings(estimate: dict[str, Any], resources: dict[str, Any], part: str
                      ) -> list[str]:
    """A build note per resource the RTL overlay's estimate (``ip_lut``, ``ip_dsp``,
    ``ip_bram36``) needs beyond the board's ``resources``."""
    notes = []
    for key in ("lut", "dsp", "bram36"):
        want, have = estimate.get(f"ip_{key}", 0), int(resources.get(key, 0))
        if want and have and want > have:
            notes.append(
                f"engine: WARNING — the RTL overlay's {key.upper()} estimate ({want:,}; "
                f"benchmarks/results/rtl_synth_overlay.md) is {100 * want / have:.0f} % of the "
                f"{part}'s {have:,}: Vivado will not place it; a lower --margin (smaller "
                "capacities) or --engine hls")
    return notes


def rtl_estimate(program: HwProgram, cfg: HlsConfig | None, clock_mhz: float
                 ) -> dict[str, Any]:
    """The RTL cycle model (:func:`estimate_rtl`) of ``program`` with ``cfg``'s folding at
    ``clock_mhz``: the manifest's ``engine.estimate`` (estimated, not simulated)."""
    try:
        folds, _ = folding_from_config(program, cfg)
    except (AttributeError, IndexError, TypeError, ValueError):
        folds, _ = folding_from_config(program, None)
    cost = estimate_rtl(program, folds, clock_mhz)
    return {"model": "edgepool.dse.cost.estimate_rtl", "latency_cycles": cost.latency_cycles,
            "interval_cycles": cost.interval_cycles, "clock_mhz": float(clock_mhz),
            "fps": round(cost.frames_per_second, 3),
            "latency_s": cost.latency_cycles / (clock_mhz * 1e6)}


def pick(program: HwProgram, cfg: HlsConfig | None, requested: str, default_style: str,
         clock_mhz: float) -> EngineSection:
    """The build's engine choice as its manifest section (raises
    :class:`~edgepool.errors.EngineUnsupportedError` for ``--engine rtl`` on a build the RTL
    cannot run)."""
    style = cfg.style if cfg is not None else default_style
    problems = (rtl_problems(program, cfg) if style == "dataflow" else
                rtl_overlay_problems(program, cfg) if style == "overlay" else [])
    choice: EngineChoice = choose_engine(style, requested, problems)
    estimate = None
    if choice.name == "rtl":
        estimate = (rtl_overlay_estimate(program, cfg, clock_mhz) if style == "overlay"
                    else rtl_estimate(program, cfg, clock_mhz))
    return EngineSection(name=choice.name, reason=choice.reason, style=choice.style,
                         requested=choice.requested, rtl_problems=choice.rtl_problems,
                         estimate=estimate)


def rtl_regmap(family: str, rtl: RtlSection, dma_bits: int) -> dict[str, Any]:
    """The register map of the block design with the RTL dataflow IP: the AXI DMA, and the IP's
    ap_ctrl_hs block (the registers the rtl step generated it with) under its Vivado VLNV."""
    accel = rtl.accel
    rm = R.default_regmap("dataflow", family, dma_bits=dma_bits, engine="rtl",
                          top=accel.top if accel is not None else None)
    if accel is not None:
        if accel.vlnv != rm["ips"]["accel"]["vlnv"]:
            raise ManifestError(f"the rtl stage packaged {accel.vlnv}, the register map names "
                                f"{rm['ips']['accel']['vlnv']}", "rebuild from the rtl stage")
        rm["accel"] = {"registers": {k: dict(v) for k, v in accel.registers.items()}}
    return R.validate_regmap(rm)


def rtl_overlay_regmap(family: str, accel: RtlAccelSection) -> dict[str, Any]:
    """The register map of the block design with the RTL overlay IP: the HLS overlay's
    s_axilite layout (the registers the rtl stage generated the IP with) under the IP's VLNV,
    one AXI4 master ``m_axi_gmem``."""
    rm = R.default_regmap("overlay", family, engine="rtl", top=accel.top)
    if accel.vlnv != rm["ips"]["accel"]["vlnv"]:
        raise ManifestError(f"the rtl stage packaged {accel.vlnv}, the register map names "
                            f"{rm['ips']['accel']['vlnv']}", "rebuild from the rtl stage")
    rm["accel"]["registers"] = {k: dict(v) for k, v in accel.registers.items()}
    return R.validate_regmap(rm)


def synthesize(build_dir: Path, program: HwProgram, cfg: HlsConfig | None, board: Board,
               engine: EngineSection) -> EngineSection:
    """``--synth``: Yosys ``synth_xilinx`` of the generated IP top (``ep_accel``) in
    ``build_dir/synth/`` (script and log kept); the counts go into the engine section (and from
    there into report.md). Slow: tens of minutes for LeNet on a loaded machine."""
    try:
        folds, _ = folding_from_config(program, cfg)
    except (AttributeError, IndexError, TypeError, ValueError):
        folds, _ = folding_from_config(program, None)
    family = SYNTH_FAMILY.get(board.family, "xcup")
    rep = synth_accel(program, folds, target=family, workdir=Path(build_dir) / "synth",
                      ltp=True)
    synth: dict[str, str | int | float] = {"tool": f"yosys synth_xilinx -family {family}",
                                           "top": ACCEL_TOP, "log": "synth/synth.log",
                                           **rep.summary()}
    if rep.logic_depth is not None:
        synth["logic_depth_lut6"] = rep.logic_depth
    return dataclasses.replace(engine, synth=synth)
