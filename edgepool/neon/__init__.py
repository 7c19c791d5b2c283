# SPDX-License-Identifier: Apache-2.0
"""The Python side of the Cortex-A53 path; the kernels themselves are the C library in ``neon/``.

* :mod:`edgepool.neon.glue` — the **generator**: typed layer descriptions (parsed from the
  BYOC composites by :mod:`edgepool.tvm.byoc`) → the C glue that calls the kernels;
* :mod:`edgepool.neon.bridge` — the **ctypes / qemu bridge**: the kernel library built natively
  (SIMDe) and called through ctypes, or cross-built and run under ``qemu-aarch64``; weight packers
  identical to the C ones. Tests and benchmarks use it.

The CPU build itself (Relax import, partition, ``relax.build``, the runner of ``neon/runner``) is
:mod:`edgepool.tvm`.
"""
