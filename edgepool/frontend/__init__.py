# SPDX-License-Identifier: Apache-2.0
"""Model import: ONNX (float), QONNX (Brevitas ``Quant`` nodes) and QCDQ/QDQ into the IR."""

from .onnx_import import import_onnx, load_model

__all__ = ["import_onnx", "load_model"]
