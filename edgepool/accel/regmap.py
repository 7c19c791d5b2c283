# SPDX-License-Identifier: Apache-2.0
"""The accelerator's host interface, as data: block-design IP names, register maps, and the
minimal Vivado hardware handoff (``.hwh``) that describes them to PYNQ.

Two accelerator styles share one block design skeleton (Zynq PS + AXI-Lite + DDR):

* ``dataflow``: the generated top has AXI-Stream ports; a Xilinx AXI DMA
  (``axi_dma_0``, simple register mode, PG021) moves input frames DDR → stream (MM2S) and
  output frames stream → DDR (S2MM). Frames use :mod:`edgepool.accel.axis`'s format. The
  RTL engine's IP (``engine="rtl"``, the default build's) has the Vitis ``ap_ctrl_hs`` control
  block at the accelerator's address (started once with auto-restart by the driver), and so
  does the HLS dataflow top edgepool generates (:data:`DATAFLOW_CONTROL`); ``ap_ctrl_none``
  remains readable for builds made before.
* ``overlay``: the layer-by-layer overlay ``edgepool_overlay(desc, n_layers, wmem, bmem,
  act_in, act_out)`` masters DDR itself (m_axi, ``offset=slave``) and is started through its
  Vitis HLS ``s_axilite`` control registers (``ap_ctrl_hs``: ap_start / ap_done / ap_idle).
  The RTL overlay (``engine="rtl"``, the default build's) has the same register layout under
  :data:`RTL_ACCEL_VLNV` and one AXI4 master ``m_axi_gmem`` (``accel.bundles``) instead of the
  HLS IP's four.

The HLS codegen writes the map of the generated design into ``manifest["regmap"]``; builds
without one use :func:`default_regmap`. :func:`validate_regmap` checks either kind.

This module must stay importable without the rest of edgepool (it ships in the board bundle).
"""

from __future__ import annotations

import copy
from typing import Any
from xml.sax.saxutils import quoteattr

from ..errors import ManifestError

REGMAP_FORMAT = 1
STYLES = ("dataflow", "overlay")

IP_DMA = "axi_dma_0"
IP_ACCEL = "edgepool_0"
DMA_VLNV = "xilinx.com:ip:axi_dma:7.1"
ACCEL_VLNV = "xilinx.com:hls:{top}:1.0"
#: the RTL engine's IP (``rtl/package_ip.tcl`` packages ``ep_accel`` under this VLNV)
RTL_IP_VENDOR, RTL_IP_LIBRARY, RTL_IP_VERSION = "edgepool", "rtl", "1.0"
RTL_ACCEL_VLNV = f"{RTL_IP_VENDOR}:{RTL_IP_LIBRARY}:{{top}}:{RTL_IP_VERSION}"
RTL_ACCEL_TOP = "ep_accel"
#: the RTL overlay IP (``rtl/overlay/package_overlay_ip.tcl`` packages ``edgepool_overlay``
#: under :data:`RTL_ACCEL_VLNV`): the HLS overlay's s_axilite layout on one AXI4 master
RTL_OVERLAY_TOP = "edgepool_overlay"
RTL_OVERLAY_BUNDLES = ("gmem",)
#: the RTL overlay's m_axi_gmem data width (one Zynq UltraScale+ S_AXI_HP*_FPD port)
RTL_OVERLAY_AXI_BITS = 128
#: accelerator engines: which IP the block design instantiates
ENGINES = ("hls", "rtl")

# ------------------------------------------------------------------ Xilinx AXI DMA (PG021)
#: Simple (direct register) mode registers of the AXI DMA; offsets fixed by the IP.
DMA_REGISTERS: dict[str, int] = {
    "MM2S_DMACR": 0x00, "MM2S_DMASR": 0x04, "MM2S_SA": 0x18, "MM2S_SA_MSB": 0x1C,
    "MM2S_LENGTH": 0x28,
    "S2MM_DMACR": 0x30, "S2MM_DMASR": 0x34, "S2MM_DA": 0x48, "S2MM_DA_MSB": 0x4C,
    "S2MM_LENGTH": 0x58,
}
DMACR_RS = 1 << 0            # run / stop
DMACR_RESET = 1 << 2         # soft reset (self-clearing)
DMACR_IOC_IRQEN = 1 << 12
DMACR_ERR_IRQEN = 1 << 14
DMASR_HALTED = 1 << 0
DMASR_IDLE = 1 << 1
DMASR_SGINCLD = 1 << 3
DMASR_INTERR = 1 << 4        # internal error (e.g. zero length, S2MM buffer too small)
DMASR_SLVERR = 1 << 5
DMASR_DECERR = 1 << 6        # address decode error (no memory there)
DMASR_IOC_IRQ = 1 << 12      # interrupt on complete (write 1 to clear)
DMASR_ERR_IRQ = 1 << 14
DMASR_ERRORS = DMASR_INTERR | DMASR_SLVERR | DMASR_DECERR
DMA_RANGE = 0x10000

# ------------------------------------------------------------------ Vitis HLS s_axilite
#: ap_ctrl_hs block-level control registers (Vitis HLS ``xtop_hw.h``).
CTRL_REGISTERS: dict[str, int] = {"CTRL": 0x00, "GIER": 0x04, "IP_IER": 0x08, "IP_ISR": 0x0C}
AP_START = 1 << 0
AP_DONE = 1 << 1             # clear-on-read
AP_IDLE = 1 << 2
AP_READY = 1 << 3
AP_AUTO_RESTART = 1 << 7
GIE = 1 << 0                 # GIER: global interrupt enable
IRQ_AP_DONE = 1 << 0         # IP_IER / IP_ISR: ap_done event
IRQ_AP_READY = 1 << 1        # IP_IER / IP_ISR: ap_ready event
ACCEL_RANGE = 0x10000
#: block-level control of the dataflow top: the HLS IP has none (free-running streams); the RTL
#: IP (``sim/rtl/ep_accel_shell.sv``) has the ap_ctrl_hs block and no arguments
DATAFLOW_CONTROLS = ("ap_ctrl_none", "ap_ctrl_hs")
#: the block-level control edgepool generates for BOTH dataflow engines (the HLS top's
#: ``s_axilite port=return`` and the RTL IP's ep_axil_ctrl): one register layout, so one
#: driver path (start once with auto-restart) serves either IP
DATAFLOW_CONTROL = "ap_ctrl_hs"

#: The overlay's top-level arguments in declaration order (``hls/include/edgepool/overlay.h``):
#: (name, bits, kind). Pointers are 64-bit byte addresses (m_axi ``offset=slave``).
OVERLAY_ARGS: tuple[tuple[str, int, str], ...] = (
    ("desc", 64, "pointer"), ("n_layers", 32, "scalar"), ("wmem", 64, "pointer"),
    ("bmem", 64, "pointer"), ("act_in", 64, "pointer"), ("act_out", 64, "pointer"),
)

#: m_axi bundles of the overlay (one AXI master port each).
OVERLAY_BUNDLES = ("gmem_d", "gmem_w", "gmem_a", "gmem_o")

# ------------------------------------------------------------------ address maps per PS family
#: Where Vivado's address editor puts the first AXI-Lite slaves, and the DDR the HP ports see.
FAMILY_MAP: dict[str, dict[str, Any]] = {
    "zynquplus": {"ps": "zynq_ultra_ps_e", "ps_vlnv": "xilinx.com:ip:zynq_ultra_ps_e:3.3",
                  "master": "M_AXI_HPM0_FPD", "hp": "S_AXI_HP0_FPD", "dma": 0xA000_0000,
                  "accel": 0xA001_0000, "ddr": (0x0000_0000, 0x7FFF_FFFF),
                  "arch": "zynquplus", "arm": "aarch64"},
    "zynq": {"ps": "processing_system7", "ps_vlnv": "xilinx.com:ip:processing_system7:5.5",
             "master": "M_AXI_GP0", "hp": "S_AXI_HP0", "dma": 0x4040_0000,
             "accel": 0x43C0_0000, "ddr": (0x0000_0000, 0x1FFF_FFFF),
             "arch": "zynq", "arm": "armv7l"},
}


def vitis_axilite_layout(args: tuple[tuple[str, int, str], ...], has_return: bool
                         ) -> dict[str, dict[str, Any]]:
    """Register offsets Vitis HLS assigns on an ``s_axilite`` bundle: control block at 0x00-0x0C,
    ``ap_return`` at 0x10 (non-void top), then each argument in order: a 32-bit scalar takes one
    data word + one reserved word (8 bytes), a 64-bit pointer two data words + one reserved word
    (12 bytes). The HLS codegen should copy the offsets of its ``xtop_hw.h`` into the manifest;
    this is the layout those files have for our top functions."""
    regs: dict[str, dict[str, Any]] = {
        name: {"offset": off, "bits": 32, "access": "read-write" if name != "IP_ISR" else "toggle"}
        for name, off in CTRL_REGISTERS.items()}
    off = 0x10
    if has_return:
        regs["ap_return"] = {"offset": off, "bits": 32, "access": "read-only"}
        off += 8
    for name, bits, kind in args:
        regs[name] = {"offset": off, "bits": bits, "access": "write-only", "kind": kind}
        off += 4 * (bits // 32) + 4
    return regs


def ap_ctrl_hs_params(registers: dict[str, dict[str, Any]]) -> dict[str, int]:
    """SystemVerilog parameters of ``ep_axil_ctrl`` / ``ep_accel_shell`` for a register map:
    the control block's offsets and bit positions, and the address width AW that covers every
    register. The RTL generator emits these into the generated top (one definition: here)."""
    for name in CTRL_REGISTERS:
        if name not in registers:
            raise ManifestError(f"ap_ctrl_hs register {name} missing from the register map",
                                "use vitis_axilite_layout() for the control registers")
    top = max(r["offset"] + r["bits"] // 8 for r in registers.values())
    bit = int.bit_length
    return {"AW": max(4, (top - 1).bit_length()),
            "OFF_CTRL": registers["CTRL"]["offset"], "OFF_GIER": registers["GIER"]["offset"],
            "OFF_IER": registers["IP_IER"]["offset"], "OFF_ISR": registers["IP_ISR"]["offset"],
            "START_BIT": bit(AP_START) - 1, "DONE_BIT": bit(AP_DONE) - 1,
            "IDLE_BIT": bit(AP_IDLE) - 1, "READY_BIT": bit(AP_READY) - 1,
            "AUTO_RESTART_BIT": bit(AP_AUTO_RESTART) - 1, "GIE_BIT": bit(GIE) - 1,
            "IRQ_DONE_BIT": bit(IRQ_AP_DONE) - 1, "IRQ_READY_BIT": bit(IRQ_AP_READY) - 1}


def default_regmap(style: str, family: str = "zynquplus", *, top: str | None = None,
                   dma_bits: int = 64, control: str = "ap_ctrl_none",
                   engine: str = "hls") -> dict[str, Any]:
    """The register map of the block design edgepool's Vivado flow builds for ``style``.

    ``engine="rtl"`` is the block design with the RTL engine's IP under
    :data:`RTL_ACCEL_VLNV`. Dataflow: the ap_ctrl_hs control block (``top`` default
    ``ep_accel``), the same AXI DMA and addresses; ``control`` is then ``ap_ctrl_hs`` whatever
    is passed. Overlay: the RTL overlay (``top`` default ``edgepool_overlay``) with the HLS
    overlay's register layout (ap_ctrl_hs + ap_return + the :data:`OVERLAY_ARGS`) and one
    AXI4 master ``m_axi_gmem`` of :data:`RTL_OVERLAY_AXI_BITS` (``accel.bundles``).

    ``family`` is the board's PS family (``zynquplus`` or ``zynq``, ``hw/boards/*.toml``) and
    fixes the AXI base addresses; ``dma_bits`` is the DMA's memory-mapped / stream width.
    ``control`` (dataflow only): ``ap_ctrl_none`` (the HLS dataflow IP) or ``ap_ctrl_hs`` (the
    RTL IP: an AXI4-Lite control block at the accelerator's address, started once with
    auto-restart by the driver)."""
    if style not in STYLES:
        raise ManifestError(f"unknown accelerator style {style!r}", f"styles: {', '.join(STYLES)}")
    if family not in FAMILY_MAP:
        raise ManifestError(f"unknown PS family {family!r}",
                            f"families: {', '.join(FAMILY_MAP)}")
    if engine not in ENGINES:
        raise ManifestError(f"unknown engine {engine!r}", f"engines: {', '.join(ENGINES)}")
    if engine == "rtl":
        control = "ap_ctrl_hs"
    fam = FAMILY_MAP[family]
    rm: dict[str, Any] = {"format": REGMAP_FORMAT, "style": style, "family": family, "ips": {}}
    if style == "dataflow":
        rm["ips"]["dma"] = {"name": IP_DMA, "vlnv": DMA_VLNV, "base": fam["dma"],
                            "range": DMA_RANGE}
        rm["dma"] = {"registers": dict(DMA_REGISTERS), "data_bits": dma_bits,
                     "length_bits": 26}
        if control not in DATAFLOW_CONTROLS:
            raise ManifestError(f"unknown dataflow control {control!r}",
                                f"controls: {', '.join(DATAFLOW_CONTROLS)}")
        vlnv = (RTL_ACCEL_VLNV.format(top=top or RTL_ACCEL_TOP) if engine == "rtl"
                else ACCEL_VLNV.format(top=top or "edgepool_top"))
        rm["ips"]["accel"] = {"name": IP_ACCEL, "vlnv": vlnv, "base": None, "range": 0,
                              "control": control}
        if engine == "rtl":
            rm["ips"]["accel"]["engine"] = "rtl"
        if control == "ap_ctrl_hs":
            rm["ips"]["accel"].update(base=fam["accel"], range=ACCEL_RANGE,
                                      interface="s_axi_control")
            rm["accel"] = {"registers": vitis_axilite_layout((), has_return=False)}
        rm["stream"] = {"beat_bytes": dma_bits // 8}
    else:
        vlnv = (RTL_ACCEL_VLNV.format(top=top or RTL_OVERLAY_TOP) if engine == "rtl"
                else ACCEL_VLNV.format(top=top or "edgepool_overlay"))
        rm["ips"]["accel"] = {"name": IP_ACCEL, "vlnv": vlnv,
                              "base": fam["accel"], "range": ACCEL_RANGE,
                              "control": "ap_ctrl_hs", "interface": "s_axi_control"}
        rm["accel"] = {"registers": vitis_axilite_layout(OVERLAY_ARGS, has_return=True),
                       "m_axi_bits": dma_bits}
        if engine == "rtl":
            rm["ips"]["accel"]["engine"] = "rtl"
            rm["accel"].update(m_axi_bits=RTL_OVERLAY_AXI_BITS,
                               bundles=list(RTL_OVERLAY_BUNDLES))
    return rm


def _need(cond: bool, msg: str) -> None:
    if not cond:
        raise ManifestError(f"invalid register map: {msg}",
                            "rebuild (the HLS stage writes manifest['regmap']) or remove the "
                            "key to use the default map")


def validate_regmap(rm: Any) -> dict[str, Any]:
    """Check a register map (from a manifest) and return a normalized deep copy.

    Raises :class:`ManifestError` naming the first problem: unknown style, missing IP, DMA
    offsets that differ from PG021's, misaligned, overlapping or out-of-range registers, an
    overlay without ``CTRL`` at 0 or without one of its arguments."""
    _need(isinstance(rm, dict), f"expected an object, got {type(rm).__name__}")
    rm = copy.deepcopy(rm)
    _need(rm.get("format") == REGMAP_FORMAT, f"format {rm.get('format')!r} is not "
          f"{REGMAP_FORMAT}")
    style = rm.get("style")
    _need(style in STYLES, f"style {style!r} not one of {STYLES}")
    _need(rm.get("family") in FAMILY_MAP, f"family {rm.get('family')!r} not one of "
          f"{tuple(FAMILY_MAP)}")
    ips = rm.get("ips")
    _need(isinstance(ips, dict) and "accel" in ips, "no 'ips.accel' entry")
    for role, ip in ips.items():
        _need(isinstance(ip, dict) and isinstance(ip.get("name"), str) and ip["name"],
              f"ips.{role} has no name")
        _need(ip.get("base") is None or (isinstance(ip["base"], int) and ip["base"] % 4096 == 0),
              f"ips.{role}.base {ip.get('base')!r} is not a 4 KiB aligned address")
    if style == "dataflow":
        _need("dma" in ips and "dma" in rm, "a dataflow design needs ips.dma and dma")
        regs = rm["dma"].get("registers", {})
        for name, off in DMA_REGISTERS.items():
            _need(regs.get(name) == off, f"DMA register {name} at {regs.get(name)!r}, the AXI DMA "
                  f"has it at {off:#x}")
        bits = rm["dma"].get("data_bits")
        _need(bits in (32, 64, 128, 256, 512, 1024), f"DMA data width {bits!r}")
        lb = rm["dma"].get("length_bits")
        _need(isinstance(lb, int) and 8 <= lb <= 26, f"DMA length width {lb!r} not in 8..26")
        beat = rm.get("stream", {}).get("beat_bytes")
        _need(isinstance(beat, int) and beat > 0 and beat & (beat - 1) == 0,
              f"stream beat_bytes {beat!r} is not a power of two")
        control = ips["accel"].get("control", "ap_ctrl_none")
        _need(control in DATAFLOW_CONTROLS, f"dataflow control {control!r} not one of "
              f"{DATAFLOW_CONTROLS}")
        if control == "ap_ctrl_hs":
            _check_registers(rm, ips, "a dataflow design with ap_ctrl_hs")
    else:
        _check_registers(rm, ips, "an overlay design")
        regs = rm["accel"]["registers"]
        for name, _bits, _kind in OVERLAY_ARGS:
            _need(name in regs, f"overlay argument register {name!r} missing")
        bundles = overlay_bundles(rm)
        _need(bool(bundles) and all(isinstance(b, str) and b.isidentifier() for b in bundles),
              f"overlay m_axi bundles {bundles!r} are not identifiers")
    return rm


def overlay_bundles(rm: dict[str, Any]) -> tuple[str, ...]:
    """The overlay IP's AXI4 master bundles (``m_axi_<bundle>``): the map's
    ``accel.bundles`` (the RTL overlay: ``gmem``), else the HLS overlay's four."""
    return tuple(rm.get("accel", {}).get("bundles") or OVERLAY_BUNDLES)


def _check_registers(rm: dict[str, Any], ips: dict[str, Any], what: str) -> None:
    """The accelerator's s_axilite registers: control block present, aligned, in range, no
    overlaps."""
    acc = rm.get("accel", {})
    regs = acc.get("registers")
    _need(isinstance(regs, dict), f"{what} needs accel.registers")
    _need(isinstance(ips["accel"].get("base"), int), f"{what} needs an accelerator base address")
    _need(regs.get("CTRL", {}).get("offset") == 0, "CTRL must be at offset 0")
    for name in CTRL_REGISTERS:
        _need(name in regs, f"control register {name!r} missing")
    spans = []
    for name, r in regs.items():
        off, bits = r.get("offset"), r.get("bits")
        _need(isinstance(off, int) and off % 4 == 0 and off >= 0,
              f"register {name} offset {off!r} not word aligned")
        _need(bits in (32, 64), f"register {name} width {bits!r} not 32 or 64")
        _need(off + bits // 8 <= ips["accel"].get("range", 0),
              f"register {name} at {off:#x} outside the IP's address range")
        spans.append((off, off + bits // 8, name))
    spans.sort()
    for (a0, a1, an), (b0, _b1, bn) in zip(spans, spans[1:]):
        _need(a1 <= b0, f"registers {an} [{a0:#x}, {a1:#x}) and {bn} at {b0:#x} overlap")


# ------------------------------------------------------------------ hardware handoff (.hwh)
def _params(pairs: dict[str, Any]) -> str:
    return "".join(f"        <PARAMETER NAME={quoteattr(k)} VALUE={quoteattr(str(v))}/>\n"
                   for k, v in pairs.items())


def _register_xml(name: str, offset: int, bits: int, access: str, desc: str,
                  fields: list[tuple[str, int, int, str]]) -> str:
    fx = "".join(
        f"                <FIELD NAME={quoteattr(fn)}>\n"
        f"                  <PROPERTY NAME=\"DESCRIPTION\" VALUE={quoteattr(fn)}/>\n"
        f"                  <PROPERTY NAME=\"ADDRESS_OFFSET\" VALUE=\"0\"/>\n"
        f"                  <PROPERTY NAME=\"ACCESS\" VALUE={quoteattr(fa)}/>\n"
        f"                  <PROPERTY NAME=\"BIT_OFFSET\" VALUE=\"{fo}\"/>\n"
        f"                  <PROPERTY NAME=\"BIT_WIDTH\" VALUE=\"{fw}\"/>\n"
        f"                </FIELD>\n" for fn, fo, fw, fa in fields)
    return (f"            <REGISTER NAME={quoteattr(name)}>\n"
            f"              <PROPERTY NAME=\"DESCRIPTION\" VALUE={quoteattr(desc)}/>\n"
            f"              <PROPERTY NAME=\"ADDRESS_OFFSET\" VALUE=\"{offset:#x}\"/>\n"
            f"              <PROPERTY NAME=\"SIZE\" VALUE=\"{bits}\"/>\n"
            f"              <PROPERTY NAME=\"ACCESS\" VALUE={quoteattr(access)}/>\n"
            f"              <FIELDS>\n{fx}              </FIELDS>\n"
            f"            </REGISTER>\n")


_DMA_FIELDS = {
    "DMACR": [("RS", 0, 1, "read-write"), ("Reset", 2, 1, "read-write"),
              ("IOC_IrqEn", 12, 1, "read-write"), ("Err_IrqEn", 14, 1, "read-write")],
    "DMASR": [("Halted", 0, 1, "read-only"), ("Idle", 1, 1, "read-only"),
              ("DMAIntErr", 4, 1, "read-only"), ("DMASlvErr", 5, 1, "read-only"),
              ("DMADecErr", 6, 1, "read-only"), ("IOC_Irq", 12, 1, "read-write"),
              ("Err_Irq", 14, 1, "read-write")],
}


def _busifs(ifaces: list[tuple[str, str]]) -> str:
    """``<BUSINTERFACES>`` of memory-mapped ports: (name, MASTER | SLAVE)."""
    body = "".join(f"        <BUSINTERFACE BUSNAME={quoteattr(n + '_bus')} NAME={quoteattr(n)} "
                   f"TYPE=\"{t}\" VLNV=\"xilinx.com:interface:aximm:1.0\"/>\n"
                   for n, t in ifaces)
    return f"      <BUSINTERFACES>\n{body}      </BUSINTERFACES>\n"


def _dma_register_xml() -> str:
    out = []
    for name, off in DMA_REGISTERS.items():
        kind = name.split("_", 1)[1]
        fields = _DMA_FIELDS.get(kind, [(kind, 0, 32, "read-write")])
        out.append(_register_xml(name, off, 32, "read-write", f"AXI DMA {name}", fields))
    return "".join(out)


def _accel_register_xml(regs: dict[str, dict[str, Any]]) -> str:
    ctrl_fields = [("AP_START", 0, 1, "read-write"), ("AP_DONE", 1, 1, "read-only"),
                   ("AP_IDLE", 2, 1, "read-only"), ("AP_READY", 3, 1, "read-only"),
                   ("AUTO_RESTART", 7, 1, "read-write")]
    out = []
    for name, r in sorted(regs.items(), key=lambda kv: kv[1]["offset"]):
        fields = ctrl_fields if name == "CTRL" else [(name, 0, r["bits"], r["access"])]
        out.append(_register_xml(name, r["offset"], r["bits"], r["access"], f"{name}", fields))
    return "".join(out)


def _accel_module(accel: dict[str, Any], body: str) -> str:
    """The accelerator's ``<MODULE>`` element of the .hwh around ``body``."""
    return (f"    <MODULE FULLNAME=\"/{accel['name']}\" HWVERSION=\"1.0\" "
            f"INSTANCE=\"{accel['name']}\" IPTYPE=\"PERIPHERAL\" IS_ENABLE=\"1\" "
            f"MODCLASS=\"PERIPHERAL\" MODTYPE=\"{accel['vlnv'].split(':')[2]}\" "
            f"VLNV=\"{accel['vlnv']}\">\n      <PARAMETERS/>\n{body}    </MODULE>\n")


def _accel_register_block(accel: dict[str, Any], iface: str,
                          regs: dict[str, dict[str, Any]]) -> str:
    """The accelerator's control registers as an ``<ADDRESSBLOCKS>`` element."""
    return (f"      <ADDRESSBLOCKS>\n"
            f"        <ADDRESSBLOCK ACCESS=\"read-write\" INTERFACE=\"{iface}\" NAME=\"Reg\" "
            f"RANGE=\"{accel['range']}\" USAGE=\"register\">\n          <REGISTERS>\n"
            f"{_accel_register_xml(regs)}          </REGISTERS>\n"
            f"        </ADDRESSBLOCK>\n      </ADDRESSBLOCKS>\n")


def block_design_hwh(rm: dict[str, Any], *, design: str, part: str, clock_mhz: float) -> str:
    """A minimal Vivado hardware handoff for the block design of ``rm``: the PS (with PL clock 0
    at ``clock_mhz``), the AXI DMA (dataflow) and the accelerator with their register maps and
    address ranges. PYNQ's metadata parser reads it exactly like Vivado's output; a real Vivado
    build replaces it with its own ``.hwh`` (same IP names and offsets)."""
    rm = validate_regmap(rm)
    fam = FAMILY_MAP[rm["family"]]
    ps = "zynq_ultra_ps_e_0" if rm["family"] == "zynquplus" else "processing_system7_0"
    lo, hi = fam["ddr"]
    ranges, modules = [], []
    accel = rm["ips"]["accel"]

    def memrange(ip: dict[str, Any], iface: str) -> str:
        return (f"        <MEMRANGE ADDRESSBLOCK=\"Reg\" BASENAME=\"C_BASEADDR\" "
                f"BASEVALUE=\"{ip['base']:#010x}\" HIGHNAME=\"C_HIGHADDR\" "
                f"HIGHVALUE=\"{ip['base'] + ip['range'] - 1:#010x}\" INSTANCE=\"{ip['name']}\" "
                f"IS_DATA=\"TRUE\" IS_INSTRUCTION=\"TRUE\" MASTERBUSINTERFACE=\"{fam['master']}\" "
                f"MEMTYPE=\"REGISTER\" SLAVEBUSINTERFACE=\"{iface}\"/>\n")

    def ddr_range(inst_master: str) -> str:
        return (f"        <MEMRANGE ADDRESSBLOCK=\"HP0_DDR_LOW\" BASENAME=\"C_BASEADDR\" "
                f"BASEVALUE=\"{lo:#010x}\" HIGHNAME=\"C_HIGHADDR\" HIGHVALUE=\"{hi:#010x}\" "
                f"INSTANCE=\"{ps}\" IS_DATA=\"TRUE\" IS_INSTRUCTION=\"TRUE\" "
                f"MASTERBUSINTERFACE=\"{inst_master}\" MEMTYPE=\"MEMORY\" "
                f"SLAVEBUSINTERFACE=\"{fam['hp']}\"/>\n")

    if rm["style"] == "dataflow":
        dma = rm["ips"]["dma"]
        bits = rm["dma"]["data_bits"]
        ranges.append(memrange(dma, "S_AXI_LITE"))
        dma_ifs = _busifs([("S_AXI_LITE", "SLAVE"), ("M_AXI_MM2S", "MASTER"),
                           ("M_AXI_S2MM", "MASTER")])
        p = {"C_INCLUDE_SG": 0, "C_SG_LENGTH_WIDTH": rm["dma"]["length_bits"],
             "C_INCLUDE_MM2S": 1, "C_INCLUDE_S2MM": 1, "C_INCLUDE_MM2S_DRE": 0,
             "C_INCLUDE_S2MM_DRE": 0, "C_M_AXI_MM2S_DATA_WIDTH": bits,
             "C_M_AXI_S2MM_DATA_WIDTH": bits, "C_M_AXIS_MM2S_TDATA_WIDTH": bits,
             "C_S_AXIS_S2MM_TDATA_WIDTH": bits, "C_MM2S_BURST_SIZE": 16,
             "C_S2MM_BURST_SIZE": 16, "C_MICRO_DMA": 0, "C_ADDR_WIDTH": 64 if
             rm["family"] == "zynquplus" else 32}
        p.update({k.lower(): v for k, v in list(p.items())})
        modules.append(
            f"    <MODULE FULLNAME=\"/{dma['name']}\" HWVERSION=\"7.1\" INSTANCE=\"{dma['name']}\" "
            f"IPTYPE=\"PERIPHERAL\" IS_ENABLE=\"1\" MODCLASS=\"PERIPHERAL\" MODTYPE=\"axi_dma\" "
            f"VLNV=\"{dma['vlnv']}\">\n"
            f"      <PARAMETERS>\n{_params(p)}      </PARAMETERS>\n"
            f"      <ADDRESSBLOCKS>\n"
            f"        <ADDRESSBLOCK ACCESS=\"read-write\" INTERFACE=\"S_AXI_LITE\" NAME=\"Reg\" "
            f"RANGE=\"{dma['range']}\" USAGE=\"register\">\n          <REGISTERS>\n"
            f"{_dma_register_xml()}          </REGISTERS>\n        </ADDRESSBLOCK>\n"
            f"      </ADDRESSBLOCKS>\n"
            f"{dma_ifs}"
            f"      <MEMORYMAP>\n{ddr_range('M_AXI_MM2S')}{ddr_range('M_AXI_S2MM')}"
            f"      </MEMORYMAP>\n    </MODULE>\n")
        if accel.get("control") == "ap_ctrl_hs":
            # the RTL IP: its AXI4-Lite control block is a peripheral of the PS as well
            iface = accel.get("interface", "s_axi_control")
            ranges.append(memrange(accel, iface))
            modules.append(_accel_module(
                accel, _accel_register_block(accel, iface, rm["accel"]["registers"])
                + _busifs([(iface, "SLAVE")])))
        else:
            modules.append(_accel_module(accel, ""))
    else:
        iface = accel.get("interface", "s_axi_control")
        ranges.append(memrange(accel, iface))
        masters = "".join(ddr_range(f"m_axi_{b}") for b in overlay_bundles(rm))
        acc_ifs = _busifs([(iface, "SLAVE")]
                          + [(f"m_axi_{b}", "MASTER") for b in overlay_bundles(rm)])
        modules.append(_accel_module(
            accel, _accel_register_block(accel, iface, rm["accel"]["registers"]) + acc_ifs
            + f"      <MEMORYMAP>\n{masters}      </MEMORYMAP>\n"))
    if rm["family"] == "zynquplus":
        div0 = max(1, round(1500.0 / clock_mhz))
        ps_params = {"PSU__FPGA_PL0_ENABLE": 1, "PSU__CRL_APB__PL0_REF_CTRL__SRCSEL": "IOPLL",
                     "PSU__CRL_APB__PL0_REF_CTRL__FREQMHZ": clock_mhz,
                     "PSU__CRL_APB__PL0_REF_CTRL__ACT_FREQMHZ": round(1500.0 / div0, 6),
                     "PSU__CRL_APB__PL0_REF_CTRL__DIVISOR0": div0,
                     "PSU__CRL_APB__PL0_REF_CTRL__DIVISOR1": 1}
        for i in (1, 2, 3):
            ps_params.update({f"PSU__FPGA_PL{i}_ENABLE": 0,
                              f"PSU__CRL_APB__PL{i}_REF_CTRL__SRCSEL": "IOPLL",
                              f"PSU__CRL_APB__PL{i}_REF_CTRL__DIVISOR0": 1,
                              f"PSU__CRL_APB__PL{i}_REF_CTRL__DIVISOR1": 1})
    else:
        div0 = max(1, round(1000.0 / clock_mhz))
        ps_params = {"PCW_FPGA_FCLK0_ENABLE": 1, "PCW_FCLK0_PERIPHERAL_CLKSRC": "IO PLL",
                     "PCW_FPGA0_PERIPHERAL_FREQMHZ": clock_mhz,
                     "PCW_FCLK0_PERIPHERAL_DIVISOR0": div0, "PCW_FCLK0_PERIPHERAL_DIVISOR1": 1}
        for i in (1, 2, 3):
            ps_params.update({f"PCW_FPGA_FCLK{i}_ENABLE": 0,
                              f"PCW_FCLK{i}_PERIPHERAL_CLKSRC": "IO PLL",
                              f"PCW_FCLK{i}_PERIPHERAL_DIVISOR0": 1,
                              f"PCW_FCLK{i}_PERIPHERAL_DIVISOR1": 1})
    periph = "".join(f"        <PERIPHERAL INSTANCE=\"{ip['name']}\"/>\n"
                     for ip in rm["ips"].values() if ip.get("base") is not None)
    modules.append(
        f"    <MODULE FULLNAME=\"/{ps}\" HWVERSION=\"1.0\" INSTANCE=\"{ps}\" IPTYPE=\"PERIPHERAL\" "
        f"IS_ENABLE=\"1\" IS_PL=\"FALSE\" MODTYPE=\"{fam['ps']}\" VLNV=\"{fam['ps_vlnv']}\">\n"
        f"      <PARAMETERS>\n{_params(ps_params)}      </PARAMETERS>\n"
        f"{_busifs([(fam['master'], 'MASTER'), (fam['hp'], 'SLAVE')])}"
        f"      <MEMORYMAP>\n{''.join(ranges)}      </MEMORYMAP>\n"
        f"      <PERIPHERALS>\n{periph}      </PERIPHERALS>\n    </MODULE>\n")
    dev = part.split("-")[0]
    return ("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\" ?>\n"
            "<EDKSYSTEM EDWVERSION=\"1.2\" TIMESTAMP=\"edgepool\" VIVADOVERSION=\"2023.2\">\n"
            f"  <SYSTEMINFO ARCH=\"{fam['arch']}\" DEVICE={quoteattr(dev)} "
            f"NAME={quoteattr(design)} PACKAGE=\"\" SPEEDGRADE=\"\"/>\n"
            "  <EXTERNALPORTS/>\n  <EXTERNALINTERFACES/>\n  <MODULES>\n"
            + "".join(modules) + "  </MODULES>\n</EDKSYSTEM>\n")
