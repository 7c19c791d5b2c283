# SPDX-License-Identifier: Apache-2.0
"""``--backend neon``: run a CPU build directory (``edgepool build … --target cortex-a53|x86``).

The build's runner (``OUT/cpu/runner``) runs every image of a batch in one process: natively for
``x86`` (and for ``cortex-a53`` on an aarch64 host), under ``qemu-aarch64`` otherwise. Inputs are
the user's float arrays; quantization and dequantization are inside the compiled model, so the
outputs are the graph outputs exactly as :meth:`edgepool.ir.graph.Graph.run` computes them.
"""

from __future__ import annotations

import json
import platform
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .. import toolchain
from ..accel.manifest import CpuSection, Manifest
from ..errors import InputError, ManifestError, ToolchainError

AARCH64_SYSROOT = "/usr/aarch64-linux-gnu"


def needs_qemu(triple: str) -> bool:
    """True when ``triple`` binaries cannot run natively here."""
    return triple.startswith("aarch64") and platform.machine() not in ("aarch64", "arm64")


def runner_command(cpu_dir: Path, triple: str, args: Sequence[str],
                   qemu_args: Sequence[str] = ()) -> list[str]:
    """The command line running ``cpu_dir/runner`` with ``args`` (through qemu if needed)."""
    cpu_dir = Path(cpu_dir)
    if needs_qemu(triple):
        qemu = toolchain.require("qemu-aarch64")
        # the sysroot's lib comes first after the runtime: with the arm64 multiarch libc6 on
        # the host (XNNPACK's dependency, for the benchmarks) qemu's -L lookup falls back to the
        # host's /lib/aarch64-linux-gnu/libc.so.6, a different glibc build from the sysroot's
        # ld.so, and the first pthread_create spins forever in the stack cache walk
        return [qemu, *qemu_args, "-L", AARCH64_SYSROOT, "-E",
                f"LD_LIBRARY_PATH={cpu_dir / 'lib'}:{AARCH64_SYSROOT}/lib",
                str(cpu_dir / "runner"), *args]
    return [str(cpu_dir / "runner"), *args]


def run_runner(cpu_dir: Path, triple: str, library: str, data: bytes, repeat: int = 0,
               qemu_args: Sequence[str] = (), timeout: float = 3600) -> tuple[bytes, dict]:
    """Run the runner on raw input bytes; returns (raw output bytes, the runner's JSON stats)."""
    with tempfile.TemporaryDirectory(prefix="ep-run-") as td:
        fin, fout = Path(td) / "in.bin", Path(td) / "out.bin"
        fin.write_bytes(data)
        cmd = runner_command(cpu_dir, triple, [str(Path(cpu_dir) / library), str(fin),
                                               str(fout), str(repeat)], qemu_args)
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if res.returncode != 0:
            raise ToolchainError(f"the CPU runner failed ({res.returncode}): "
                                 f"{res.stderr[-3000:]}", "rebuild the directory")
        stats = json.loads(res.stdout.strip().splitlines()[-1])
        return fout.read_bytes(), stats


class NeonExecutor:
    """The ``neon`` backend bound to a CPU build directory."""

    def __init__(self, build_dir: Path, manifest: Manifest | dict) -> None:
        self.build_dir = Path(build_dir)
        info = Manifest.coerce(manifest).cpu
        if info is None:
            raise ManifestError(f"{build_dir} has no cpu stage output",
                                "build it with --target cortex-a53 or --target x86")
        self.info: CpuSection = info
        self.cpu_dir = self.build_dir / "cpu"
        self.triple = self.info.triple
        self.last_stats: dict[str, Any] = {}

    def _bind(self, inputs) -> tuple[list[np.ndarray], int]:
        spec = self.info.io.inputs
        if not isinstance(inputs, dict):
            if len(spec) != 1:
                raise InputError(f"the model has {len(spec)} inputs",
                                 "pass a dict of input name → array")
            inputs = {spec[0].name: inputs}
        if len(inputs) == 1 and len(spec) == 1 and spec[0].name not in inputs:
            inputs = {spec[0].name: next(iter(inputs.values()))}
        names = [s.name for s in spec]
        if set(inputs) != set(names):
            raise InputError(f"inputs {sorted(inputs)} do not match the model's {names}")
        arrays, n = [], None
        for s in spec:
            a = np.asarray(inputs[s.name])
            shape = tuple(s.shape)
            if a.ndim == len(shape) - 1:
                a = a[None]
            if a.ndim != len(shape) or tuple(a.shape[1:]) != shape[1:]:
                raise InputError(f"input {s.name!r} has shape {tuple(a.shape)}, the build "
                                 f"expects {shape} (any batch size)")
            if not (np.issubdtype(a.dtype, np.floating) or np.issubdtype(a.dtype, np.integer)):
                raise InputError(f"input dtype {a.dtype} is not numeric")
            if s.dtype != "float32" and not np.issubdtype(a.dtype, np.integer):
                raise InputError(f"input {s.name!r} is fixed point {s.type}: pass codes")
            if n is not None and a.shape[0] != n:
                raise InputError("inputs have different batch sizes")
            n = a.shape[0]
            arrays.append(np.ascontiguousarray(a.astype(s.dtype)))
        return arrays, int(n or 0)

    def run(self, inputs, repeat: int = 0) -> dict[str, np.ndarray]:
        """Float inputs (array or dict, any batch) → graph outputs by name."""
        arrays, n = self._bind(inputs)
        outs_spec = self.info.io.outputs
        if n == 0:
            return {s.name: np.zeros((0, *s.shape[1:]), s.dtype) for s in outs_spec}
        per_image = [a.reshape(n, -1) for a in arrays]
        data = np.concatenate([p.view(np.uint8) for p in per_image], axis=1).tobytes()
        raw, self.last_stats = run_runner(self.cpu_dir, self.triple, self.info.library, data,
                                          repeat)
        sizes = [int(np.prod(s.shape[1:])) * np.dtype(s.dtype).itemsize
                 for s in outs_spec]
        buf = np.frombuffer(raw, np.uint8).reshape(n, sum(sizes))
        res, pos = {}, 0
        for s, nb in zip(outs_spec, sizes):
            chunk = np.ascontiguousarray(buf[:, pos:pos + nb])
            res[s.name] = chunk.view(s.dtype).reshape((n, *s.shape[1:]))
            pos += nb
        return res

    def run_codes(self, codes: np.ndarray) -> np.ndarray:
        """Not used for CPU builds: quantization is inside the compiled model (see :meth:`run`)."""
        raise ManifestError("CPU builds take float inputs: use run()")
