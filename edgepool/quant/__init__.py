# SPDX-License-Identifier: Apache-2.0
"""Quantization-aware training with Brevitas: presets, model builders, trainer and exporters.

Submodules import torch and brevitas; import them explicitly (``edgepool.quant.models``, ...).
"""
