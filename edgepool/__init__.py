# SPDX-License-Identifier: Apache-2.0
"""edgepool: quantized CNNs from Brevitas QAT to ARM NEON and Zynq HLS, bit-exact at every level.

>>> import edgepool
>>> g = edgepool.load("models/lenet-digits/lenet-digits.onnx")
>>> y = g.run(x)          # golden interpreter (NumPy, bit-exact integer semantics)
"""

from __future__ import annotations

__version__ = "0.1.0"

from .errors import EdgepoolError  # noqa: E402


def load(model, name: str | None = None):
    """Import an ONNX / QONNX / QCDQ model (path or ``onnx.ModelProto``) into a verified IR
    :class:`~edgepool.ir.graph.Graph`, canonicalized. ``g.run(x)`` runs the golden interpreter.

    (The package root stays light: the importer is loaded on first use.)"""
    from .passes.pipelines import load as _load

    return _load(model, name)


__all__ = ["load", "EdgepoolError", "__version__"]
