# SPDX-License-Identifier: Apache-2.0
"""The ``csim`` backend: a build's generated HLS C++ (``<build>/hls``) compiled with g++ against
the ap_types headers of the hls4ml wheel, run on a batch of images in one process (the
generated testbench loops over the frames of its input file).

The binary is cached by :func:`edgepool.toolchain.cached_build` in
``<cache>/csim/<key>/tb`` (``$EDGEPOOL_CACHE``, default ``~/.cache/edgepool``) where ``key``
hashes every source and header of ``hls/``, the compiler (version) and its flags: a rebuilt or
edited design recompiles, a second run (of any build directory with the same design, e.g. two
test builds) does not. Concurrent compiles of the same key wait for one another (flock) and the
binary is published by an atomic rename.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from ... import toolchain
from ...accel import axis
from ...accel.lower import unstream_output
from ...accel.manifest import Manifest, load_program
from ...errors import EdgepoolError, ManifestError
from . import DESIGN_JSON, design_meta, pad_input

CXXFLAGS = ("-std=c++14", "-O2", "-Wno-unknown-pragmas", "-Wno-uninitialized",
            "-Wno-maybe-uninitialized")
CACHE_KIND = "csim"
MIN_FRAMES_PER_JOB = 32        # below this a batch runs in one process


class CsimError(EdgepoolError):
    """The C simulation failed to compile or reported an error."""


def source_files(hls_dir: Path) -> list[Path]:
    """Every C++ source / header under ``hls_dir`` (what the testbench binary is made of)."""
    return [p for p in sorted(Path(hls_dir).rglob("*")) if p.suffix in (".h", ".cpp")]


def compile_design(hls_dir: Path, meta: dict | None = None) -> Path:
    """Compile ``hls_dir``'s top + testbench (cached by content, see the module docstring) and
    return the binary. A missing g++ or ap_types raises
    :class:`~edgepool.errors.ToolchainError`."""
    hls_dir = Path(hls_dir)
    meta = meta or json_meta(hls_dir)
    gxx = toolchain.require("g++")
    ap = toolchain.require("ap_types")
    key = toolchain.content_key(files=source_files(hls_dir), base=hls_dir,
                                flags=[*CXXFLAGS, ap], tools=[gxx])

    def build(tmp: Path) -> None:
        srcs = [str(hls_dir / s) for s in meta["sources"]] + [str(hls_dir / "tb_edgepool.cpp")]
        cmd = [gxx, *CXXFLAGS, "-isystem", ap, "-I", str(hls_dir), "-I",
               str(hls_dir / "include"), "-I", str(hls_dir / "tb"), *srcs, "-o",
               str(tmp / "tb")]
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode != 0:
            raise CsimError(f"C simulation compile failed:\n{' '.join(cmd)}\n"
                            f"{res.stderr[-6000:]}",
                            "regenerate the build (edgepool build ... --from hls)")

    return toolchain.cached_build(CACHE_KIND, key, build) / "tb"


def json_meta(hls_dir: Path) -> dict:
    """``design.json`` of an ``hls/`` folder, with a typed error when it is missing."""
    try:
        return design_meta(Path(hls_dir).parent)
    except (OSError, ValueError) as e:
        raise ManifestError(f"{hls_dir}/{DESIGN_JSON} missing or corrupt ({e})",
                            "rebuild with the hls stage (edgepool build ... --from hls)") from None


def run_frames(hls_dir: Path, frames: bytes, meta: dict | None = None, jobs: int = 1,
               timeout: float = 3600) -> bytes:
    """Run the compiled testbench on concatenated input frames and return the output frames'
    bytes. ``jobs`` > 1 splits the frames into that many contiguous chunks, one testbench
    process each (every process still loops over many frames)."""
    hls_dir = Path(hls_dir)
    meta = meta or json_meta(hls_dir)
    binary = compile_design(hls_dir, meta)
    fb = meta["tb"]["input"]["frame_bytes"]
    n = len(frames) // fb
    jobs = max(1, min(jobs, n))
    bounds = [n * k // jobs for k in range(jobs + 1)]
    with tempfile.TemporaryDirectory(prefix="edgepool-csim-") as d:
        procs = []
        for k in range(jobs):
            fin, fout = Path(d) / f"in{k}.bin", Path(d) / f"out{k}.bin"
            fin.write_bytes(frames[bounds[k] * fb:bounds[k + 1] * fb])
            procs.append((fout, subprocess.Popen(
                [str(binary), str(fin), str(fout), str(Path(d) / "none"), str(hls_dir)],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)))
        out = []
        for fout, proc in procs:
            _, err = proc.communicate(timeout=timeout)
            if proc.returncode != 0 or "ERROR" in err:
                raise CsimError(f"C simulation failed ({proc.returncode}):\n{err[-4000:]}")
            out.append(fout.read_bytes())
        return b"".join(out)


class CsimExecutor:
    """Backend ``csim``: ``run_codes((N, C, H, W) codes) -> (N, ...)`` output codes in the graph's
    output layout, computed by the generated HLS design under g++. A batch runs in one
    testbench process, or in ``jobs`` processes of contiguous chunks (default: ``EDGEPOOL_JOBS``
    or the CPU count) when it has at least 32 frames per process."""

    def __init__(self, build_dir: Path, manifest: Manifest | dict,
                 jobs: int | None = None) -> None:

        self.jobs = jobs if jobs is not None else int(os.environ.get("EDGEPOOL_JOBS", "0")
                                                      or os.cpu_count() or 1)
        self.build_dir = Path(build_dir)
        self.hls_dir = self.build_dir / "hls"
        stages = Manifest.coerce(manifest).stages
        if "hls" not in stages and not (self.hls_dir / DESIGN_JSON).exists():
            raise ManifestError(f"{build_dir} has no HLS design (stage 'hls' did not run)",
                                "build for an FPGA target through the hls stage")
        self.meta = json_meta(self.hls_dir)
        self.program, self.host = load_program(self.build_dir)

    def compile(self) -> Path:
        """Compile (or find in the cache) the simulation binary."""
        return compile_design(self.hls_dir, self.meta)

    def encode(self, codes: np.ndarray) -> bytes:
        """(N, C, H, W) input codes → the testbench's input file."""
        ti = self.meta["tb"]["input"]
        beat = ti.get("beat_bytes")
        out = []
        for img in np.asarray(codes):
            x = axis.nchw_to_stream(img)
            if "pad" in self.meta:                      # overlay channel padding
                x = pad_input(x, (*self.program.in_shape[:2], self.meta["pad"]["in_c"][1]))
            elif x.shape != tuple(self.program.in_shape):
                raise ManifestError(f"input image of shape {img.shape} does not match the "
                                    f"program's (H, W, C) {self.program.in_shape}")
            data = axis.pack(x, ti["bits"], ti["signed"], beat)
            out.append(data + bytes(ti["frame_bytes"] - len(data)))
        return b"".join(out)

    def decode(self, data: bytes, n: int) -> np.ndarray:
        """The testbench's output file → (N, ...) codes in the graph's output layout."""

        to = self.meta["tb"]["output"]
        fb = to["frame_bytes"]
        if len(data) != n * fb:
            raise CsimError(f"C simulation wrote {len(data)} bytes for {n} frames of {fb}")
        ys = []
        for i in range(n):
            y = axis.unpack(data[i * fb:(i + 1) * fb], to["elems"], to["bits"], to["signed"])
            if "pad" in self.meta:                      # drop the padded channels
                y = y.reshape(self.meta["pad"]["out_shape"])[..., :self.program.out_shape[2]]
            ys.append(unstream_output(y.reshape(self.program.out_shape), self.host))
        return np.stack(ys)

    def run_codes(self, codes: np.ndarray) -> np.ndarray:
        """(N, C, H, W) input codes → output codes (N, ...) in the graph's output layout."""
        codes = np.asarray(codes)
        if codes.ndim == 3:
            codes = codes[None]
        n = codes.shape[0]
        jobs = max(1, min(self.jobs, n // MIN_FRAMES_PER_JOB))
        return self.decode(run_frames(self.hls_dir, self.encode(codes), self.meta, jobs), n)
