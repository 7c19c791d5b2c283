# SPDX-License-Identifier: Apache-2.0
"""The RTL overlay IP of a build: a generated top (``templates/rtl/overlay.sv.j2``) that sets
the capacities of :class:`~edgepool.accel.engine.OverlayParams` and the register map of
:mod:`edgepool.accel.regmap` on the hand-written ``sim/rtl/ep_ovl_*.sv`` engine, which runs the
same 40-word descriptors as the HLS overlay (:mod:`edgepool.accel.descriptor`).

* :func:`unsupported_reason` — why the RTL overlay cannot implement ``OverlayParams`` (None if
  it can): the build falls back to the HLS engine with that reason;
* :func:`generate_overlay` — the top + library sources into a directory;
* :func:`overlay_package_tcl` — the ``ipx::`` script that packages it as a Vivado IP.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..accel import regmap as R
from ..accel.engine import MAX_W_PORTS, OverlayParams, rq_lanes
from ..accel.manifest import RtlAccelSection
from ..accel.program import HwProgram
from ..dse.cost import dsp_packing_supported
from ..errors import UnsupportedOpError
from .emit import render
from .rtl import _TCL_SAFE, IP_LIBRARY, IP_VENDOR, IP_VERSION, RTL_DIR, _label, ip_vlnv

OVERLAY_TOP = "edgepool_overlay"
#: library modules of the overlay (sim/rtl), in dependency order
OVERLAY_LIBRARY = ("ep_axil_ctrl.sv", "ep_ovl_unpack.sv", "ep_ovl_rd.sv", "ep_ovl_wr.sv",
                   "ep_ovl_wst.sv", "ep_ovl_rq.sv", "ep_ovl_avgdiv.sv", "ep_ovl_core.sv",
                   "ep_ovl_top.sv")
#: the largest average-pool window the overlay's divider takes (taps; DEN_BITS = 10)
OVERLAY_DEN_BITS = 10
MAX_AVG_TAPS = (1 << OVERLAY_DEN_BITS) - 1

#: AXI4 master data width: one Zynq UltraScale+ S_AXI_HP*_FPD port (hw/boards: hp_width_bits)
AXI_DATA_BITS = R.RTL_OVERLAY_AXI_BITS
#: where a build's rtl stage puts the overlay IP (relative to the build directory)
BUILD_SUBDIR = "rtl/overlay"
PACKAGE_TCL = "package_overlay_ip.tcl"
AXI_ADDR_BITS = 64
#: register offsets the top needs besides the ap_ctrl_hs block: (parameter, register name)
_ARG_PARAMS = (("OFF_RET", "ap_return"), ("OFF_DESC", "desc"), ("OFF_NL", "n_layers"),
               ("OFF_WMEM", "wmem"), ("OFF_BMEM", "bmem"), ("OFF_AIN", "act_in"),
               ("OFF_AOUT", "act_out"))


def _word_ok(nbytes: int, beat: int) -> bool:
    return nbytes > 0 and (beat % nbytes == 0 or nbytes % beat == 0)


def unsupported_layers(program: HwProgram) -> list[str]:
    """The layers of ``program`` the RTL overlay cannot run, each with its reason: average pools
    of more taps than its divider's count holds (:data:`MAX_AVG_TAPS`; the IP would end the run
    with ``ap_return = 1 + layer``)."""
    out = []
    for i, layer in enumerate(program.layers):
        pool = layer.pool
        taps = pool.kernel[0] * pool.kernel[1] if pool is not None else 0
        if pool is not None and pool.kind == "avg" and taps > MAX_AVG_TAPS:
            out.append(f"layer {i} ({layer.name}): average pool of {pool.kernel[0]}x"
                       f"{pool.kernel[1]} taps, more than the RTL divider's {MAX_AVG_TAPS}")
    return out


def unsupported_reason(p: OverlayParams, dw: int = AXI_DATA_BITS) -> str | None:
    """Why the RTL overlay cannot be built with capacities ``p`` (``None``: it can). The RTL
    moves activation words (SIMD x ACT_BITS) and weight words (PE x SIMD x W_BITS) through a
    ``dw``-bit AXI port, so each must divide a beat or be a whole number of beats."""
    beat = dw // 8
    reasons = []
    if p.act_bits not in (8, 16, 32):
        reasons.append(f"ACT_BITS {p.act_bits} is not 8, 16 or 32")
    if (p.simd * p.act_bits) % 8 or not _word_ok(p.simd * p.act_bits // 8, beat):
        reasons.append(f"an activation word of SIMD {p.simd} x {p.act_bits} bits neither "
                       f"divides nor is a multiple of the {beat}-byte AXI beat")
    if (p.pe * p.simd * p.w_bits) % 8 or not _word_ok(p.pe * p.simd * p.w_bits // 8, beat):
        reasons.append(f"a weight word of PE {p.pe} x SIMD {p.simd} x {p.w_bits} bits neither "
                       f"divides nor is a multiple of the {beat}-byte AXI beat")
    if p.pe % p.simd:
        reasons.append(f"PE {p.pe} is not a multiple of SIMD {p.simd}")
    if p.out_container % p.act_bits or p.out_container > 64:
        reasons.append(f"OUT_BITS {p.out_container} is not a multiple of ACT_BITS (<= 64)")
    if p.acc_bits > 64:
        reasons.append(f"ACC_BITS {p.acc_bits} > 64")
    if not 1 <= p.w_ports <= MAX_W_PORTS:
        reasons.append(f"w_ports {p.w_ports} is not 1..{MAX_W_PORTS}")
    elif p.w_ports > 1 and (p.pe * p.simd * p.w_bits) % (8 * beat):
        reasons.append(f"w_ports {p.w_ports} needs a weight word (PE {p.pe} x SIMD {p.simd} x "
                       f"{p.w_bits} bits) of whole {beat}-byte beats")
    return "; ".join(reasons) or None


@dataclass
class OverlayDesign:
    """A generated RTL overlay: ``top`` module, its ``sources`` (what Verilator / Vivado read)
    and the SystemVerilog parameters it was generated with."""

    out_dir: Path
    top: str
    sources: list[Path]
    params: dict[str, int] = field(default_factory=dict)
    registers: dict[str, Any] = field(default_factory=dict)


def overlay_sv_params(p: OverlayParams, registers: dict[str, Any] | None = None,
                      dsp_pack: bool = True) -> dict[str, int]:
    """The ``ep_ovl_top`` parameters of capacities ``p`` and a register map (default: the
    overlay's :func:`edgepool.accel.regmap.default_regmap`); ``dsp_pack`` packs two <= 8-bit
    MAC lanes per DSP48E2 (:func:`~edgepool.dse.cost.dsp_packing_supported` by the part)."""
    regs = registers or R.default_regmap("overlay")["accel"]["registers"]
    sv = {"SIMD": p.simd, "PE": p.pe, "ACT_BITS": p.act_bits, "OUT_BITS": p.out_container,
          "W_BITS": p.w_bits, "ACC_BITS": p.acc_bits, "LB_WORDS": p.lb_words,
          "WBUF_WORDS": p.wbuf_words, "MAX_TILE_NF": p.max_tile_nf, "PLB_WORDS": p.plb_words,
          "SPLB_WORDS": p.splb_words, "SUM_BITS": p.sum_bits, "AXW": AXI_ADDR_BITS,
          "DW": AXI_DATA_BITS, "W_PORTS": p.w_ports, "DSP_PACK": int(dsp_pack),
          "DEN_BITS": OVERLAY_DEN_BITS, "RQ_LANES": rq_lanes(p)}
    sv.update(R.ap_ctrl_hs_params(regs))
    for param, name in _ARG_PARAMS:
        if name not in regs:
            raise UnsupportedOpError([f"register {name!r} missing from the overlay's map"],
                                     "use edgepool.accel.regmap.default_regmap('overlay')")
        sv[param] = int(regs[name]["offset"])
    return sv


def generate_overlay(p: OverlayParams, out_dir: Path | str, *, top: str = OVERLAY_TOP,
                     registers: dict[str, Any] | None = None, label: str = "model",
                     copy_library: bool = False, dsp_pack: bool = True) -> OverlayDesign:
    """Write the overlay top ``<out_dir>/<top>.sv`` for capacities ``p``; with
    ``copy_library`` the ``sim/rtl`` modules are copied beside it (a self-contained IP
    directory), else referenced in place."""
    why = unsupported_reason(p)
    if why:
        raise UnsupportedOpError([f"RTL overlay: {why}"], "use --engine hls")
    if not _TCL_SAFE.fullmatch(top) or not top.isidentifier():
        raise UnsupportedOpError([f"top name {top!r} is not a plain identifier"])
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    regs = registers or R.default_regmap("overlay")["accel"]["registers"]
    sv = overlay_sv_params(p, regs, dsp_pack)
    text = render("rtl/overlay.sv.j2", top=top, label=_label(label), params=list(sv.items()),
                  ctrl=sv, dw=AXI_DATA_BITS, axw=AXI_ADDR_BITS, w_ports=p.w_ports)
    (out / f"{top}.sv").write_text(text)
    lib = []
    for name in OVERLAY_LIBRARY:
        if copy_library:
            shutil.copy(RTL_DIR / name, out / name)
            lib.append(out / name)
        else:
            lib.append(RTL_DIR / name)
    return OverlayDesign(out, top, [*lib, out / f"{top}.sv"], sv, dict(regs))


def overlay_package_tcl(design: OverlayDesign, part: str, label: str = "model") -> Path:
    """Write ``package_overlay_ip.tcl`` beside a self-contained overlay (``copy_library``):
    ``ipx::`` commands packaging it as the Vivado IP :func:`~edgepool.codegen.rtl.ip_vlnv`
    with s_axi_control, m_axi_gmem, clock, reset and interrupt. Returns its path (run by
    ``vivado -mode batch -source``; no Vivado on this machine)."""
    out = Path(design.out_dir)
    for s in design.sources:
        if Path(s).parent.resolve() != out.resolve():
            raise UnsupportedOpError([f"IP source {s} is outside {out}"],
                                     "generate with copy_library=True")
    if not _TCL_SAFE.fullmatch(part):
        raise UnsupportedOpError([f"part {part!r} is not a plain Vivado part name"])
    regs = [dict(name=n, offset=f"0x{int(r['offset']):02X}", bits=int(r["bits"]))
            for n, r in sorted(design.registers.items(), key=lambda kv: kv[1]["offset"])]
    text = render("rtl/package_overlay_ip.tcl.j2", top=design.top, vlnv=ip_vlnv(design.top),
                  vendor=IP_VENDOR, library=IP_LIBRARY, name=design.top, version=IP_VERSION,
                  part=part, label=_label(label), dw=AXI_DATA_BITS,
                  sources=[Path(s).name for s in design.sources], registers=regs,
                  range=f"0x{1 << design.params['AW']:X}",
                  w_ports=int(design.params.get("W_PORTS", 1)),
                  weight_ports=list(range(1, int(design.params.get("W_PORTS", 1)))))
    path = out / PACKAGE_TCL
    path.write_text(text)
    return path


def build_overlay_ip(p: OverlayParams, build_dir: Path | str, part: str,
                     label: str = "model") -> RtlAccelSection:
    """The build's RTL overlay IP: the top and its library modules copied into
    ``build_dir/rtl/overlay/`` with ``package_overlay_ip.tcl`` (which packages it into
    ``rtl/overlay/ip`` as :data:`~edgepool.accel.regmap.RTL_ACCEL_VLNV`); returns the
    manifest's ``rtl.overlay`` section (raises UnsupportedOpError when
    :func:`unsupported_reason` refuses ``p``)."""
    build_dir = Path(build_dir)
    design = generate_overlay(p, build_dir / BUILD_SUBDIR, label=label, copy_library=True,
                              dsp_pack=dsp_packing_supported(part))
    tcl = overlay_package_tcl(design, part, label)
    return RtlAccelSection(
        top=design.top, vlnv=ip_vlnv(design.top),
        sources=tuple(str(Path(s).relative_to(build_dir)) for s in design.sources),
        beat_bytes=AXI_DATA_BITS // 8, registers=design.registers,
        package_tcl=str(tcl.relative_to(build_dir)))
