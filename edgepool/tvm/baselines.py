# SPDX-License-Identifier: Apache-2.0
"""Single-op TVM builders: the baseline the NEON kernels are measured against. apache-tvm
0.27: TE/topi → ``tvm.tirx`` PrimFunc → ``tvm.build`` with an LLVM target dict;
``tvm.runtime.tensor`` for arrays.

Functions are channels last (NHWC, batch 1) like the NEON kernels. Built for aarch64 the module
is written as an object file whose entry ``__tvm_ffi_<name>`` uses the TVM FFI packed calling
convention; ``neon/bench/tvm_shim.c`` calls it from a static driver under qemu.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import tvm
from tvm import te, topi
from tvm.target import codegen


def host_target() -> dict:
    """The LLVM target of this machine's CPU (``-mcpu=native`` as LLVM names it, e.g.
    ``rocketlake``): what the x86 NEON-through-SIMDe kernels are compiled for (``-march=native``),
    so both sides use the same instruction set."""
    return {"kind": "llvm", "mcpu": codegen.llvm_get_system_cpu()}


X86 = host_target()
#: the same instruction set as the aarch64 kernels (-march=armv8-a -mtune=cortex-a53)
AARCH64 = {"kind": "llvm", "mtriple": "aarch64-linux-gnu", "mcpu": "cortex-a53",
           "mattr": ["+neon"]}
#: how the baselines are scheduled: TVM's default TIR lowering, i.e. untuned. Tried on this
#: machine (x86, host mcpu): dlight's CPU rules (GEMV, Reduction) were no faster on max pool 3x3
#: (0.074 vs 0.066 ms) and 170x slower on dense 4096->1000; MetaSchedule
#: (``relax.pipeline.static_shape_tuning_pipeline``) crashes with a segmentation fault in
#: ``tvm::ffi::ToJSONGraph`` (apache-tvm 0.27.0.post1) before its first trial.
SCHEDULE = "untuned (TVM default schedule; dlight CPU rules not faster, MetaSchedule crashes)"
ENTRY = "tvm_op"


def pool(shape_hwc: Sequence[int], dtype: str, kind: str, kernel: Sequence[int],
         stride: Sequence[int], pads: Sequence[int] = (0, 0, 0, 0), ceil_mode: bool = False,
         count_include_pad: bool = False, name: str = ENTRY):
    """topi ``pool2d`` (``kind`` "max" or "avg") in NHWC; pads (top, left, bottom, right).
    Integer average pooling in TVM truncates (not round-half-even): a timing baseline only."""
    x = te.placeholder((1, *shape_hwc), dtype, name="x")
    y = topi.nn.pool2d(x, tuple(kernel), tuple(stride), (1, 1), tuple(pads), kind, ceil_mode,
                       "NHWC", count_include_pad)
    return te.create_prim_func([x, y]).with_attr("global_symbol", name)


def conv(shape_hwc: Sequence[int], oc: int, kernel: Sequence[int], dtype: str,
         stride: Sequence[int] = (1, 1), pads: Sequence[int] = (0, 0, 0, 0), name: str = ENTRY):
    """topi ``conv2d_nhwc`` with an HWIO kernel; int8 accumulates in int32."""
    h, w, c = shape_hwc
    x = te.placeholder((1, h, w, c), dtype, name="x")
    k = te.placeholder((kernel[0], kernel[1], c, oc), dtype, name="w")
    out_dtype = "float32" if dtype == "float32" else "int32"
    y = topi.nn.conv2d_nhwc(x, k, tuple(stride), tuple(pads), (1, 1), out_dtype)
    return te.create_prim_func([x, k, y]).with_attr("global_symbol", name)


def dense(n: int, m: int, dtype: str, name: str = ENTRY):
    """topi ``dense`` (batch 1): y = x W^T."""
    x = te.placeholder((1, n), dtype, name="x")
    wt = te.placeholder((m, n), dtype, name="w")
    y = topi.nn.dense(x, wt, out_dtype="float32" if dtype == "float32" else "int32")
    return te.create_prim_func([x, wt, y]).with_attr("global_symbol", name)


def build(func, target: dict = X86):
    """Compile a PrimFunc with LLVM for ``target`` (a target dict)."""
    return tvm.build(func, target=tvm.target.Target(target))


def write_object(func, path: Path, target: dict = AARCH64) -> Path:
    """Cross-compile to an object file (entry ``__tvm_ffi_<name>``)."""
    build(func, target).write_to_file(str(path))
    return Path(path)


def tensors(*arrays: np.ndarray) -> list:
    """NumPy arrays as TVM runtime tensors on the CPU."""
    dev = tvm.cpu()
    return [tvm.runtime.tensor(a, dev) for a in arrays]


def runner(mod, *arrays: np.ndarray):
    """A zero-argument callable running ``mod`` on fixed tensors (the last one is the output);
    it returns the output as NumPy."""
    ts = tensors(*arrays)
    fn = mod[ENTRY] if mod.implements_function(ENTRY) else mod

    def call() -> np.ndarray:
        fn(*ts)
        return ts[-1]

    call.numpy = lambda: ts[-1].numpy()
    return call
