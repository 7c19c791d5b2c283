# SPDX-License-Identifier: Apache-2.0
"""Heterogeneous builds on the board: the fabric segment through the PYNQ driver, the CPU
segments as the build's own aarch64 TVM libraries on the Cortex-A53.

:class:`SegmentPipeline` is the part every heterogeneous executor shares: the build's
segments (``manifest.placement.segments``) run in order, the boundary tensors handed on by name;
:meth:`~SegmentPipeline.run` pushes a batch through segment after segment,
:meth:`~SegmentPipeline.run_pipelined` one image at a time through a software pipeline (while
the fabric runs image *i*, the CPU runs the segments of image *i−1*), and
:meth:`~SegmentPipeline.segment_timings` reports the measured time per segment beside the
placement's estimate. :class:`edgepool.runtime.hetero.HeteroExecutor` (off the board: CPU
segments on x86 through TVM or under qemu) and :class:`HeteroAccelerator` (the board) are its two
implementations.

:class:`HeteroAccelerator` needs only numpy, pynq and the bundle (it is part of the bundle's
``edgepool_board`` package): the fabric segment is an :class:`EdgepoolAccelerator` (its DMA
buffers are ``pynq.allocate``\\ d once and reused, see ``EdgepoolAccelerator._buffer``); a CPU
segment is its ``cpu/seg<i>/runner`` executable with the segment's TVM library and runtime
(``cpu/seg<i>/lib``), run natively on an aarch64 host, or under ``qemu-aarch64`` with the
cross sysroot (``EDGEPOOL_AARCH64_SYSROOT``, default ``/usr/aarch64-linux-gnu``) elsewhere — how
CI runs the bundle's notebook on the simulated device.
"""

from __future__ import annotations

import os
import platform
import shutil
import stat
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..accel.manifest import Manifest
from ..errors import InputError, ManifestError, ToolchainError
from .pynq_driver import EdgepoolAccelerator

SYSROOT_ENV = "EDGEPOOL_AARCH64_SYSROOT"
DEFAULT_SYSROOT = "/usr/aarch64-linux-gnu"
FABRIC = "fabric"                  # the device name of edgepool.tvm.placement


def is_hetero(manifest: Manifest | dict) -> bool:
    """True for a build whose layers run on both the fabric and the CPU."""
    m = Manifest.coerce(manifest)
    return m.placement is not None and bool(m.placement.get("applied")) and \
        bool((m.cpu_segments or {}).get("segments"))


class SegmentPipeline:
    """The segments of a heterogeneous build, run in order (see the module docstring).
    Subclasses set ``placement`` (the manifest's section), ``fabric`` (an executor with
    ``run_codes``: boundary codes in, codes out), ``input_name``, ``output_names``,
    ``timings = {}`` and implement :meth:`_run_cpu`."""

    placement: dict[str, Any]
    fabric: Any
    input_name: str
    output_names: list[str]
    timings: dict[int, list[float]]          # seconds per call of each segment, by index

    def _run_cpu(self, s: dict[str, Any], env: dict[str, np.ndarray]) -> None:
        """Run CPU segment ``s`` on the tensors in ``env``, adding its outputs."""
        raise NotImplementedError

    def _stage(self, s: dict[str, Any], env: dict[str, np.ndarray]) -> None:
        """Run segment ``s`` (the fabric's one input to its one output, or a CPU segment) and
        time it."""
        t0 = time.perf_counter()
        if s["device"] == FABRIC:
            (src,), (dst,) = s["inputs"], s["outputs"]
            env[dst] = self.fabric.run_codes(env[src])
        else:
            self._run_cpu(s, env)
        self.timings.setdefault(s["index"], []).append(time.perf_counter() - t0)

    def run(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """Float input (N, ...) → the graph outputs by name (batch through every segment)."""
        env: dict[str, np.ndarray] = {self.input_name: np.asarray(x, np.float32)}
        for s in self.placement["segments"]:
            self._stage(s, env)
        return {o: env[o] for o in self.output_names}

    def run_pipelined(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """The same result as :meth:`run`, one image at a time through a software pipeline:
        while segment k runs image i, segment k−1 runs image i+1 (one worker thread per
        segment; the fabric's DMA wait and the CPU runners release the GIL). The boundary
        tensors of each image live in that image's own buffers until it leaves the pipeline."""
        x = np.asarray(x, np.float32)
        segs = self.placement["segments"]
        envs = [{self.input_name: x[i:i + 1]} for i in range(len(x))]
        with ThreadPoolExecutor(max_workers=len(segs)) as pool:
            # wave t runs segment k on image t - k, for every k with a valid image
            for t in range(len(x) + len(segs) - 1):
                jobs = [pool.submit(self._stage, segs[k], envs[t - k])
                        for k in range(len(segs)) if 0 <= t - k < len(x)]
                for j in jobs:
                    j.result()
        return {o: np.concatenate([e[o] for e in envs]) if envs else np.zeros((0,))
                for o in self.output_names}

    def segment_timings(self) -> list[dict[str, Any]]:
        """Per segment: device, calls and median seconds per call (measured on this host)."""
        out = []
        for s in self.placement["segments"]:
            t = self.timings.get(s["index"], [])
            out.append({"segment": s["index"], "device": s["device"], "calls": len(t),
                        "median_s": float(np.median(t)) if t else None,
                        "estimated_us": s["est_us"]})
        return out


def aarch64_launcher(seg_dir: Path, triple: str) -> tuple[list[str], dict[str, str]]:
    """(command prefix, environment) that runs ``seg_dir/runner``: natively on an aarch64 host,
    else under qemu-aarch64 with the cross sysroot. Raises :class:`ToolchainError` saying what
    to install when neither is possible."""
    env = dict(os.environ)
    lib = str(Path(seg_dir) / "lib")
    if not triple.startswith("aarch64"):
        raise ManifestError(f"CPU segment {seg_dir} is built for {triple}, not the board's "
                            "Cortex-A53", "rebuild with --target ultra96 or zcu104")
    if platform.machine() in ("aarch64", "arm64"):
        env["LD_LIBRARY_PATH"] = lib + os.pathsep + env.get("LD_LIBRARY_PATH", "")
        return [], env
    qemu = shutil.which("qemu-aarch64")
    sysroot = os.environ.get(SYSROOT_ENV, DEFAULT_SYSROOT)
    if qemu is None or not Path(sysroot, "lib").is_dir():
        raise ToolchainError(
            f"the CPU segments are aarch64 code and this host is {platform.machine()} without "
            f"qemu-aarch64 and an aarch64 sysroot ({sysroot})",
            "run on the board's Cortex-A53, or install qemu-user and libc6-arm64-cross "
            f"(apt) and set {SYSROOT_ENV} if the sysroot is elsewhere")
    # the sysroot's lib right after the runtime: qemu's -L lookup would otherwise fall back to
    # a host multiarch libc of another build than the sysroot's ld.so (see edgepool.tvm.runner)
    return [qemu, "-L", sysroot, "-E", f"LD_LIBRARY_PATH={lib}:{sysroot}/lib"], env


class CpuSegment:
    """One CPU segment of a bundle: ``cpu/seg<i>/runner`` + its TVM library, called on raw
    little-endian tensors (the runner's file protocol: the inputs of each image concatenated,
    images one after another; the outputs likewise)."""

    def __init__(self, root: Path, entry: dict[str, Any]) -> None:      # noqa: D107
        cpu = entry["cpu"]
        self.index = entry["index"]
        self.dir = Path(root) / entry["dir"]
        self.library = cpu["library"]
        self.runner = self.dir / cpu["runner"]
        self.inputs = cpu["io"]["inputs"]
        self.outputs = cpu["io"]["outputs"]
        if not self.runner.exists():
            raise ManifestError(f"{self.runner} missing", "unzip the whole bundle")
        mode = self.runner.stat().st_mode
        if not mode & stat.S_IXUSR:                  # a zip tool that dropped the x bit
            self.runner.chmod(mode | stat.S_IXUSR)
        self.prefix, self.env = aarch64_launcher(self.dir, cpu["triple"])

    def run(self, env: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The segment's outputs by name, from its inputs in ``env`` (any batch)."""
        arrays, n = [], None
        for s in self.inputs:
            a = np.asarray(env[s["name"]])
            shape = tuple(s["shape"])
            if a.ndim == len(shape) - 1:
                a = a[None]
            if a.shape[1:] != shape[1:] or (n is not None and len(a) != n):
                raise InputError(f"segment {self.index} input {s['name']!r} has shape "
                                 f"{a.shape}, expected (N, {', '.join(map(str, shape[1:]))})")
            n = len(a)
            arrays.append(np.ascontiguousarray(a.astype(s["dtype"])).reshape(n, -1)
                          .view(np.uint8))
        sizes = [int(np.prod(s["shape"][1:])) * np.dtype(s["dtype"]).itemsize
                 for s in self.outputs]
        if not n:
            return {s["name"]: np.zeros((0, *s["shape"][1:]), s["dtype"]) for s in self.outputs}
        with tempfile.TemporaryDirectory(prefix="ep-seg-") as td:
            fin, fout = Path(td) / "in.bin", Path(td) / "out.bin"
            fin.write_bytes(np.concatenate(arrays, axis=1).tobytes())
            cmd = [*self.prefix, str(self.runner), str(self.dir / self.library), str(fin),
                   str(fout), "0"]
            r = subprocess.run(cmd, capture_output=True, text=True, env=self.env, timeout=3600)
            if r.returncode != 0:
                raise ToolchainError(f"CPU segment {self.index} failed ({r.returncode}): "
                                     f"{r.stderr[-2000:]}", "check the bundle is complete")
            buf = np.frombuffer(fout.read_bytes(), np.uint8).reshape(n, sum(sizes))
        res, pos = {}, 0
        for s, nb in zip(self.outputs, sizes):
            res[s["name"]] = np.ascontiguousarray(buf[:, pos:pos + nb]).view(s["dtype"]) \
                .reshape((n, *s["shape"][1:]))
            pos += nb
        return res


@dataclass
class HeteroThroughput:
    """:meth:`HeteroAccelerator.throughput_test`: the same images one at a time, segment after
    segment (serial) and through the pipeline (the fabric on image i while the CPU runs i−1)."""

    n: int
    serial_s: float
    pipelined_s: float
    segments: list[dict[str, Any]]

    @property
    def speedup(self) -> float:
        """serial / pipelined wall time."""
        return self.serial_s / self.pipelined_s if self.pipelined_s > 0 else float("inf")

    def __str__(self) -> str:
        return (f"{self.n} images: serial {self.n / self.serial_s:.1f} img/s, pipelined "
                f"{self.n / self.pipelined_s:.1f} img/s ({self.speedup:.2f}x)")


class HeteroAccelerator(SegmentPipeline):
    """A heterogeneous build (or its unzipped bundle) on the board — or, with ``sim``, on the
    simulated PYNQ device (see :class:`EdgepoolAccelerator`) with the CPU segments under qemu.
    Float images in, the model's float outputs out, every segment as the build placed it."""

    def __init__(self, path: Path | str, *, sim: str | None = None, **kwargs: Any) -> None:
        """``kwargs`` go to :class:`EdgepoolAccelerator` (``dma``, ``board``, ``device``,
        ``timeout_s``)."""
        self.path = Path(path)
        self.fabric = EdgepoolAccelerator(self.path, sim=sim, **kwargs)
        m = self.manifest = self.fabric.manifest
        if not is_hetero(m):
            raise ManifestError(f"{self.path} is not a heterogeneous build (no CPU segments)",
                                "use EdgepoolAccelerator")
        self.placement = m.placement
        self.cpu = {e["index"]: CpuSegment(self.path, e) for e in m.cpu_segments["segments"]}
        model = m.section("model")
        self.input_name = model.inputs[0].name
        self.input_shape = tuple(model.inputs[0].shape)
        self.output_names = [o.name for o in model.outputs]
        self.timings = {}

    def _run_cpu(self, s: dict[str, Any], env: dict[str, np.ndarray]) -> None:
        env.update(self.cpu[s["index"]].run(env))

    def _images(self, x: Any) -> np.ndarray:
        x = np.asarray(x, np.float32)
        if x.ndim == len(self.input_shape) - 1:
            x = x[None]
        if x.shape[1:] != self.input_shape[1:]:
            raise InputError(f"images have shape {x.shape}, the model takes "
                             f"(N, {', '.join(map(str, self.input_shape[1:]))})")
        return x

    def predict(self, x: Any) -> np.ndarray:
        """Float images (N, C, H, W) (or one image) → the model's first output (N, ...)."""
        return self.run(self._images(x))[self.output_names[0]]

    def throughput_test(self, n: int = 16, x: Any = None) -> HeteroThroughput:
        """``n`` images (``x`` cycled; default zeros) one at a time, serial and pipelined; the
        per-segment timings of both runs."""
        if n < 1:
            raise InputError(f"n={n} images", "measure at least one image")
        x = np.zeros((1, *self.input_shape[1:]), np.float32) if x is None else self._images(x)
        x = x[np.arange(n) % len(x)]
        self.timings.clear()
        t0 = time.perf_counter()
        for i in range(n):
            self.run(x[i:i + 1])
        serial = time.perf_counter() - t0
        t0 = time.perf_counter()
        self.run_pipelined(x)
        return HeteroThroughput(n, serial, time.perf_counter() - t0, self.segment_timings())

    def describe(self) -> str:
        """One paragraph: the placement and the fabric accelerator."""
        segs = ", ".join(f"{s['device']} ({len(s['nodes'])} layers)"
                         for s in self.placement["segments"])
        return f"heterogeneous build, segments: {segs}; fabric: {self.fabric.describe()}"

    def close(self) -> None:
        """Free the fabric's buffers."""
        self.fabric.close()
