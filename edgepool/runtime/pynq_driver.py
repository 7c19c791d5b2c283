# SPDX-License-Identifier: Apache-2.0
"""PYNQ runtime of an edgepool accelerator: one generic driver for every build.

:class:`EdgepoolAccelerator` reads a build directory's (or an unzipped bundle's)
``manifest.json``, loads the overlay with ``pynq.Overlay``, allocates DMA buffers with
``pynq.allocate`` and streams images through the accelerator in the format of
:mod:`edgepool.accel.axis`:

* ``dataflow`` designs (AXI-Stream top + AXI DMA): one MM2S transfer per batch chunk, one S2MM
  transfer per output frame (the DMA ends an S2MM transfer at TLAST, one per frame). The DMA is
  driven by pynq's ``pynq.lib.dma.DMA`` when the overlay bound it (``dma="pynq"``), or by MMIO
  writes to the PG021 registers of :mod:`edgepool.accel.regmap` (``dma="mmio"``).
* ``overlay`` designs (layer-by-layer, ``ap_ctrl_hs``): descriptors, weights and biases are
  written once (from the bundle's ``overlay_image.npz``, or planned with
  ``edgepool.accel.descriptor.plan_program`` when edgepool is installed: the function the
  hls stage used, channel padding included); each image is zero-padded to the overlay's input
  channels and written to the activation buffer, the overlay started through its control
  registers and polled for ap_done, and the output read in its own container (a raw
  accumulator's 32/64 bits) with the padded channels dropped.

``predict(x)`` quantizes float images on the host, runs them and dequantizes the outputs exactly
as :func:`edgepool.runtime.executors.host_inputs` / ``host_outputs`` (tested bit-equal);
``throughput_test(n)`` measures images/s and per-image latency percentiles.

Supported: models whose whole graph after the input quantizer runs on the accelerator (what
``lower_hw`` accepts; the host only quantizes / dequantizes). Partitioned models with CPU layers
are rejected with a :class:`ManifestError` naming the NEON build (``edgepool build --target
cortex-a53``) to run them through instead.

Off-board, ``sim="reference" | "csim" | "rtlsim"`` (or ``EDGEPOOL_PYNQ_SIM``) runs the same code
against :class:`edgepool.runtime.simdevice.SimDevice`, a pynq ``Device`` subclass.

This module needs only numpy and pynq (and the sibling ``axis``/``regmap`` modules): it ships as
``edgepool_board`` in the deployment bundle.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..accel import axis
from ..accel import regmap as R
from ..accel.descriptor import plan_program
from ..accel.manifest import (
    Manifest,
    load_program,
    read_accelerator_manifest,
)
from ..errors import EdgepoolError, InputError, ManifestError, ToolchainError
from ..ir.kernels import dequantize, quantize
from ..ir.qtype import QType

SIM_ENV = "EDGEPOOL_PYNQ_SIM"
OVERLAY_IMAGE = "overlay_image.npz"
DEFAULT_TIMEOUT_S = 10.0


class AcceleratorError(ToolchainError):
    """The accelerator or its DMA reported an error, or did not finish in time."""


# ----------------------------------------------------------------------------- host side
@dataclass(frozen=True)
class IoSpec:
    """Shapes and fixed-point types at the accelerator's boundary."""

    in_shape: tuple[int, ...]        # NCHW of one image, batch axis included (1, C, H, W)
    in_hwc: tuple[int, int, int]
    in_type: QType
    out_hwc: tuple[int, int, int]
    out_type: QType
    out_shape: tuple[int, ...]       # graph output shape (batch axis included)
    dequantize: bool
    input_name: str
    output_name: str

    @staticmethod
    def from_build(path: Path, manifest: Manifest | dict[str, Any]) -> IoSpec:
        """The boundary of the build in ``path`` (its manifest and program.json)."""
        m = Manifest.coerce(manifest)
        file = m.section("program").file
        try:
            desc = json.loads((path / file).read_text())
            first, last = desc["layers"][0], desc["layers"][-1]
        except (OSError, json.JSONDecodeError, KeyError, IndexError, TypeError) as e:
            raise ManifestError(f"{path}: {file} missing or corrupt ({e})",
                                "rebuild, or re-copy the bundle") from None
        h = m.section("host")
        spec = m.section("model").inputs[0]
        in_shape = tuple(spec.shape)
        if h.input_name != spec.name:
            # a heterogeneous build: the fabric reads a boundary tensor of the graph (the
            # output of a CPU segment), shaped as the program's first layer reads it
            hh, w, c = first["in_shape"]
            in_shape = (1, c, hh, w)
        io = IoSpec(in_shape, tuple(first["in_shape"]), h.input_type,
                    tuple(last["out_shape"]), h.output_type, h.output_shape, h.dequantize,
                    h.input_name, h.output_name)
        _, c, hh, w = io.in_shape
        if (hh, w, c) != io.in_hwc or int(np.prod(io.out_hwc)) != int(np.prod(io.out_shape[1:])):
            raise ManifestError(f"{path}: manifest shapes {io.in_shape} → {io.out_shape} do not "
                                f"match the program ({io.in_hwc} → {io.out_hwc})",
                                "the manifest and program.json come from different builds: "
                                "rebuild")
        return io

    def unstream(self, y: np.ndarray) -> np.ndarray:
        """One frame in stream order → graph output layout without batch axis."""
        shape = self.out_shape[1:]
        if len(shape) == 3:
            return np.moveaxis(y.reshape(shape[1], shape[2], shape[0]), -1, 0)
        return y.reshape(shape)


def host_inputs(manifest: Manifest | dict[str, Any], io: IoSpec, x: Any) -> np.ndarray:
    """Validate float images (N, C, H, W), one image (C, H, W) or a one-entry dict, quantize."""
    if isinstance(x, dict):
        if set(x) != {io.input_name} and len(x) != 1:
            raise InputError(f"inputs {sorted(x)} do not match the model's [{io.input_name!r}]")
        x = next(iter(x.values()))
    x = np.asarray(x)
    if x.ndim == len(io.in_shape) - 1:
        x = x[None]
    if x.ndim != len(io.in_shape) or tuple(x.shape[1:]) != io.in_shape[1:]:
        raise InputError(f"input has shape {tuple(x.shape)}, the build expects {io.in_shape} "
                         "(any batch size)", "pass images as (N, C, H, W) float32")
    if not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)):
        raise InputError(f"input dtype {x.dtype} is not numeric",
                         "pass float32 images as the model was trained on")
    return quantize(x.astype(np.float32), io.in_type)


def host_outputs(io: IoSpec, codes: np.ndarray) -> dict[str, np.ndarray]:
    """Output codes → the graph's output by name (dequantized when the graph outputs floats)."""
    return {io.output_name: dequantize(codes, io.out_type) if io.dequantize else codes}


# ----------------------------------------------------------------------------- board checks
def running_board(device: Any = None) -> str | None:
    """The PYNQ board name: the (simulated) device's ``board_name``, env ``BOARD`` (set by
    PYNQ images), or ``/proc/device-tree/chosen/pynq_board``."""
    name = getattr(device, "board_name", None)
    if name:
        return str(name)
    if os.environ.get("BOARD"):
        return os.environ["BOARD"]
    try:
        return Path("/proc/device-tree/chosen/pynq_board").read_text().strip("\x00\n ")
    except OSError:
        return None


def _same_board(running: str, built: str) -> bool:
    a, b = (s.lower().replace("-", "").replace("_", "") for s in (running, built))
    return a.startswith(b) or b.startswith(a)       # "Ultra96V2" runs "Ultra96" builds


def find_bitstream(path: Path, manifest: Manifest | dict[str, Any]) -> Path | None:
    """The build's ``.bit`` (the manifest's ``bitstream``, ``overlay/``, ``vivado/`` or top
    level)."""
    m = Manifest.coerce(manifest)
    cands = []
    if m.bitstream is not None:
        cands.append(path / m.bitstream)
    for sub in ("overlay", "vivado", "."):
        cands += sorted((path / sub).glob("*.bit"))
    for c in cands:
        if c.is_file():
            return c
    return None


@dataclass(frozen=True)
class ThroughputResult:
    """Result of :meth:`EdgepoolAccelerator.throughput_test`."""

    images: int
    seconds: float
    images_per_s: float
    latency_ms: np.ndarray            # per single-image round trip
    p50_ms: float
    p90_ms: float
    p99_ms: float

    def __str__(self) -> str:
        return (f"{self.images} images in {self.seconds:.3f} s = {self.images_per_s:.1f} img/s; "
                f"latency p50 {self.p50_ms:.3f} ms, p90 {self.p90_ms:.3f} ms, "
                f"p99 {self.p99_ms:.3f} ms")


# ----------------------------------------------------------------------------- the driver
class EdgepoolAccelerator:
    """A loaded edgepool accelerator (see module docstring).

    ``path``: build or unzipped bundle directory. ``sim``: accelerator model of the simulated
    device (``reference``/``csim``/``rtlsim``; default ``EDGEPOOL_PYNQ_SIM``, unset = real
    board). ``dma``: ``auto`` (pynq's DMA driver when bound, else MMIO), ``pynq`` or ``mmio``.
    ``board``: the simulated board's name (default: the build's target).
    """

    def __init__(self, path: Path | str, *, sim: str | None = None, dma: str = "auto",
                 board: str | None = None, device: Any = None,
                 timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self.path = Path(path)
        self.manifest = read_accelerator_manifest(self.path)
        self.io = IoSpec.from_build(self.path, self.manifest)
        self.regmap = self.manifest.regmap_of()
        self.style = self.regmap["style"]
        self.timeout_s = timeout_s
        if dma not in ("auto", "pynq", "mmio"):
            raise InputError(f"dma={dma!r}", "use 'auto', 'pynq' or 'mmio'")
        sim = sim if sim is not None else (os.environ.get(SIM_ENV) or None)
        self.sim = sim
        try:
            import pynq
        except ImportError as e:
            raise ToolchainError(f"pynq is not importable ({e})",
                                 "run on a PYNQ image, or `pip install pynq` for simulation"
                                 ) from None
        self._pynq = pynq
        target = self.manifest.section("target")
        bit = find_bitstream(self.path, self.manifest)
        if sim:
            from .simdevice import SimDevice, write_sim_overlay

            if device is None:
                device = SimDevice(self.path, self.manifest, model=sim, board=board,
                                   regmap=self.regmap)
            if bit is None:
                self._simdir = tempfile.TemporaryDirectory(prefix="edgepool_sim_")
                bit = write_sim_overlay(Path(self._simdir.name), self.manifest, self.regmap)
            pynq.Device.active_device = device
        elif bit is None:
            raise ManifestError(f"{self.path} has no bitstream (.bit): the vendor stage has not "
                                "run for this build", "build with Vivado (edgepool build ... "
                                "--target ultra96) and copy the bundle, or simulate with "
                                f"{SIM_ENV}=reference")
        if not bit.with_suffix(".hwh").exists():
            raise ManifestError(f"{bit} has no hardware handoff {bit.with_suffix('.hwh').name} "
                                "beside it", "copy the .hwh that Vivado wrote with the .bit")
        if device is None:
            try:
                device = pynq.Device.active_device
            except RuntimeError as e:
                raise ToolchainError(f"no PYNQ device ({e})",
                                     f"run on the board, or set {SIM_ENV}=reference") from None
        built = target.pynq_board or ""
        here = running_board(device)
        if here is None or not _same_board(here, built):
            raise ManifestError(f"this build targets {target.name} (PYNQ board "
                                f"{built!r}) but it runs on {here or 'an unknown board'!r}",
                                f"rebuild with --target for this board, or copy the "
                                f"{target.name} bundle to a {built} board")
        self.device = device
        self.bitfile = bit
        self.overlay = pynq.Overlay(str(bit), device=device)
        self._check_hwh()
        self._buffers: dict[str, Any] = {}
        if self.style == "dataflow":
            self._setup_dataflow(dma)
        else:
            self._setup_overlay()

    # -------------------------------------------------------------- setup
    def _ip(self, role: str):
        name = self.regmap["ips"][role]["name"]
        try:
            return getattr(self.overlay, name)
        except AttributeError:
            raise ManifestError(f"the overlay {self.bitfile.name} has no IP {name!r}",
                                "the bitstream and manifest['regmap'] come from different "
                                "builds: rebuild or re-copy the bundle") from None

    def _check_hwh(self) -> None:
        """The register offsets of the .hwh must be the manifest's."""
        if self.style != "overlay":
            return
        name = self.regmap["ips"]["accel"]["name"]
        regs = self.overlay.ip_dict.get(name, {}).get("registers") or {}
        for rname, r in self.regmap["accel"]["registers"].items():
            if rname in regs and regs[rname]["address_offset"] != r["offset"]:
                raise ManifestError(f"register {rname} of {name} is at "
                                    f"{regs[rname]['address_offset']:#x} in the .hwh but at "
                                    f"{r['offset']:#x} in the manifest",
                                    "the bitstream and manifest come from different builds")

    def _setup_dataflow(self, dma: str) -> None:
        beat = self.regmap["stream"]["beat_bytes"]
        io = self.io
        n_in, n_out = int(np.prod(io.in_hwc)), int(np.prod(io.out_hwc))
        self.frame_in = len(axis.pack(np.zeros(n_in, np.int64), io.in_type.bits,
                                      io.in_type.signed, beat))
        self.frame_out = len(axis.pack(np.zeros(n_out, np.int64), io.out_type.bits,
                                       io.out_type.signed, beat))
        self.max_transfer = (1 << self.regmap["dma"]["length_bits"]) - 1
        ip = self._ip("dma")
        try:
            from pynq.lib.dma import DMA
        except ImportError:  # pragma: no cover - pynq without its lib package
            DMA = None
        bound = DMA is not None and isinstance(ip, DMA)
        if dma == "pynq" and not bound:
            raise ToolchainError(f"pynq's DMA driver is not bound to {self.regmap['ips']['dma']}",
                                 "use dma='mmio'")
        self.dma_mode = "pynq" if bound and dma != "mmio" else "mmio"
        self._dma_ip = ip
        if self.regmap["ips"]["accel"].get("control") == "ap_ctrl_hs":
            # the RTL dataflow IP: start it once; auto_restart keeps it taking frames
            self._ctl = self._ip("accel").mmio
            ctrl = self.regmap["accel"]["registers"]["CTRL"]["offset"]
            self._ctl.write(ctrl, R.AP_START | R.AP_AUTO_RESTART)
            if not self._ctl.read(ctrl) & R.AP_AUTO_RESTART:
                raise AcceleratorError("the accelerator did not take auto-restart (CTRL "
                                       f"{self._ctl.read(ctrl):#x})", "reload the overlay; "
                                       "check the bitstream matches the manifest")
        if self.dma_mode == "mmio":
            self._dma_mmio = ip.mmio
            regs = self.regmap["dma"]["registers"]
            # a soft reset through either channel resets the whole DMA; then run both
            self._dma_mmio.write(regs["MM2S_DMACR"], R.DMACR_RESET)
            t0 = time.perf_counter()
            while self._dma_mmio.read(regs["MM2S_DMACR"]) & R.DMACR_RESET:
                if time.perf_counter() - t0 > self.timeout_s:
                    raise AcceleratorError("the AXI DMA did not leave reset",
                                           "reload the overlay")
            for ch in ("MM2S", "S2MM"):
                self._dma_mmio.write(regs[f"{ch}_DMACR"], R.DMACR_RS)

    def _overlay_image(self):
        f = self.path / OVERLAY_IMAGE
        if f.exists():
            z = np.load(f)
            return {k: z[k] for k in z.files}
        # a build directory: plan the overlay with the function the hls stage used
        program, _ = load_program(self.path)
        return plan_program(program, self.manifest.overlay_params()).image.arrays()

    def _setup_overlay(self) -> None:
        img = self._overlay_image()
        for key in ("in_shape", "out_shape", "out_bits"):
            if key not in img:
                raise ManifestError(f"{OVERLAY_IMAGE} lacks {key!r} (an older bundle)",
                                    "re-bundle the build with this edgepool version")
        p = self.manifest.overlay_params()
        self.ov = p
        self.ov_img = img
        cb = axis.container_bits(p.act_bits) // 8
        self.act_word_bytes = cb * p.simd
        alloc = self._pynq.allocate
        b = self._buffers
        b["desc"] = alloc((img["desc"].size,), np.uint32, target=self.device)
        b["wmem"] = alloc((max(1, img["weights"].size),), np.uint8, target=self.device)
        b["bmem"] = alloc((max(1, img["bias"].size),), np.int64, target=self.device)
        b["act"] = alloc((int(img["act_words"]) * self.act_word_bytes,), np.uint8,
                         target=self.device)
        b["desc"][:] = img["desc"]
        b["wmem"][:img["weights"].size] = img["weights"]
        b["bmem"][:img["bias"].size] = img["bias"]
        for k in ("desc", "wmem", "bmem"):
            b[k].flush()
        self._ctl = self._ip("accel").mmio
        regs = self.regmap["accel"]["registers"]
        for arg, buf in (("desc", "desc"), ("wmem", "wmem"), ("bmem", "bmem"),
                         ("act_in", "act"), ("act_out", "act")):
            addr = b[buf].physical_address
            self._ctl.write(regs[arg]["offset"], addr & 0xFFFFFFFF)
            self._ctl.write(regs[arg]["offset"] + 4, addr >> 32)
        self._ctl.write(regs["n_layers"]["offset"], int(img["n_layers"]))

    # -------------------------------------------------------------- running
    def _buffer(self, key: str, nbytes: int):
        buf = self._buffers.get(key)
        if buf is None or buf.nbytes < nbytes:
            buf = self._pynq.allocate((nbytes,), np.uint8, target=self.device)
            self._buffers[key] = buf
        return buf

    def _check_codes(self, codes: np.ndarray) -> np.ndarray:
        codes = np.asarray(codes)
        if codes.ndim != 4 or tuple(codes.shape[1:]) != self.io.in_shape[1:]:
            raise InputError(f"codes have shape {tuple(codes.shape)}, the accelerator takes "
                             f"(N, {', '.join(map(str, self.io.in_shape[1:]))})")
        if not np.issubdtype(codes.dtype, np.integer):
            raise InputError(f"codes must be integers, got {codes.dtype}",
                             "use predict() for float images")
        return codes

    def run_codes(self, codes: np.ndarray) -> np.ndarray:
        """(N, C, H, W) input codes → output codes (N, ...) in the graph's output layout."""
        codes = self._check_codes(codes)
        if self.style == "dataflow":
            frames = self._run_dataflow(codes)
        else:
            frames = [self._run_overlay_one(img) for img in codes]
        return np.stack([self.io.unstream(f) for f in frames]) if frames else \
            np.zeros((0,) + self.io.out_shape[1:], np.int64)

    def _pack_frames(self, codes: np.ndarray, inbuf) -> None:
        io, beat = self.io, self.regmap["stream"]["beat_bytes"]
        for i, img in enumerate(codes):
            data = axis.pack(axis.nchw_to_stream(img), io.in_type.bits, io.in_type.signed, beat)
            inbuf[i * self.frame_in:(i + 1) * self.frame_in] = np.frombuffer(data, np.uint8)

    def _run_dataflow(self, codes: np.ndarray) -> list[np.ndarray]:
        n = len(codes)
        if n == 0:
            return []
        inbuf = self._buffer("in", n * self.frame_in)
        outbuf = self._buffer("out", n * self.frame_out)
        self._pack_frames(codes, inbuf)
        per_chunk = max(1, self.max_transfer // self.frame_in)
        for c0 in range(0, n, per_chunk):
            c1 = min(n, c0 + per_chunk)
            self._send(inbuf, c0 * self.frame_in, (c1 - c0) * self.frame_in)
            for i in range(c0, c1):
                self._recv(outbuf, i * self.frame_out, self.frame_out)
            self._send_wait()
        io = self.io
        n_out = int(np.prod(io.out_hwc))
        raw = bytes(outbuf[:n * self.frame_out])
        return [axis.unpack(raw[i * self.frame_out:(i + 1) * self.frame_out], n_out,
                            io.out_type.bits, io.out_type.signed) for i in range(n)]

    # DMA primitives (pynq's driver, or PG021 registers through MMIO)
    def _send(self, buf, start: int, nbytes: int) -> None:
        if self.dma_mode == "pynq":
            self._wrap(self._dma_ip.sendchannel.transfer, buf, start=start, nbytes=nbytes)
        else:
            buf.flush()
            self._mmio_transfer("MM2S", buf.physical_address + start, nbytes)

    def _send_wait(self) -> None:
        if self.dma_mode == "pynq":
            self._pynq_wait(self._dma_ip.sendchannel, "MM2S")
        else:
            self._mmio_wait("MM2S")

    def _pynq_wait(self, ch, name: str) -> None:
        """pynq's ``channel.wait()`` spins forever when the accelerator never finishes a frame:
        poll its idle / error bits with this driver's timeout first."""
        t0 = time.perf_counter()
        while not self._wrap(lambda: ch.idle or ch.error):
            if time.perf_counter() - t0 > self.timeout_s:
                raise AcceleratorError(f"{name} DMA did not finish in {self.timeout_s} s"
                                       f"{self._control_state()}", "the accelerator stalled: "
                                       "reload the overlay")
        self._wrap(ch.wait)

    def _control_state(self) -> str:
        """``; the accelerator never raised ap_done (CTRL ...)`` for IPs with an ap_ctrl_hs
        block (the RTL dataflow IP), else empty: what a stalled-transfer message adds."""
        ctl = getattr(self, "_ctl", None)
        if ctl is None:
            return ""
        ctrl = self.regmap["accel"]["registers"]["CTRL"]["offset"]
        v = ctl.read(ctrl)
        bits = ", ".join(f"{n}={int(bool(v & b))}" for n, b in (
            ("ap_start", R.AP_START), ("ap_idle", R.AP_IDLE),
            ("auto_restart", R.AP_AUTO_RESTART)))
        return f"; the accelerator never raised ap_done for the frame (CTRL {v:#x}: {bits})"

    def _recv(self, buf, start: int, nbytes: int) -> None:
        if self.dma_mode == "pynq":
            ch = self._dma_ip.recvchannel
            self._wrap(ch.transfer, buf, start=start, nbytes=nbytes)
            self._pynq_wait(ch, "S2MM")
            if ch.transferred != nbytes:
                raise AcceleratorError(f"S2MM received {ch.transferred} bytes, a frame is "
                                       f"{nbytes}", "the bitstream does not match the manifest")
        else:
            self._mmio_transfer("S2MM", buf.physical_address + start, nbytes)
            got = self._mmio_wait("S2MM")
            buf.invalidate()
            if got != nbytes:
                raise AcceleratorError(f"S2MM received {got} bytes, a frame is {nbytes}",
                                       "the bitstream does not match the manifest")

    @staticmethod
    def _wrap(fn, *a, **kw):
        try:
            return fn(*a, **kw)
        except RuntimeError as e:
            raise AcceleratorError(f"DMA: {e}", "reload the overlay; check the bitstream "
                                   "matches the manifest") from None

    def _mmio_transfer(self, ch: str, addr: int, nbytes: int) -> None:
        regs, mm = self.regmap["dma"]["registers"], self._dma_mmio
        a = "SA" if ch == "MM2S" else "DA"
        mm.write(regs[f"{ch}_DMASR"], R.DMASR_IOC_IRQ | R.DMASR_ERR_IRQ)
        mm.write(regs[f"{ch}_{a}"], addr & 0xFFFFFFFF)
        mm.write(regs[f"{ch}_{a}_MSB"], addr >> 32)
        mm.write(regs[f"{ch}_LENGTH"], nbytes)

    def _mmio_wait(self, ch: str) -> int:
        regs, mm = self.regmap["dma"]["registers"], self._dma_mmio
        t0 = time.perf_counter()
        while True:
            sr = mm.read(regs[f"{ch}_DMASR"])
            if sr & R.DMASR_ERRORS:
                kind = {R.DMASR_INTERR: "internal", R.DMASR_SLVERR: "slave",
                        R.DMASR_DECERR: "decode"}[(sr & R.DMASR_ERRORS) & -(sr & R.DMASR_ERRORS)]
                raise AcceleratorError(f"{ch} DMA {kind} error (DMASR {sr:#x})",
                                       "reload the overlay; check buffer sizes and addresses")
            if sr & R.DMASR_IDLE:
                return mm.read(regs[f"{ch}_LENGTH"])
            if time.perf_counter() - t0 > self.timeout_s:
                raise AcceleratorError(f"{ch} DMA did not finish in {self.timeout_s} s "
                                       f"(DMASR {sr:#x}){self._control_state()}",
                                       "the accelerator stalled: reload the overlay")

    def _run_overlay_one(self, img: np.ndarray) -> np.ndarray:
        io, p, act = self.io, self.ov, self._buffers["act"]
        x = axis.nchw_to_stream(img)
        in_c = int(self.ov_img["in_shape"][2])
        if x.shape[-1] != in_c:                       # overlay channel padding (zeros)
            x = np.pad(x, ((0, 0), (0, 0), (0, in_c - x.shape[-1])))
        data = axis.pack(x, p.act_bits, io.in_type.signed)
        o = int(self.ov_img["in_addr"]) * self.act_word_bytes
        act[o:o + len(data)] = np.frombuffer(data, np.uint8)
        act.flush()
        regs = self.regmap["accel"]["registers"]
        self._ctl.write(regs["CTRL"]["offset"], R.AP_START)
        t0 = time.perf_counter()
        while not self._ctl.read(regs["CTRL"]["offset"]) & (R.AP_DONE | R.AP_IDLE):
            if time.perf_counter() - t0 > self.timeout_s:
                raise AcceleratorError(f"the overlay did not finish in {self.timeout_s} s",
                                       "reload the overlay")
        ret = self._ctl.read(regs["ap_return"]["offset"])
        if ret:
            raise AcceleratorError(f"the overlay rejected layer descriptor {ret - 1} "
                                   f"(ap_return {ret})", "the bitstream's capacities do not "
                                   "match the manifest's overlay configuration: rebuild")
        act.invalidate()
        shape = tuple(int(v) for v in self.ov_img["out_shape"])
        ob = int(self.ov_img["out_bits"])              # ACT_BITS, or a raw accumulator's
        n_out = int(np.prod(shape))
        o = int(self.ov_img["out_addr"]) * self.act_word_bytes
        y = axis.unpack(bytes(act[o:o + n_out * ob // 8]), n_out, ob, io.out_type.signed)
        return y.reshape(shape)[..., :io.out_hwc[2]].ravel()   # drop padded channels

    # -------------------------------------------------------------- user API
    def _whole_model(self) -> None:
        """Refuse float-in / float-out use of a heterogeneous build's fabric segment."""
        pl = self.manifest.placement
        if pl is not None and pl.get("applied"):
            raise ManifestError(
                f"{self.path} is a heterogeneous build: the accelerator runs only its fabric "
                "segment (boundary codes in and out, run_codes), the CPU segments run on the "
                "Cortex-A53", "run the whole model with edgepool.runtime.hetero."
                "HeteroExecutor (or `edgepool run OUT --backend pynq`)")

    def predict(self, x: Any) -> np.ndarray:
        """Float images (N, C, H, W) (or one image) → the model's output (N, ...), computed on
        the accelerator with host quantize/dequantize."""
        self._whole_model()
        codes = host_inputs(self.manifest, self.io, x)
        return host_outputs(self.io, self.run_codes(codes))[self.io.output_name]

    def throughput_test(self, n: int = 100, x: Any = None) -> ThroughputResult:
        """``n`` images as one batch (images/s) and ``n`` single-image round trips (latency).
        ``x``: images to use (cycled); default: zeros."""
        if n < 1:
            raise InputError(f"n={n} images", "measure at least one image")
        if x is not None:
            self._whole_model()
        if x is None:
            codes = np.zeros((n,) + self.io.in_shape[1:], np.int64)
        else:
            q = host_inputs(self.manifest, self.io, x)
            codes = q[np.arange(n) % len(q)]
        t0 = time.perf_counter()
        self.run_codes(codes)
        total = time.perf_counter() - t0
        lat = np.empty(n)
        for i in range(n):
            t = time.perf_counter()
            self.run_codes(codes[i:i + 1])
            lat[i] = (time.perf_counter() - t) * 1e3
        p50, p90, p99 = (float(v) for v in np.percentile(lat, [50, 90, 99]))
        return ThroughputResult(n, total, n / total if total > 0 else float("inf"), lat, p50,
                                p90, p99)

    def pl_clock_mhz(self) -> float | None:
        """PL clock 0 as programmed (pynq ``Clocks.fclk0_mhz``); None where unreadable."""
        try:
            from pynq.ps import Clocks

            return float(Clocks.fclk0_mhz)
        except Exception:
            return None

    def describe(self) -> str:
        """One paragraph: model, board, style, DMA mode, simulation."""
        t = self.manifest.section("target")
        mode = f", DMA via {self.dma_mode}" if self.style == "dataflow" else ""
        sim = f", simulated ({self.sim} model)" if self.sim else ""
        return (f"{self.manifest.section('model').name} on {t.name} "
                f"({t.pynq_board}): {self.style} accelerator{mode}{sim}; input "
                f"{self.io.in_shape[1:]} {self.io.in_type.bits}-bit, output "
                f"{self.io.out_shape[1:]}")

    def close(self) -> None:
        """Free the buffers (and the temporary simulation overlay)."""
        self._buffers.clear()
        sd = getattr(self, "_simdir", None)
        if sd is not None:
            sd.cleanup()
            self._simdir = None


class PynqExecutor:
    """``edgepool run OUT --backend pynq``: the executor contract over
    :class:`EdgepoolAccelerator` (board, or simulated when ``EDGEPOOL_PYNQ_SIM`` is set)."""

    def __init__(self, build_dir: Path, manifest: Manifest | dict) -> None:
        try:
            self.accel = EdgepoolAccelerator(build_dir)
        except EdgepoolError:
            raise
        except Exception as e:      # pynq raises plain exceptions off-board
            raise ToolchainError(f"cannot open the PYNQ accelerator: {e}",
                                 f"run on the board, or set {SIM_ENV}=reference") from None

    def run_codes(self, codes: np.ndarray) -> np.ndarray:
        return self.accel.run_codes(codes)
