# SPDX-License-Identifier: Apache-2.0
"""A simulated PYNQ device: the accelerator of a build, behind pynq's own classes, off-board.

:class:`SimDevice` subclasses ``pynq.pl_server.device.Device`` (the class every PYNQ device
derives from, registered through pynq's ``DeviceMeta``), so the unmodified ``pynq.Overlay``,
``pynq.allocate``, ``pynq.MMIO``, ``pynq.lib.dma.DMA`` and ``pynq.ps.Clocks`` run against it:

* ``get_bitfile_metadata`` parses the bitstream's ``.hwh`` with pynq's own metadata parser
  (``pynqmetadata`` ``RuntimeMetadataParser``, the one ``EmbeddedDevice`` uses on the board),
  so base addresses, register maps and IP parameters come from the hardware handoff;
* ``download`` "configures" the PL (records the bitstream, ``post_download``);
* registers are reached through pynq's ``REGISTER_RW`` capability (``read_registers`` /
  ``write_registers``), which is how a write to ``S2MM_LENGTH`` can start a transfer (the
  board's ``MEMORY_MAPPED`` path hands out raw ``/dev/mem`` views with no write hook);
* ``default_memory.allocate`` returns real ``pynq.buffer.PynqBuffer`` objects with physical
  addresses in the PS DDR range. Non-coherent buffers have a separate device-side copy: the PL
  sees host writes only after ``flush()`` and the host sees PL writes only after
  ``invalidate()``, so a driver that forgets a cache operation fails here as on the board;
* the AXI DMA (simple mode) and the HLS ``ap_ctrl_hs`` control block are modelled register by
  register; the PS clock registers (CRL/CRF, SLCR) are plain memory with PLL reset values, so
  ``Clocks.set_pl_clk`` programs the PL clock divisors the ``.hwh`` asks for.

The computation is a pluggable accelerator model of the same build: ``reference`` (the golden
program, :class:`~edgepool.runtime.executors.ReferenceExecutor`), ``csim`` (``CsimExecutor``,
the generated HLS C++) or ``rtlsim`` (``RtlExecutor``), chosen by the ``model`` argument or the
``EDGEPOOL_PYNQ_SIM`` environment variable; these compute whole frames as soon as the DMA has
delivered them.

For overlay builds ``rtl`` is the RTL overlay IP (:class:`RtlOverlayModel`: the C++ Verilator
harness of ``sim/rtl/ep_ovl_*.sv``, the driver's buffers as its DDR). For dataflow builds
``rtl`` is the accelerator IP itself (dataflow builds whose register map has the RTL IP's
``ap_ctrl_hs`` block): :class:`~edgepool.runtime.rtlsim.AxiRtlSession` runs the generated
``ep_accel`` in Verilator, every register access of the accelerator's window is an AXI4-Lite
transaction and every DMA transfer an AXI4-Stream frame through its ports; an S2MM status
poll lets the simulation run (``AxiRtlSession.POLL_CYCLES``) until a frame leaves the IP.
"""

from __future__ import annotations

import bisect
import importlib
import os
import weakref
from pathlib import Path
from typing import Any

import numpy as np
from pynq.buffer import PynqBuffer
from pynq.pl_server.device import Device

from ..accel import axis
from ..accel import regmap as R
from ..accel.descriptor import DESC_MAGIC, DESC_WORDS, plan_program, unpack_descriptor
from ..accel.engine import OverlayParams
from ..accel.manifest import Manifest, load_program
from ..errors import ManifestError, ToolchainError
from .pynq_driver import read_accelerator_manifest

SIM_ENV = "EDGEPOOL_PYNQ_SIM"
SIM_BUILD_ENV = "EDGEPOOL_PYNQ_SIM_BUILD"
SIM_BOARD_ENV = "EDGEPOOL_PYNQ_SIM_BOARD"
MODELS: dict[str, str] = {
    "reference": "edgepool.runtime.executors:ReferenceExecutor",
    "csim": "edgepool.codegen.hls.csim:CsimExecutor",
    "rtlsim": "edgepool.runtime.rtlsim:RtlExecutor",
    "rtl": "edgepool.runtime.rtlsim:AxiRtlSession",      # the IP through its AXI ports
}
SIM_BITSTREAM_MAGIC = b"EDGEPOOL-SIM-BITSTREAM\n"
DDR_BUFFER_BASE = 0x1000_0000     # where simulated pynq.allocate starts handing out memory


# ----------------------------------------------------------------------------- models
class RtlIpModel:
    """The ``rtl`` model: no executor; the IP's simulation starts when the overlay is loaded
    (:meth:`SimDevice.download`), because it needs the register map of the block design."""

    kind = "rtl"

    def __init__(self) -> None:
        self.session = None

    @property
    def frames(self) -> int:
        return self.session.frames_out if self.session is not None else 0


class RtlOverlayModel:
    """The ``rtl`` model of an overlay build: the RTL overlay IP (``sim/rtl/ep_ovl_*.sv`` with
    the build's capacities) in the C++ Verilator harness. At ap_start the register words the
    driver wrote are replayed as AXI4-Lite writes into the IP, the DDR buffers become the
    harness' DDR model behind ``m_axi_gmem``, the IP runs until its interrupt, and everything
    it wrote is copied back into the buffers' device-side memory; ``ap_return`` and the
    cycles of the run come from the IP."""

    kind = "rtl"

    def __init__(self, params: OverlayParams) -> None:
        self.params = params
        self.frames = 0
        self.last_cycles = 0
        self.last_layers: list[int] = []

    def run(self, memory: SimMemory, words: dict[int, int], regs: dict[str, Any]) -> int:
        from .rtl_overlay_sim import run_harness_raw

        lo, hi = memory.span()
        image = memory.read_span(lo, hi)
        args: dict[str, int] = {}
        for name in ("desc", "n_layers", "wmem", "bmem", "act_in", "act_out"):
            r = regs[name]
            v = words.get(r["offset"], 0)
            if r["bits"] == 64:
                v |= words.get(r["offset"] + 4, 0) << 32
            args[name] = v
        ((out, rec),) = run_harness_raw(self.params, regions=[(lo, image)], args=args,
                                        frames=[(lo, b"", lo, hi - lo)], base=lo,
                                        size=hi - lo, desc_base=args["desc"],
                                        n_layers=args["n_layers"])
        memory.write_span(lo, out)
        self.frames += 1
        self.last_cycles = int(rec["cycles"])
        self.last_layers = [int(c) for c in rec["layers"]]
        return int(rec["ret"])


class ExecutorModel:
    """An accelerator model from an executor of the build (``run_codes`` on NCHW codes):
    converts stream-order (H, W, C) frames to the executor's layout and back."""

    def __init__(self, kind: str, build_dir: Path, manifest: Manifest,
                 io: dict[str, Any]) -> None:
        if kind not in MODELS:
            raise ManifestError(f"unknown accelerator model {kind!r}",
                                f"{SIM_ENV} must be one of {', '.join(MODELS)}")
        mod, cls = MODELS[kind].split(":")
        try:
            executor_cls = getattr(importlib.import_module(mod), cls)
        except (ImportError, AttributeError) as e:
            raise ToolchainError(f"accelerator model {kind!r} ({MODELS[kind]}) is not available: "
                                 f"{e}", f"use {SIM_ENV}=reference, or install/build the "
                                 f"{kind} backend") from None
        self.kind = kind
        self.executor = executor_cls(Path(build_dir), manifest)
        self.io = io
        self.frames = 0

    def run_frames(self, frames: list[np.ndarray]) -> list[np.ndarray]:
        """Stream-order input frames (flat, H*W*C) → stream-order output frames (flat)."""
        h, w, c = self.io["in_hwc"]
        codes = np.stack([np.moveaxis(f.reshape(h, w, c), -1, 0) for f in frames])
        out = np.asarray(self.executor.run_codes(codes))
        self.frames += len(frames)
        res = []
        for y in out:
            if y.ndim == 3:                     # (C, H, W) → stream order
                y = np.moveaxis(y, 0, -1)
            res.append(np.asarray(y, dtype=np.int64).ravel())
        return res


# ----------------------------------------------------------------------------- memory
class _Region:
    __slots__ = ("base", "size", "host", "ddr", "coherent")

    def __init__(self, base: int, size: int, host: np.ndarray, coherent: bool) -> None:
        self.base, self.size, self.host, self.coherent = base, size, host, coherent
        self.ddr = host if coherent else np.zeros(size, np.uint8)


class SimMemory:
    """PS DDR as seen by the simulated PL: the buffers ``pynq.allocate`` handed out."""

    def __init__(self, device: SimDevice, base: int = DDR_BUFFER_BASE) -> None:
        self._device = weakref.ref(device)
        self._next = base
        self._bases: list[int] = []
        self._regions: dict[int, _Region] = {}

    def allocate(self, shape, dtype, cacheable: bool = True, **kwargs) -> PynqBuffer:
        """A ``PynqBuffer`` at a fresh physical address (4 KiB aligned)."""
        dt = np.dtype(dtype)
        nbytes = max(1, int(np.prod(shape, dtype=np.int64)) * dt.itemsize)
        size = (nbytes + 4095) // 4096 * 4096
        base = self._next
        self._next += size
        host = np.zeros(size, np.uint8)
        region = _Region(base, size, host, coherent=not cacheable)
        buf = PynqBuffer(shape, dt, buffer=host, device=self._device(), device_address=base,
                         bo=base, coherent=not cacheable)
        bisect.insort(self._bases, base)
        self._regions[base] = region
        weakref.finalize(buf, self._free, base)
        return buf

    def _free(self, base: int) -> None:
        self._regions.pop(base, None)
        i = bisect.bisect_left(self._bases, base)
        if i < len(self._bases) and self._bases[i] == base:
            self._bases.pop(i)

    def region(self, addr: int, nbytes: int) -> tuple[_Region, int] | None:
        """The region holding ``[addr, addr + nbytes)`` and the offset in it, or None."""
        i = bisect.bisect_right(self._bases, addr) - 1
        if i < 0:
            return None
        r = self._regions[self._bases[i]]
        off = addr - r.base
        return (r, off) if off + nbytes <= r.size else None

    def read(self, addr: int, nbytes: int) -> bytes | None:
        """What the PL reads at ``addr`` (device view), or None for a decode error."""
        hit = self.region(addr, nbytes)
        if hit is None:
            return None
        r, off = hit
        return r.ddr[off:off + nbytes].tobytes()

    def write(self, addr: int, data: bytes) -> bool:
        hit = self.region(addr, len(data))
        if hit is None:
            return False
        r, off = hit
        r.ddr[off:off + len(data)] = np.frombuffer(data, np.uint8)
        return True

    def span(self) -> tuple[int, int]:
        """[lowest, highest) physical address of the live buffers."""
        if not self._bases:
            return DDR_BUFFER_BASE, DDR_BUFFER_BASE + 4096
        last = self._regions[self._bases[-1]]
        return self._bases[0], last.base + last.size

    def read_span(self, lo: int, hi: int) -> bytes:
        """Device view of ``[lo, hi)`` (gaps between buffers read as 0)."""
        out = np.zeros(hi - lo, np.uint8)
        for b in self._bases:
            r = self._regions[b]
            if r.base >= lo and r.base + r.size <= hi:
                out[r.base - lo:r.base - lo + r.size] = r.ddr
        return out.tobytes()

    def write_span(self, lo: int, data: bytes) -> None:
        """Write ``data`` at ``lo`` into every buffer it covers (device view)."""
        d = np.frombuffer(data, np.uint8)
        for b in self._bases:
            r = self._regions[b]
            if r.base >= lo and r.base + r.size <= lo + len(d):
                r.ddr[:] = d[r.base - lo:r.base - lo + r.size]

    def sync(self, bo: int, offset: int, nbytes: int, to_device: bool) -> None:
        r = self._regions.get(bo)
        if r is None or r.coherent:
            return
        sl = slice(offset, offset + nbytes)
        if to_device:
            r.ddr[sl] = r.host[sl]
        else:
            r.host[sl] = r.ddr[sl]


# ----------------------------------------------------------------------------- streams
class ExecutorStream:
    """The accelerator's streams over an executor model: complete input frames are computed as
    soon as the control block (if the design has one) has granted them, all granted frames of a
    transfer in one batch (one simulation for the ``rtlsim`` executor)."""

    def __init__(self, dev: SimDevice, frame_in: int) -> None:
        self.dev, self.frame_in = dev, frame_in
        self.buf = bytearray()
        self.out: list[bytes] = []

    def reset(self) -> None:
        self.buf.clear()
        self.out.clear()

    def push(self, data: bytes) -> None:
        self.buf += data
        self.progress()

    def progress(self) -> None:
        n = len(self.buf) // self.frame_in
        ctl = self.dev.stream_control
        if ctl is not None:
            n = ctl.grant(n)
        if n:
            raw = bytes(self.buf[:n * self.frame_in])
            del self.buf[:n * self.frame_in]
            self.out += self.dev.accelerator_frames(
                [raw[i * self.frame_in:(i + 1) * self.frame_in] for i in range(n)])
            if ctl is not None:
                ctl.finished(n)

    def input_drained(self) -> bool:
        return True

    def pull(self) -> bytes | None:
        return self.out.pop(0) if self.out else None


class RtlStream:
    """The streams of the simulated IP (:class:`~edgepool.runtime.rtlsim.AxiRtlSession`)."""

    def __init__(self, session) -> None:
        self.session = session

    def reset(self) -> None:
        """The AXI DMA's soft reset does not reset the IP behind it."""

    def push(self, data: bytes) -> None:
        self.session.push(data)

    def progress(self) -> None:
        """Nothing: the IP runs in simulated time."""

    def input_drained(self) -> bool:
        return self.session.input_drained()

    def pull(self) -> bytes | None:
        return self.session.pull()


class RtlControl:
    """The IP's AXI4-Lite window: every access is a transaction in the simulation."""

    def __init__(self, session) -> None:
        self.session = session

    def read(self, off: int) -> int:
        return self.session.read(off)

    def write(self, off: int, v: int) -> None:
        self.session.write(off, v)


class SimStreamControl:
    """The ap_ctrl_hs block of the RTL dataflow IP, for the executor models: a frame is
    computed only when granted by ap_start (auto_restart: every frame), ap_done / ap_ready,
    clear-on-read, IER / ISR (toggle on write) / GIE as in ``sim/rtl/ep_axil_ctrl.sv``."""

    def __init__(self, dev: SimDevice, regs: dict[str, dict[str, Any]]) -> None:
        self.dev = dev
        self.off = {k: r["offset"] for k, r in regs.items()}
        self.start = self.auto = self.done = self.ready = False
        self.gie = self.ier = self.isr = 0
        self.runs = 0

    def grant(self, n: int) -> int:
        """How many of ``n`` complete input frames may run now."""
        if not self.start or n == 0:
            return 0
        if not self.auto:
            self.start = False
            n = 1
        self.ready = True
        self.isr |= self.ier & R.IRQ_AP_READY
        return n

    def finished(self, n: int) -> None:
        self.runs += n
        self.done = True
        self.isr |= self.ier & R.IRQ_AP_DONE

    def read(self, off: int) -> int:
        if off == self.off["CTRL"]:
            v = ((R.AP_START if self.start else 0) | (R.AP_DONE if self.done else 0)
                 | (R.AP_IDLE if not self.start else 0) | (R.AP_READY if self.ready else 0)
                 | (R.AP_AUTO_RESTART if self.auto else 0))
            self.done = self.ready = False
            return v
        return {self.off["GIER"]: self.gie, self.off["IP_IER"]: self.ier,
                self.off["IP_ISR"]: self.isr}.get(off, 0)

    def write(self, off: int, v: int) -> None:
        if off == self.off["CTRL"]:
            self.auto = bool(v & R.AP_AUTO_RESTART)
            if v & R.AP_START:
                self.start = True
                if self.dev.dma is not None:
                    self.dev.dma.stream.progress()
                    self.dev.dma._progress()
        elif off == self.off["GIER"]:
            self.gie = v & R.GIE
        elif off == self.off["IP_IER"]:
            self.ier = v & (R.IRQ_AP_DONE | R.IRQ_AP_READY)
        elif off == self.off["IP_ISR"]:
            self.isr ^= v & (R.IRQ_AP_DONE | R.IRQ_AP_READY)


# ----------------------------------------------------------------------------- DMA model
class _Channel:
    def __init__(self) -> None:
        self.cr = 0
        self.sr = R.DMASR_HALTED
        self.addr = 0
        self.length = 0
        self.armed = False

    @property
    def running(self) -> bool:
        return bool(self.cr & R.DMACR_RS) and not self.sr & R.DMASR_HALTED

    def complete(self, nbytes: int) -> None:
        self.length = nbytes
        self.armed = False
        self.sr |= R.DMASR_IDLE | R.DMASR_IOC_IRQ

    def fail(self, bit: int) -> None:
        self.armed = False
        self.sr |= bit | R.DMASR_HALTED | R.DMASR_ERR_IRQ
        self.sr &= ~R.DMASR_IDLE


class SimDMA:
    """Xilinx AXI DMA in simple mode (PG021) between PS DDR and the accelerator's streams."""

    def __init__(self, dev: SimDevice, frame_in: int, frame_out: int, stream) -> None:
        self.dev = dev
        self.mm2s, self.s2mm = _Channel(), _Channel()
        self.frame_in, self.frame_out = frame_in, frame_out
        self.stream = stream            # ExecutorStream or RtlStream
        self.transfers = 0

    def _chan(self, off: int) -> tuple[_Channel, int]:
        return (self.s2mm, off - 0x30) if off >= 0x30 else (self.mm2s, off)

    def read(self, off: int) -> int:
        ch, o = self._chan(off)
        if o == 0x04 and ch.armed:      # a status poll: the stream side makes progress
            if ch is self.mm2s and self.stream.input_drained():
                ch.complete(ch.length)
                self.transfers += 1
            elif ch is self.s2mm:
                self._progress()
        return {0x00: ch.cr, 0x04: ch.sr, 0x18: ch.addr & 0xFFFFFFFF, 0x1C: ch.addr >> 32,
                0x28: ch.length}.get(o, 0)

    def write(self, off: int, v: int) -> None:
        ch, o = self._chan(off)
        if o == 0x00:
            if v & R.DMACR_RESET:           # soft reset resets both channels
                self.mm2s, self.s2mm = _Channel(), _Channel()
                self.stream.reset()
                return
            ch.cr = v
            if v & R.DMACR_RS:
                ch.sr &= ~R.DMASR_HALTED
            else:
                ch.sr |= R.DMASR_HALTED
                ch.armed = False
        elif o == 0x04:
            ch.sr &= ~(v & (R.DMASR_IOC_IRQ | R.DMASR_ERR_IRQ))
        elif o == 0x18:
            ch.addr = (ch.addr & ~0xFFFFFFFF) | v
        elif o == 0x1C:
            ch.addr = (ch.addr & 0xFFFFFFFF) | (v << 32)
        elif o == 0x28:
            if not ch.running:
                return                      # ignored while halted, as the IP does
            ch.length = v
            ch.sr &= ~R.DMASR_IDLE
            if v == 0:
                ch.fail(R.DMASR_INTERR)
                return
            ch.armed = True
            if ch is self.mm2s:
                data = self.dev.memory.read(ch.addr, v)
                if data is None:
                    ch.fail(R.DMASR_DECERR)
                    return
                self.stream.push(data)
                if self.stream.input_drained():
                    ch.complete(v)
                    self.transfers += 1
            self._progress()

    def _progress(self) -> None:
        ch = self.s2mm
        frame = self.stream.pull() if ch.armed else None
        if frame is not None:
            if len(frame) > ch.length:      # TLAST after the buffer is full
                ch.fail(R.DMASR_INTERR)
                return
            if not self.dev.memory.write(ch.addr, frame):
                ch.fail(R.DMASR_DECERR)
                return
            ch.complete(len(frame))
            self.transfers += 1


# ----------------------------------------------------------------------------- HLS control
class SimControl:
    """Vitis HLS ``ap_ctrl_hs`` s_axilite block of the layer-by-layer overlay."""

    def __init__(self, dev: SimDevice, regs: dict[str, dict[str, Any]]) -> None:
        self.dev = dev
        self.regs = regs
        self.words: dict[int, int] = {}
        self.ctrl = R.AP_IDLE
        self.runs = 0

    def arg(self, name: str) -> int:
        r = self.regs[name]
        lo = self.words.get(r["offset"], 0)
        return lo | (self.words.get(r["offset"] + 4, 0) << 32) if r["bits"] == 64 else lo

    def read(self, off: int) -> int:
        if off == 0:
            v = self.ctrl
            self.ctrl &= ~R.AP_DONE         # ap_done is clear-on-read
            return v
        return self.words.get(off, 0)

    def write(self, off: int, v: int) -> None:
        if off == 0:
            self.ctrl = (self.ctrl & ~R.AP_AUTO_RESTART) | (v & R.AP_AUTO_RESTART)
            if v & R.AP_START:
                self.ctrl &= ~R.AP_IDLE
                model = self.dev.model
                ret = (model.run(self.dev.memory, self.words, self.regs)
                       if isinstance(model, RtlOverlayModel) else self.dev.run_overlay(self))
                self.words[self.regs["ap_return"]["offset"]] = ret & 0xFFFFFFFF
                self.ctrl |= R.AP_DONE | R.AP_IDLE | R.AP_READY
                self.runs += 1
            return
        self.words[off] = v


# ----------------------------------------------------------------------------- the device
def _io_spec(build_dir: Path, manifest: Manifest) -> dict[str, Any]:
    import json

    desc = json.loads((Path(build_dir) / manifest.section("program").file).read_text())
    first, last = desc["layers"][0], desc["layers"][-1]
    host = manifest.section("host")
    return {"in_hwc": tuple(first["in_shape"]), "out_hwc": tuple(last["out_shape"]),
            "in_bits": host.input_type.bits, "in_signed": host.input_type.signed,
            "out_bits": host.output_type.bits, "out_signed": host.output_type.signed}


def _field_value(regdefs: dict, reg: str, fields: dict[str, int]) -> tuple[int, int]:
    d = regdefs[reg]
    v = 0
    for name, val in fields.items():
        f = d["fields"][name]
        v |= (val & ((1 << f["bit_width"]) - 1)) << f["bit_offset"]
    return d["address_offset"], v


class SimDevice(Device):
    """A PYNQ device simulating the board a build targets, running its accelerator model."""

    _probe_priority_ = 1000

    @classmethod
    def _probe_(cls) -> list[SimDevice]:
        """Listed in ``pynq.Device.devices`` when ``EDGEPOOL_PYNQ_SIM`` and
        ``EDGEPOOL_PYNQ_SIM_BUILD`` (a build or bundle directory) are set."""
        if os.environ.get(SIM_ENV) and os.environ.get(SIM_BUILD_ENV):

            path = Path(os.environ[SIM_BUILD_ENV])
            return [cls(path, read_accelerator_manifest(path), model=os.environ[SIM_ENV])]
        return []

    def __init__(self, build_dir: Path | str, manifest: Manifest | dict[str, Any], *,
                 model: str = "reference", board: str | None = None,
                 regmap: dict[str, Any] | None = None) -> None:
        manifest = Manifest.coerce(manifest)
        target = manifest.section("target")
        super().__init__(f"edgepool_sim:{target.name}")
        self.build_dir = Path(build_dir)
        self.manifest = manifest
        #: the board this simulated device pretends to be (``pynq_board`` of hw/boards/*.toml)
        self.name = board or os.environ.get(SIM_BOARD_ENV) or target.pynq_board or "sim"
        self.board_name = self.name

        self.regmap = R.validate_regmap(regmap) if regmap else manifest.regmap_of()
        self.arch = R.FAMILY_MAP[self.regmap["family"]]["arm"]
        self.capabilities = {"REGISTER_RW": True, "MEMORY_MAPPED": False, "CALLABLE": False}
        self.memory = SimMemory(self)
        self.io = _io_spec(self.build_dir, manifest)
        if model == "rtl" and self.regmap["style"] == "overlay":
            vlnv = str(self.regmap["ips"]["accel"].get("vlnv", ""))
            if vlnv.split(":")[:2] != [R.RTL_IP_VENDOR, R.RTL_IP_LIBRARY]:
                # same registers as the HLS overlay: simulating the RTL behind them would
                # prove an accelerator the bitstream does not hold
                raise ManifestError(
                    f"the rtl model simulates the RTL overlay IP, but this build's block "
                    f"design instantiates {vlnv} (engine "
                    f"{self.regmap['ips']['accel'].get('engine', 'hls')})",
                    "rebuild with --engine rtl, or use the csim model for the HLS IP")
            self.model = RtlOverlayModel(manifest.overlay_params())
        elif model == "rtl":
            if self.regmap["style"] != "dataflow" or \
                    self.regmap["ips"]["accel"].get("control") != "ap_ctrl_hs":
                raise ManifestError(
                    "the rtl model simulates the RTL dataflow IP, whose register map has an "
                    "ap_ctrl_hs block; this build's map is "
                    f"{self.regmap['style']} / {self.regmap['ips']['accel'].get('control')}",
                    "use a register map from regmap.default_regmap('dataflow', "
                    "control='ap_ctrl_hs'), or the reference / csim / rtlsim models")
            vlnv = str(self.regmap["ips"]["accel"].get("vlnv", ""))
            if vlnv.split(":")[:2] != [R.RTL_IP_VENDOR, R.RTL_IP_LIBRARY]:
                # the HLS dataflow IP has the same ap_ctrl_hs block: simulating the RTL behind
                # it would prove an accelerator the bitstream does not hold
                raise ManifestError(
                    f"the rtl model simulates the RTL engine's IP, but this build's block "
                    f"design instantiates {vlnv} (engine "
                    f"{self.regmap['ips']['accel'].get('engine', 'hls')})",
                    "rebuild with --engine rtl, or use the csim model for the HLS IP")
            self.model = RtlIpModel()
        else:
            self.model = ExecutorModel(model, self.build_dir, manifest, self.io)
        self.bitfile_name = ""
        self.timestamp = ""
        self._windows: list[tuple[int, int, Any]] = []     # (base, end, handler)
        self._ps_regs: dict[int, int] = {}
        self._init_ps_clocks()
        self.dma: SimDMA | None = None
        self.control: SimControl | None = None
        self.stream_control: SimStreamControl | None = None

    # -------------------------------------------------------------- pynq Device interface
    @property
    def default_memory(self) -> SimMemory:
        return self.memory

    def get_bitfile_metadata(self, bitfile_name: str):
        """Parse the ``.hwh`` beside the bitstream with pynq's runtime metadata parser."""
        # pynq caches one Clocks implementation per process, bound to the first device that
        # used it; Overlay programs the PL clocks right after this call, so rebind it here
        from pynq.ps import Clocks
        from pynqmetadata.frontends import Metadata
        from pynqmetadata.views.runtime import RuntimeMetadataParser

        inst = Clocks.__dict__.get("_real_instance")
        mm = getattr(inst, "_crl_mmio", None) or getattr(inst, "_slcr_mmio", None)
        if inst is not None and getattr(mm, "device", None) is not self:
            del Clocks._real_instance
        hwh = Path(bitfile_name).with_suffix(".hwh")
        if not hwh.exists():
            raise RuntimeError("Unable to find metadata for bitstream")
        parser = RuntimeMetadataParser(Metadata(input=str(hwh)))
        parser.refresh_hierarchy_dict()
        return parser

    def download(self, bitstream, parser=None) -> None:
        """Configure the simulated PL: map the IPs of the hardware handoff."""
        self.bitfile_name = bitstream.bitfile_name
        ipd = parser.ip_dict if parser is not None else self.ip_dict
        self._map_ips(ipd)
        self.post_download(bitstream, parser, self.name)

    def flush(self, bo: int, offset: int, ptr: int, size: int) -> None:
        self.memory.sync(bo, offset, size, to_device=True)

    def invalidate(self, bo: int, offset: int, ptr: int, size: int) -> None:
        self.memory.sync(bo, offset, size, to_device=False)

    def read_registers(self, address: int, length: int) -> bytes:
        out = bytearray()
        for a in range(address, address + length, 4):
            out += self._reg_read(a).to_bytes(4, "little")
        return bytes(out[:length])

    def write_registers(self, address: int, data: bytes) -> None:
        data = bytes(data) + bytes(-len(data) % 4)
        for i in range(0, len(data), 4):
            self._reg_write(address + i, int.from_bytes(data[i:i + 4], "little"))

    # -------------------------------------------------------------- register space
    def _map_ips(self, ip_dict: dict[str, Any]) -> None:
        self._windows = []
        rm = self.regmap
        beat = rm.get("stream", {}).get("beat_bytes", 8)

        def window(role: str) -> tuple[int, int]:
            name = rm["ips"][role]["name"]
            if name not in ip_dict:
                raise ManifestError(f"the hardware handoff has no IP {name!r} (it has "
                                    f"{', '.join(sorted(ip_dict))})",
                                    "the .hwh and manifest['regmap'] disagree: rebuild")
            d = ip_dict[name]
            return d["phys_addr"], d["phys_addr"] + d["addr_range"]
        if rm["style"] == "dataflow":
            n_in = int(np.prod(self.io["in_hwc"]))
            n_out = int(np.prod(self.io["out_hwc"]))
            fin = len(axis.pack(np.zeros(n_in, np.int64), self.io["in_bits"],
                                self.io["in_signed"], beat))
            fout = len(axis.pack(np.zeros(n_out, np.int64), self.io["out_bits"],
                                 self.io["out_signed"], beat))
            hs = rm["ips"]["accel"].get("control") == "ap_ctrl_hs"
            if isinstance(self.model, RtlIpModel):
                if self.model.session is None:
                    from .rtlsim import AxiRtlSession

                    self.model.session = AxiRtlSession(self.build_dir, self.manifest, beat,
                                                       rm["accel"]["registers"])
                    weakref.finalize(self, self.model.session.close)
                stream = RtlStream(self.model.session)
                ctl = RtlControl(self.model.session)
            else:
                stream = ExecutorStream(self, fin)
                ctl = self.stream_control = (SimStreamControl(self, rm["accel"]["registers"])
                                             if hs else None)
            self.dma = SimDMA(self, fin, fout, stream)
            b, e = window("dma")
            self._windows.append((b, e, self.dma))
            if hs:
                b, e = window("accel")
                self._windows.append((b, e, ctl))
        else:
            self.control = SimControl(self, rm["accel"]["registers"])
            b, e = window("accel")
            self._windows.append((b, e, self.control))

    def _find(self, address: int):
        for b, e, h in self._windows:
            if b <= address < e:
                return h, address - b
        return None, address

    def _reg_read(self, address: int) -> int:
        h, off = self._find(address)
        if h is None:
            return self._ps_regs.get(address, 0)
        return h.read(off) & 0xFFFFFFFF

    def _reg_write(self, address: int, value: int) -> None:
        h, off = self._find(address)
        if h is None:
            self._ps_regs[address] = value & 0xFFFFFFFF
        else:
            h.write(off, value & 0xFFFFFFFF)

    def _init_ps_clocks(self) -> None:
        """PLL reset values of the PS clock controller, so pynq's Clocks can compute dividers:
        ZynqMP IOPLL = 33.333 MHz * 90 / 2 = 1500 MHz; Zynq-7000 IO PLL = 50 MHz * 20."""
        from pynq import ps

        if self.arch == "aarch64":
            off, v = _field_value(ps.ZU_CRL_REGISTERS, "IOPLL_CTRL", {"FBDIV": 90, "DIV2": 1})
            self._ps_regs[ps._ClocksUltrascale.CRL_APB_ADDRESS + off] = v
            for i in range(4):
                off, v = _field_value(ps.ZU_CRL_REGISTERS, f"PL{i}_REF_CTRL",
                                      {"DIVISOR0": 15, "DIVISOR1": 1})
                self._ps_regs[ps._ClocksUltrascale.CRL_APB_ADDRESS + off] = v
        else:
            off, v = _field_value(ps.ZYNQ_SLCR_REGISTERS, "IO_PLL_CTRL", {"PLL_FDIV": 20})
            self._ps_regs[ps._ClocksZynq.SLCR_BASE_ADDRESS + off] = v
            for i in range(4):
                off, v = _field_value(ps.ZYNQ_SLCR_REGISTERS, f"FPGA{i}_CLK_CTRL",
                                      {"DIVISOR0": 10, "DIVISOR1": 1})
                self._ps_regs[ps._ClocksZynq.SLCR_BASE_ADDRESS + off] = v

    def pl_clock_mhz(self, idx: int = 0) -> float:
        """The PL clock ``idx`` as programmed into the simulated clock controller."""
        from pynq import ps

        if self.arch == "aarch64":
            base = ps._ClocksUltrascale.CRL_APB_ADDRESS
            pll = self._ps_regs.get(base + ps.ZU_CRL_REGISTERS["IOPLL_CTRL"]["address_offset"], 0)
            src = 33.333 * ((pll >> 8) & 0x7F) / (2 if pll >> 16 & 1 else 1)
            reg = self._ps_regs.get(
                base + ps.ZU_CRL_REGISTERS[f"PL{idx}_REF_CTRL"]["address_offset"], 0)
        else:
            base = ps._ClocksZynq.SLCR_BASE_ADDRESS
            pll = self._ps_regs.get(
                base + ps.ZYNQ_SLCR_REGISTERS["IO_PLL_CTRL"]["address_offset"], 0)
            f = ps.ZYNQ_SLCR_REGISTERS["IO_PLL_CTRL"]["fields"]["PLL_FDIV"]
            src = 50.0 * ((pll >> f["bit_offset"]) & ((1 << f["bit_width"]) - 1))
            reg = self._ps_regs.get(
                base + ps.ZYNQ_SLCR_REGISTERS[f"FPGA{idx}_CLK_CTRL"]["address_offset"], 0)
        d0, d1 = (reg >> 8) & 0x3F, (reg >> 16) & 0x3F
        return round(src / (d0 * d1), 6) if d0 and d1 else 0.0

    # -------------------------------------------------------------- the accelerator
    def accelerator_frames(self, frames: list[bytes]) -> list[bytes]:
        """Dataflow top: input stream frames → output stream frames (axis format)."""
        io = self.io
        beat = self.regmap["stream"]["beat_bytes"]
        n_in = int(np.prod(io["in_hwc"]))
        xs = [axis.unpack(f, n_in, io["in_bits"], io["in_signed"]) for f in frames]
        ys = self.model.run_frames(xs)
        return [axis.pack(y, io["out_bits"], io["out_signed"], beat) for y in ys]

    def run_overlay(self, ctl: SimControl) -> int:
        """Overlay top: read descriptors and the input map from DDR, run the model, write the
        output map. Returns ``ap_return`` (0, or 1 + index of the first bad descriptor, as
        ``overlay_run``); descriptors that differ from the build's plan count as bad."""

        n = ctl.arg("n_layers")
        raw = self.memory.read(ctl.arg("desc"), 4 * DESC_WORDS * max(n, 1))
        if raw is None or n == 0:
            return 1
        words = np.frombuffer(raw, "<u4").reshape(-1, DESC_WORDS)
        descs = [unpack_descriptor(w) for w in words[:n]]
        expect = self.expected_overlay_image()
        for i, d in enumerate(descs):
            if d["magic"] != DESC_MAGIC or (i < len(expect.desc) // DESC_WORDS and not
                                            np.array_equal(words[i], expect.desc[
                                                i * DESC_WORDS:(i + 1) * DESC_WORDS])):
                return 1 + i
        if n != expect.n_layers:
            return 1 + min(n, expect.n_layers)
        wb = self.memory.read(ctl.arg("wmem"), len(expect.weights))
        bb = self.memory.read(ctl.arg("bmem"), expect.bias.nbytes)
        if wb != expect.weights or bb != expect.bias.astype("<i8").tobytes():
            return 1           # weights/biases not in DDR as planned (missing flush?)
        p = self.overlay_params()
        esz = axis.container_bits(p.act_bits) // 8 * p.simd
        io = self.io
        # the overlay's view: padded channels (plan_program), the output in its own container
        ish, osh = tuple(expect.in_shape), tuple(expect.out_shape)
        n_in = int(np.prod(ish))
        src = ctl.arg("act_in") + descs[0]["in_addr"] * esz
        data = self.memory.read(src, n_in * axis.container_bits(p.act_bits) // 8)
        if data is None:
            return 1
        x = axis.unpack(data, n_in, p.act_bits, io["in_signed"]).reshape(ish)
        (y,) = self.model.run_frames([x[..., :io["in_hwc"][2]].ravel()])
        if len(y) != int(np.prod(io["out_hwc"])):
            return n
        y = y.reshape(io["out_hwc"])
        y = np.pad(y, ((0, 0), (0, 0), (0, osh[2] - y.shape[2]))).ravel()
        out = axis.pack(y, expect.out_bits, io["out_signed"])
        dst = ctl.arg("act_out") + descs[-1]["out_addr"] * esz
        if not self.memory.write(dst, out):
            return n
        return 0

    def overlay_params(self) -> OverlayParams:
        """The overlay capacities of the build's configuration."""
        return self.manifest.overlay_params()

    def expected_overlay_image(self):
        """The build's overlay image (descriptors, weights, biases, padded shapes), planned by
        ``accel.descriptor.plan_program`` (the hls stage's planning function)."""
        if not hasattr(self, "_expected"):

            program, _ = load_program(self.build_dir)
            self._expected = plan_program(program, self.overlay_params()).image
        return self._expected

    def stats(self) -> dict[str, int]:
        """Frames the model ran, DMA transfers and overlay starts so far."""
        out = {"frames": self.model.frames,
               "dma_transfers": self.dma.transfers if self.dma else 0,
               "overlay_runs": self.control.runs if self.control else 0}
        if isinstance(self.model, RtlIpModel) and self.model.session is not None:
            out["rtl_cycles"] = self.model.session.cycles()
        if isinstance(self.model, RtlOverlayModel):
            out["rtl_cycles"] = self.model.last_cycles      # of the last overlay run
        return out

    def close(self) -> None:
        """End the IP's simulation (``rtl`` model); other models hold nothing."""
        if isinstance(self.model, RtlIpModel) and self.model.session is not None:
            self.model.session.close()


def write_sim_overlay(directory: Path, manifest: Manifest | dict[str, Any],
                      rm: dict[str, Any]) -> Path:
    """A stand-in bitstream (marked as simulation) and the ``.hwh`` of the build's block design
    in ``directory``; returns the ``.bit`` path for ``pynq.Overlay``."""
    m = Manifest.coerce(manifest)
    target = m.section("target")
    name = f"edgepool_{m.model.name if m.model is not None else 'model'}".replace("-", "_")
    directory.mkdir(parents=True, exist_ok=True)
    bit = directory / f"{name}.bit"
    bit.write_bytes(SIM_BITSTREAM_MAGIC + f"target={target.name}\n".encode())
    cfg = m.hls_config
    clock = float(cfg.clock_mhz or 200.0) if cfg is not None else 200.0
    bit.with_suffix(".hwh").write_text(R.block_design_hwh(
        rm, design=name, part=target.part or "xczu3eg-sbva484-1-e", clock_mhz=clock))
    return bit
