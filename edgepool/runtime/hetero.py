# SPDX-License-Identifier: Apache-2.0
"""Run a heterogeneous build (fabric + Cortex-A53 segments, :mod:`edgepool.tvm.placement`).

:class:`HeteroExecutor` walks the build's segments in order and hands the boundary tensors on by
name: a CPU segment runs its TVM library (``cpu/seg<i>/``: the aarch64 library under qemu, or
the same segment compiled for x86 — NEON through SIMDe + TVM LLVM — on demand), the fabric
segment runs on any accelerator backend of :mod:`edgepool.runtime.executors` (``reference``,
``csim``, ``rtlsim``, ``pynq`` = the driver on the simulated device or the board), whose
manifest ``host`` section names the boundary tensors the fabric reads and writes. The float
input is quantized and the output dequantized inside the CPU segments (their graphs hold the
``Quant`` / ``Dequant``), so every backend combination is compared with the golden interpreter
by exact equality.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from ..accel.manifest import CpuSection, Manifest, decode, load_manifest
from ..errors import ConfigError, ManifestError
from ..ir import serialize
from ..targets import get_target
from ..tvm.fabric_byoc import register_fabric, run_hetero_library
from ..tvm.placement import fused, place
from ..tvm.runner import NeonExecutor
from ..tvm.segments import compile_hetero_cached, compile_segment, load_segment
from .hetero_board import SegmentPipeline, is_hetero

CPU_MODES = ("x86", "aarch64", "reference")


class _Segment(NeonExecutor):
    """One compiled CPU segment (the CPU runner's executor, bound to ``cpu/seg<i>/``)."""

    def __init__(self, cpu_dir: Path, info: dict[str, Any]) -> None:     # noqa: D107
        self.build_dir = cpu_dir
        self.cpu_dir = cpu_dir
        self.info = decode(CpuSection, {**info, "files": info.get("files", [])}, "segment")
        self.triple = self.info.triple
        self.last_stats = {}


class HeteroExecutor(SegmentPipeline):
    """The segments of a heterogeneous build, run in order (see the module docstring; the
    batch / pipelined runs and the timings are :class:`SegmentPipeline`'s)."""

    def __init__(self, build_dir: Path, fabric, cpu: str = "x86",
                 manifest: Manifest | dict | None = None) -> None:
        """``fabric``: an accelerator executor bound to ``build_dir`` (``run_codes``)."""
        self.build_dir = Path(build_dir)
        self.manifest = load_manifest(self.build_dir) if manifest is None else \
            Manifest.coerce(manifest)
        if not is_hetero(self.manifest):
            raise ManifestError(f"{build_dir} is not a heterogeneous build (no placement with "
                                "CPU segments)", "use the plain executors")
        if cpu not in CPU_MODES:
            raise ConfigError(f"unknown CPU mode {cpu!r}", f"modes: {', '.join(CPU_MODES)}")
        self.placement = self.manifest.placement
        self.cpu = cpu
        self.fabric = fabric
        self._tmp = tempfile.TemporaryDirectory(prefix="ep-hetero-")
        self._segs: dict[int, Any] = {}
        self.timings = {}
        model = self.manifest.section("model")
        self.input_name = model.inputs[0].name
        self.output_names = [o.name for o in model.outputs]

    def _cpu_segment(self, index: int):
        if index in self._segs:
            return self._segs[index]
        entry = next(s for s in self.manifest.cpu_segments["segments"] if s["index"] == index)
        sg = load_segment(self.build_dir, index)
        if self.cpu == "reference":
            seg = sg
        elif self.cpu == "aarch64":
            seg = _Segment(self.build_dir / entry["dir"], _cpu_info(entry["cpu"]))
        else:
            out = Path(self._tmp.name) / f"seg{index}"
            key = (self.build_dir / "model.onnx").read_bytes()
            info = compile_segment(sg, "x86_64-linux-gnu", out, key)
            seg = _Segment(out, _cpu_info(info))
        self._segs[index] = seg
        return seg

    def _run_cpu(self, s: dict, env: dict[str, np.ndarray]) -> None:
        seg = self._cpu_segment(s["index"])
        ins = {i: env[i] for i in s["inputs"]}
        res = seg.run(ins, as_dict=True) if self.cpu == "reference" else seg.run(ins)
        env.update({k: np.asarray(v) for k, v in res.items()})

    def run_relax(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """The whole graph as ONE Relax module compiled for this host (the build's
        ``cpu/hetero`` module, :mod:`edgepool.tvm.fabric_byoc`): the Relax VM runs it and its
        fabric segment calls ``edgepool.fabric.run``, registered here as the fabric
        executor. The placement is recomputed from the IR checkpoint (deterministic)."""
        m = self.manifest
        g = serialize.load(self.build_dir / "checkpoints" / "canonical.onnx")
        pins = m.build_config.place if m.build_config is not None else ()
        p = place(g, get_target(m.section("target").name), pins, require_fabric=True)
        out = Path(self._tmp.name) / "hetero"
        info = compile_hetero_cached(fused(g), p, "x86_64-linux-gnu", out,
                                     (self.build_dir / "model.onnx").read_bytes())
        register_fabric(lambda seg, codes: self.fabric.run_codes(codes))
        y = run_hetero_library(out / info["library"], np.asarray(x, np.float32))
        return {m.section("model").outputs[0].name: y}


def _cpu_info(info: dict[str, Any]) -> dict[str, Any]:
    keep = ("triple", "offload", "library", "runner", "runner_source", "model_io",
            "generated_c", "io", "offloaded", "tvm_compiled", "files")
    return {k: info.get(k) for k in keep}
