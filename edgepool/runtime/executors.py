# SPDX-License-Identifier: Apache-2.0
"""Run a build directory on inputs, on a chosen backend.

Every backend implements the same small contract, :class:`Executor`: fixed-point input codes in
(N, C, H, W) → fixed-point output codes in the graph's output layout. The host part (quantize
the float input, dequantize the output) is shared here, so backends differ only where they
should: in how the accelerator program is executed.

Backends: ``reference`` (the accelerator program's golden model, here), ``csim`` (the build's
generated HLS C++ compiled with g++, edgepool.codegen.hls.csim), ``rtlsim`` (the generated RTL
under cocotb + Verilator, edgepool.runtime.rtlsim), ``neon`` (the CPU build: NEON kernels on x86
via SIMDe or aarch64 under qemu, edgepool.tvm.runner), ``pynq`` (the PYNQ driver on a board, or
on the simulated device off-board, edgepool.runtime.pynq_driver).
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Protocol

import numpy as np

from ..accel.lower import unstream_output
from ..accel.manifest import Manifest, load_manifest, load_program
from ..accel.program import run_reference
from ..errors import ConfigError, InputError
from ..ir import kernels as K
from ..ir import serialize
from .hetero import HeteroExecutor, is_hetero
from .rtlsim import simulate_build_dir

BACKENDS = {
    "reference": "edgepool.runtime.executors:ReferenceExecutor",
    "csim": "edgepool.codegen.hls.csim:CsimExecutor",
    "rtlsim": "edgepool.runtime.rtlsim:RtlExecutor",
    "neon": "edgepool.tvm.runner:NeonExecutor",
    "pynq": "edgepool.runtime.pynq_driver:PynqExecutor",
}


class Executor(Protocol):
    """A backend bound to one build directory."""

    def __init__(self, build_dir: Path, manifest: Manifest) -> None: ...

    def run_codes(self, codes: np.ndarray) -> np.ndarray:
        """(N, C, H, W) input codes → output codes (N, ...) in the graph's output layout."""


class ReferenceExecutor:
    """The accelerator program's golden model (:func:`edgepool.accel.program.run_reference`)."""

    def __init__(self, build_dir: Path, manifest: Manifest | dict) -> None:
        self.program, self.host = load_program(build_dir)

    def run_codes(self, codes: np.ndarray) -> np.ndarray:

        return np.stack([unstream_output(run_reference(self.program, np.moveaxis(img, 0, -1)),
                                         self.host) for img in codes])


def get_executor(build_dir: Path, backend: str,
                 manifest: Manifest | dict | None = None) -> Executor:
    """The ``backend`` executor bound to ``build_dir`` (its manifest read unless given)."""
    if backend not in BACKENDS:
        raise ConfigError(f"unknown backend {backend!r}", f"backends: {', '.join(BACKENDS)}")
    manifest = load_manifest(build_dir) if manifest is None else Manifest.coerce(manifest)
    target = manifest.section("target")
    if target.kind == "cpu" and backend not in ("neon", "reference"):
        raise ConfigError(f"backend {backend!r} needs an FPGA build; {build_dir} was built for "
                          f"{target.name}", "use --backend neon or reference")
    mod, cls = BACKENDS[backend].split(":")
    return getattr(importlib.import_module(mod), cls)(Path(build_dir), manifest)


def host_inputs(manifest: Manifest | dict, inputs) -> np.ndarray:
    """Validate the user's float input against the manifest and quantize it (host side)."""
    manifest = Manifest.coerce(manifest)
    spec = manifest.section("model").inputs
    if isinstance(inputs, dict):
        if len(inputs) == 1 and len(spec) == 1:
            inputs = next(iter(inputs.values()))
        else:
            names = [s.name for s in spec]
            if set(inputs) != set(names):
                raise InputError(f"inputs {sorted(inputs)} do not match the model's {names}")
            inputs = inputs[names[0]]
    x = np.asarray(inputs)
    shape = tuple(spec[0].shape)
    if x.ndim == len(shape) - 1:
        x = x[None]
    if x.ndim != len(shape) or tuple(x.shape[1:]) != shape[1:]:
        raise InputError(f"input has shape {tuple(x.shape)}, the build expects {shape} "
                         "(any batch size)")
    if not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)):
        raise InputError(f"input dtype {x.dtype} is not numeric")
    if manifest.host is not None:
        return K.quantize(x.astype(np.float32), manifest.host.input_type)
    return x.astype(np.float32)


def host_outputs(manifest: Manifest | dict, codes: np.ndarray) -> dict[str, np.ndarray]:
    """The graph outputs of the accelerator's output ``codes`` (dequantized when the graph's
    output is float)."""
    h = Manifest.coerce(manifest).section("host")
    y = codes
    if h.dequantize:
        y = K.dequantize(codes, h.output_type)
    return {h.output_name: y}


def run_build(build_dir: Path, inputs, backend: str = "reference") -> dict[str, np.ndarray]:
    """Run a build directory on float inputs (array or dict) with ``backend``; returns the
    graph outputs by name, as the model computes them."""
    build_dir = Path(build_dir)
    manifest = load_manifest(build_dir)
    if manifest.kind == "cpu":
        if backend == "reference":   # a CPU build has no accelerator program: the golden IR

            return serialize.load(build_dir / "checkpoints" / "canonical.onnx").run(
                inputs, as_dict=True)
        return get_executor(build_dir, backend, manifest).run(inputs)  # type: ignore[attr-defined]
    if is_hetero(manifest):
        # fabric + CPU segments: ``neon`` runs the build's aarch64 CPU libraries (qemu off
        # ARM) with the fabric's golden model; the accelerator backends run the fabric segment
        # with the CPU segments compiled for this host
        fabric = get_executor(build_dir, "reference" if backend == "neon" else backend, manifest)
        cpu = "aarch64" if backend == "neon" else "x86"
        x = inputs if not isinstance(inputs, dict) else next(iter(inputs.values()))
        return HeteroExecutor(build_dir, fabric, cpu, manifest).run(np.asarray(x))
    ex = get_executor(build_dir, backend, manifest)
    codes = host_inputs(manifest, inputs)
    return host_outputs(manifest, ex.run_codes(codes))


def simulate_build(build_dir: Path, images: int, simulator: str) -> str:
    """``edgepool sim``: RTL simulation of a build against the golden model; a text report."""

    return simulate_build_dir(Path(build_dir), images=images, simulator=simulator)
