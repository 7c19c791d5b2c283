# SPDX-License-Identifier: Apache-2.0
"""The build's ``vendor`` step (:func:`write_vendor`): the Vivado side of an FPGA build, in
``<build>/vivado/``.

* ``bd.tcl``: block design: the board's PS (``zynq_ultra_ps_e`` with the board preset on
  Ultra96 / ZCU104, ``processing_system7`` on PYNQ-Z2), PL clock 0 at the configuration's MHz,
  ``proc_sys_reset``, two SmartConnects (PS master → control slaves; accelerator / DMA masters →
  HP0), the accelerator IP (HLS export or packaged RTL, see ``build.sh``), and for the
  dataflow style an AXI DMA in simple mode (MM2S + S2MM,
  stream width = the configuration's DMA width); address map = the manifest's ``regmap``; then
  ``make_wrapper``, synthesis, implementation, ``write_bitstream``, and ``edgepool.bit`` +
  ``edgepool.hwh`` copied next to the script.
* ``<board>.xdc``: a copy of ``hw/constraints/<board>.xdc``.
* ``build.sh``: HLS engine: ``vitis_hls -f ../hls/run_hls.tcl`` then ``vivado -mode batch -source
  bd.tcl``; RTL engine (the default where it supports the model): ``vivado -mode batch -source
  ../rtl/package_ip.tcl`` (``ipx::`` packaging of the cocotb-verified SystemVerilog as
  ``edgepool:rtl:ep_accel:1.0`` in ``rtl/ip``) then ``bd.tcl``, which instantiates that IP
  (AXI4-Lite ap_ctrl_hs control at the register map's address, ``s_axis`` / ``m_axis`` to the
  DMA). For the overlay style the RTL engine is the RTL overlay: ``vivado -mode batch -source
  ../rtl/overlay/package_overlay_ip.tcl`` (``edgepool:rtl:edgepool_overlay:1.0`` in
  ``rtl/overlay/ip``), its ``m_axi_gmem`` to the HP port. No ``vitis_hls`` in an RTL build.

When the tools the engine needs are on PATH the stage runs ``build.sh`` (output streamed to
``vivado/build.log`` and the progress callback) and records the bitstream; otherwise it returns
the exact command to run on a machine that has them (a manifest ``next_steps`` entry + a note).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..accel.manifest import FilesSection, VendorSection
from ..accel.regmap import overlay_bundles
from ..errors import ConfigError, ToolchainError
from ..targets import Board
from ..toolchain import which
from .emit import render
from .hls import design_meta
from .names import check_safe, comment_text

VENDOR_DIR = "vivado"
BITSTREAM = "edgepool.bit"
HWH = "edgepool.hwh"
PS_NAMES = {"zynq_ultra_ps_e": "zynq_ultra_ps_e_0", "processing_system7": "processing_system7_0"}


def _hex(v: int) -> str:
    return f"0x{int(v):08X}"


#: the accelerator's AXI4-Stream interface names (in, out) per engine
STREAM_IFACES = {"hls": ("in_stream", "out_stream"), "rtl": ("s_axis", "m_axis")}
#: the RTL IP's packaging script and IP repository, relative to the build directory
RTL_PACKAGE = "rtl/package_ip.tcl"
RTL_IP_REPO = "rtl/ip"


def bd_context(meta: dict[str, Any], regmap: dict[str, Any], board: Board,
               engine: str = "hls", package: str = RTL_PACKAGE) -> dict[str, Any]:
    """Template context of ``bd.tcl`` (every string checked by :func:`check_safe`);
    ``engine`` says which IP the block design instantiates (``hls``: the Vitis HLS export in
    ``hls/<project>/solution1/impl/ip``; ``rtl``: the packaged SystemVerilog IP in ``ip/``
    beside its packaging script ``package``: ``rtl/ip`` for the dataflow IP, ``rtl/overlay/ip``
    for the RTL overlay)."""
    if engine not in STREAM_IFACES:
        raise ConfigError(f"unknown engine {engine!r}", "use rtl or hls")

    if board.ps_ip not in PS_NAMES:
        raise ConfigError(f"board {board.name}: unknown PS IP {board.ps_ip!r}",
                          f"one of {', '.join(PS_NAMES)}")
    style = meta["style"]
    accel = regmap["ips"]["accel"]
    cfg = meta["config"]
    ctx: dict[str, Any] = dict(
        style=style, board=check_safe(board.name), part=check_safe(board.part),
        board_part=check_safe(board.board_part), ps_ip=board.ps_ip,
        ps_name=PS_NAMES[board.ps_ip], xdc=check_safe(f"{board.name}.xdc"),
        clock_mhz=f"{float(meta['clock_mhz']):g}", hls_project=check_safe(meta["project"]),
        accel_vlnv=check_safe(accel["vlnv"]), accel_name=check_safe(accel["name"]),
        hp_bits=int(board.memory.get("hp_width_bits", 64)), segments=[], engine=engine,
        in_iface=STREAM_IFACES[engine][0], out_iface=STREAM_IFACES[engine][1],
        accel_control=accel.get("control", "ap_ctrl_none"),
        package=check_safe(package),
        ip_repo=[check_safe(p) for p in (*Path(package).parent.parts, "ip")])
    ctx["ctrl_slaves"] = 2 if style == "dataflow" and ctx["accel_control"] == "ap_ctrl_hs" else 1
    if engine == "rtl" and ctx["accel_control"] != "ap_ctrl_hs":
        raise ConfigError("the RTL IP has an ap_ctrl_hs block but the register map says "
                          f"{ctx['accel_control']}", "rebuild from the rtl stage (--from rtl)")
    if style == "dataflow":
        dma = regmap["ips"]["dma"]
        dname = check_safe(dma["name"])
        ctx.update(dma_name=dname, length_bits=int(regmap["dma"]["length_bits"]),
                   stream_bits=int(regmap["dma"]["data_bits"]),
                   addr_bits=64 if regmap["family"] == "zynquplus" else 32,
                   mem_masters=[f"{dname}/M_AXI_MM2S", f"{dname}/M_AXI_S2MM"])
        if int(regmap["dma"]["data_bits"]) != int(cfg["dma_bits"]):
            raise ConfigError("register map and HLS configuration disagree on the DMA width")
        ctx["segments"].append(dict(seg=f"{dname}/S_AXI_LITE/Reg", offset=_hex(dma["base"]),
                                    range=_hex(dma["range"])))
        if ctx["accel_control"] == "ap_ctrl_hs":
            iface = check_safe(accel.get("interface", "s_axi_control"))
            ctx["segments"].append(dict(seg=f"{ctx['accel_name']}/{iface}/Reg",
                                        offset=_hex(accel["base"]), range=_hex(accel["range"])))
    else:
        iface = check_safe(accel.get("interface", "s_axi_control"))
        ctx["mem_masters"] = [f"{ctx['accel_name']}/m_axi_{b}" for b in overlay_bundles(regmap)]
        # the RTL overlay's extra read ports for streamed FC weights: one HP port each
        wp = int(cfg.get("w_ports", 1) or 1) if engine == "rtl" else 1
        ctx["weight_ports"] = [(k, check_safe(f"{ctx['accel_name']}/m_axi_gmem{k}"))
                               for k in range(1, wp)]
        ctx["segments"].append(dict(seg=f"{ctx['accel_name']}/{iface}/Reg",
                                    offset=_hex(accel["base"]), range=_hex(accel["range"])))
    ctx.setdefault("weight_ports", [])
    for m in ctx["mem_masters"]:
        check_safe(m)
    return ctx


def write_vivado(out: Path, meta: dict[str, Any], regmap: dict[str, Any], board: Board,
                 model_label: str, engine: str = "hls", package: str = RTL_PACKAGE
                 ) -> list[str]:
    """Write ``<out>/vivado/`` (bd.tcl, the board's xdc, build.sh); the files, relative to out."""
    vdir = Path(out) / VENDOR_DIR
    vdir.mkdir(parents=True, exist_ok=True)
    ctx = bd_context(meta, regmap, board, engine, package)
    (vdir / "bd.tcl").write_text(render("vendor/bd.tcl.j2", model_label=model_label, **ctx))
    xdc = Path(board.xdc)
    if not xdc.exists():
        raise ConfigError(f"no constraints file {xdc} for board {board.name}",
                          "add hw/constraints/<board>.xdc")
    shutil.copyfile(xdc, vdir / ctx["xdc"])
    sh = vdir / "build.sh"
    sh.write_text(render("vendor/build.sh.j2", model_label=model_label, board=ctx["board"],
                         engine=engine, package=ctx["package"]))
    sh.chmod(0o755)
    return [f"{VENDOR_DIR}/{n}" for n in ("bd.tcl", ctx["xdc"], "build.sh")]


def run_vendor_flow(vdir: Path, progress: Callable[[str], None] | None = None) -> int:
    """Run ``build.sh`` in ``vdir``; every output line goes to ``build.log`` and ``progress``."""
    log = vdir / "build.log"
    with log.open("w") as f, subprocess.Popen(["sh", "build.sh"], cwd=vdir, text=True,
                                              stdout=subprocess.PIPE,
                                              stderr=subprocess.STDOUT) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            f.write(line)
            if progress:
                progress(line.rstrip("\n"))
        return proc.wait()


def _print_progress(line: str) -> None:
    print(f"  [vendor] {line}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class VendorBuild:
    """What the build's ``vendor`` step produced: the manifest's ``files`` and ``vendor``
    sections, the bitstream (when the tools ran), the next step to take by hand (when they did
    not) and the notes."""

    files: FilesSection
    section: VendorSection
    bitstream: str | None
    next_step: str | None
    notes: tuple[str, ...]


def write_vendor(build_dir: Path, board: Board, regmap: dict[str, Any],
                 program_name: str | None = None, shown_dir: Path | None = None,
                 engine: str = "hls", rtl_package: str | None = None) -> VendorBuild:
    """The build's ``vendor`` step (see the module docstring) on a build directory that holds
    the hls step's output (and for ``engine="rtl"`` the rtl step's ``rtl/package_ip.tcl``);
    ``regmap`` is the design's register map. ``shown_dir`` is the directory the messages name
    (the final build directory while it is assembled elsewhere); ``rtl_package`` the RTL IP's
    packaging script (default ``rtl/package_ip.tcl``, the dataflow IP's)."""
    out = Path(build_dir)
    shown = shown_dir if shown_dir is not None else out
    if not (out / "hls" / "design.json").exists():
        raise ConfigError("the vendor stage needs the hls stage's output",
                          "run the build from the hls stage (--from hls)")
    package = rtl_package or RTL_PACKAGE
    if engine == "rtl" and not (out / package).exists():
        raise ConfigError(f"the RTL engine's IP packaging script {package} is missing",
                          "run the build from the rtl stage (--from rtl)")
    meta = design_meta(out)
    label = comment_text(program_name if program_name is not None else meta["namespace"])
    vfiles = write_vivado(out, meta, regmap, board, label, engine, package)
    hls_files = sorted(f"hls/{p.relative_to(out / 'hls')}"
                       for p in (out / "hls").rglob("*")
                       if p.is_file() and "csim" not in p.relative_to(out / "hls").parts)
    vdir = out / VENDOR_DIR
    command = f"cd {VENDOR_DIR} && ./build.sh"
    vitis, vivado = which("vitis_hls"), which("vivado")
    tools = {"vitis_hls": vitis is not None, "vivado": vivado is not None}
    needed = (("vivado", vivado),) if engine == "rtl" else (("vitis_hls", vitis),
                                                             ("vivado", vivado))
    common = dict(dir=VENDOR_DIR, script=f"{VENDOR_DIR}/build.sh", bd=f"{VENDOR_DIR}/bd.tcl",
                  command=command, tools=tools)
    if all(p is not None for _, p in needed):
        progress = _print_progress if os.environ.get("EDGEPOOL_QUIET") is None else None
        rc = run_vendor_flow(vdir, progress)
        if rc != 0 or not (vdir / BITSTREAM).exists():
            raise ToolchainError(f"the Vitis/Vivado flow failed (exit {rc}); see "
                                 f"{shown}/{VENDOR_DIR}/build.log",
                                 "fix the reported error and resume with --from vendor")
        section = VendorSection(**common, built=True, bitstream=f"{VENDOR_DIR}/{BITSTREAM}",
                                hwh=f"{VENDOR_DIR}/{HWH}", log=f"{VENDOR_DIR}/build.log")
        vfiles += [f"{VENDOR_DIR}/{BITSTREAM}", f"{VENDOR_DIR}/{HWH}", f"{VENDOR_DIR}/build.log"]
        return VendorBuild(FilesSection(tuple(hls_files), tuple(vfiles)), section,
                           f"{VENDOR_DIR}/{BITSTREAM}", None,
                           (f"vendor: bitstream {shown}/{VENDOR_DIR}/{BITSTREAM} (+ .hwh)",))
    missing = [t for t, p in needed if p is None]
    flow = (f"vivado -mode batch -source ../{package}; vivado -mode batch -source "
            "bd.tcl" if engine == "rtl" else
            "vitis_hls -f ../hls/run_hls.tcl; vivado -mode batch -source bd.tcl")
    tools_needed = "Vivado 2023.2+" if engine == "rtl" else "Vitis HLS + Vivado 2023.2+"
    step = (f"bitstream: on a machine with {tools_needed} on PATH (source "
            f"settings64.sh), run `cd {shown}/{VENDOR_DIR} && ./build.sh` "
            f"(= {flow}); it writes {VENDOR_DIR}/{BITSTREAM} and {VENDOR_DIR}/{HWH}")
    note = (f"vendor: {', '.join(missing)} not on PATH: Vivado project scripts in "
            f"{VENDOR_DIR}/; to get the bitstream run `cd {shown}/"
            f"{VENDOR_DIR} && ./build.sh` where the tools are installed")
    return VendorBuild(FilesSection(tuple(hls_files), tuple(vfiles)),
                       VendorSection(**common, built=False), None, step, (note,))
