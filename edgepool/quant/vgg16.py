# SPDX-License-Identifier: Apache-2.0
"""Deterministic generator of the (never trained) fixed-point VGG16 QONNX model.

The full model has 138 M parameters (~550 MB as float32 ONNX), so it is not committed: it is
written on demand to ``models/vgg16/vgg16.onnx`` (git-ignored)::

    python -m edgepool.quant.vgg16 [--bits 8] [--seed 0] [--out models/vgg16/vgg16.onnx]

Instead of exporting a 138 M-parameter Brevitas module (slow, several GB of memory), the graph is
written directly with ``onnx.helper`` in **exactly the layout Brevitas' ``export_qonnx`` produces**
for :class:`edgepool.quant.models.QuantCNN` (same node order, ``Quant`` attributes, scalar
scale / zero-point / bit-width inputs, bias scale of shape ``[1]`` at the accumulator scale,
``Gemm(transB=1)``, ``Flatten(axis=1)``, opsets ``ai.onnx`` 20 and ``qonnx.custom_op.general`` 2).
:func:`qonnx_from_params` is the generic writer; the test suite checks it against a real
Brevitas export of lenet-digits.

Weights: He-normal with a seeded NumPy generator, quantized like Brevitas' max-stats power-of-two
weight quantizer (``scale = 2**ceil(log2(max|w|)) / 2**(bits-1)``, narrow range). Biases: uniform
in ±0.05 at the accumulator scale (32 bit). Activation scales are fixed: input ``2**-(bits-1)``
(signed, range [-1, 1)), ReLU outputs threshold 4 (unsigned), or Q2.14 everywhere at 16 bits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from ..errors import ConfigError
from .models import VGG16, LayerSpec
from .presets import Q_FRAC_16, SUPPORTED_BITS

QONNX_DOMAIN = "qonnx.custom_op.general"
OPSETS = (("", 20), (QONNX_DOMAIN, 2))
IR_VERSION = 9
DEFAULT_PATH = Path("models/vgg16/vgg16.onnx")
INPUT_SHAPE = (1, 3, 224, 224)


@dataclass
class QuantParams:
    """A quantizer: ``bits``, ``frac`` (scale ``2**-frac``), ``signed``, ``narrow``."""

    bits: int
    frac: int
    signed: bool
    narrow: bool = False


@dataclass
class LayerParams:
    """Integer parameters of one conv / fc layer (ONNX layouts: conv (M, C, KH, KW), fc
    (out, in)), with the weight fraction bits and the output activation quantizer (``None`` for
    the final layer, whose output is the accumulator)."""

    weight: np.ndarray           # int64
    weight_q: QuantParams
    bias: np.ndarray             # int64, at in_frac + weight_frac
    bias_bits: int
    act: QuantParams | None


def _scalar(name: str, value: float, shape: tuple[int, ...] = ()) -> TensorProto:
    return numpy_helper.from_array(np.full(shape, value, dtype=np.float32), name)


class _Builder:
    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[TensorProto] = []
        self._consts: dict[tuple, str] = {}

    def const(self, value: float, shape: tuple[int, ...] = ()) -> str:
        key = (float(value), shape)
        if key not in self._consts:
            name = f"c{len(self._consts)}"
            self.inits.append(_scalar(name, value, shape))
            self._consts[key] = name
        return self._consts[key]

    def quant(self, x: str, q: QuantParams, out: str, scale_shape: tuple[int, ...] = ()) -> str:
        self.nodes.append(helper.make_node(
            "Quant", [x, self.const(2.0 ** -q.frac, scale_shape), self.const(0.0),
                      self.const(float(q.bits))], [out], domain=QONNX_DOMAIN,
            narrow=int(q.narrow), rounding_mode="ROUND", signed=int(q.signed)))
        return out


def qonnx_from_params(spec: list[LayerSpec], input_shape: tuple[int, ...], input_q: QuantParams,
                      layers: list[LayerParams], name: str = "edgepool") -> onnx.ModelProto:
    """A QONNX model of a :class:`~edgepool.quant.models.QuantCNN` ``spec`` with the given
    integer parameters, laid out as Brevitas' ``export_qonnx`` does (see module docstring).
    Weights are stored as their exact dequantized float32 values (``int * 2**-frac``)."""
    b = _Builder()
    x = b.quant("input", input_q, "input_quant")
    in_frac = input_q.frac
    it = iter(layers)
    flat = False
    for i, (kind, arg) in enumerate(spec):
        if kind == "pool":
            out = f"layers.{i}.maxpool"
            b.nodes.append(helper.make_node("MaxPool", [x], [out], ceil_mode=0, dilations=[1, 1],
                                            kernel_shape=[arg, arg], pads=[0, 0, 0, 0],
                                            strides=[arg, arg]))
            x = out
            continue
        if kind == "fc" and not flat:
            b.nodes.append(helper.make_node("Flatten", [x], ["flatten"], axis=1))
            x, flat = "flatten", True
        lp = next(it)
        wq = lp.weight_q
        wname, bname = f"layers.{i}.weight", f"layers.{i}.bias"
        b.inits.append(numpy_helper.from_array(
            (lp.weight.astype(np.float64) * 2.0 ** -wq.frac).astype(np.float32), wname))
        acc_frac = in_frac + wq.frac
        b.inits.append(numpy_helper.from_array(
            (lp.bias.astype(np.float64) * 2.0 ** -acc_frac).astype(np.float32), bname))
        wo = b.quant(wname, wq, f"{wname}_quant")
        bo = b.quant(bname, QuantParams(lp.bias_bits, acc_frac, True), f"{bname}_quant", (1,))
        final = lp.act is None
        out = "logits" if final else f"layers.{i}.{'conv' if kind == 'conv' else 'gemm'}"
        if kind == "conv":
            oc, k, pad = arg
            b.nodes.append(helper.make_node("Conv", [x, wo, bo], [out], dilations=[1, 1],
                                            group=1, kernel_shape=[k, k],
                                            pads=[pad, pad, pad, pad], strides=[1, 1]))
        else:
            b.nodes.append(helper.make_node("Gemm", [x, wo, bo], [out], alpha=1.0, beta=1.0,
                                            transB=1))
        x = out
        if not final:
            b.nodes.append(helper.make_node("Relu", [x], [f"layers.{i}.relu"]))
            x = b.quant(f"layers.{i}.relu", lp.act, f"layers.{i}.act_quant")
            in_frac = lp.act.frac
    n_out = layers[-1].weight.shape[0]
    graph = helper.make_graph(
        b.nodes, name,
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, list(input_shape))],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [input_shape[0], n_out])],
        b.inits)
    model = helper.make_model(graph, producer_name="edgepool.quant.vgg16",
                              opset_imports=[helper.make_opsetid(d, v) for d, v in OPSETS])
    model.ir_version = IR_VERSION
    return model


def _quantize_weight(w: np.ndarray, bits: int) -> tuple[np.ndarray, QuantParams]:
    if bits == 16:
        frac = Q_FRAC_16
    else:
        # Brevitas max-stats power-of-two scaling: threshold 2**ceil(log2 max|w|), / 2**(bits-1)
        frac = (bits - 1) - math.ceil(math.log2(float(np.abs(w).max())))
    lim = (1 << (bits - 1)) - 1
    q = np.clip(np.round(w.astype(np.float64) * 2.0 ** frac), -lim, lim).astype(np.int64)
    return q, QuantParams(bits, frac, True, narrow=True)


def random_params(spec: list[LayerSpec], input_shape: tuple[int, ...], bits: int, seed: int
                  ) -> tuple[QuantParams, list[LayerParams]]:
    """Deterministic random fixed-point parameters for ``spec`` (see module docstring)."""
    if bits not in SUPPORTED_BITS:
        raise ConfigError(f"no preset for {bits} bits",
                          f"choose one of {', '.join(map(str, SUPPORTED_BITS))}")
    rng = np.random.default_rng(seed)
    if bits == 16:
        input_q = QuantParams(16, Q_FRAC_16, True)
        act_q = QuantParams(16, Q_FRAC_16, True)
    else:
        input_q = QuantParams(bits, bits - 1, True)
        act_q = QuantParams(bits, bits - 2, False)   # threshold 4: scale 4 / 2**bits
    c, h, w = input_shape[1:]
    in_frac = input_q.frac
    out: list[LayerParams] = []
    fcs = [i for i, (k, _) in enumerate(spec) if k == "fc"]
    for i, (kind, arg) in enumerate(spec):
        if kind == "pool":
            h, w = h // arg, w // arg
            continue
        if kind == "conv":
            oc, k, pad = arg
            fan_in = c * k * k
            wf = rng.standard_normal((oc, c, k, k), dtype=np.float32)
            c, h, w = oc, h + 2 * pad - k + 1, w + 2 * pad - k + 1
        else:
            fan_in = c * h * w
            wf = rng.standard_normal((arg, fan_in), dtype=np.float32)
            oc, c, h, w = arg, arg, 1, 1
        wf *= np.float32(math.sqrt(2.0 / fan_in))
        wq, wqp = _quantize_weight(wf, bits)
        acc_frac = in_frac + wqp.frac
        bf = rng.uniform(-0.05, 0.05, size=oc)
        bq = np.clip(np.round(bf * 2.0 ** acc_frac), -(2**31), 2**31 - 1).astype(np.int64)
        final = i == fcs[-1]
        out.append(LayerParams(wq, wqp, bq, 32, None if final else act_q))
        if not final:
            in_frac = act_q.frac
    return input_q, out


def vgg16_model(bits: int = 8, seed: int = 0) -> onnx.ModelProto:
    """The VGG16 QONNX model (224×224×3 input, 13 conv3×3 + 5 maxpool + 3 FC, 1000 logits)."""
    input_q, layers = random_params(VGG16, INPUT_SHAPE, bits, seed)
    return qonnx_from_params(VGG16, INPUT_SHAPE, input_q, layers, name=f"vgg16_w{bits}")


def generate(path: str | Path = DEFAULT_PATH, bits: int = 8, seed: int = 0) -> Path:
    """Write the VGG16 QONNX model to ``path`` (creating the directory) and return it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(vgg16_model(bits, seed), str(path))
    return path


def main(argv: list[str] | None = None) -> None:
    """``python -m edgepool.quant.vgg16 [--bits 8] [--seed 0] [--out PATH]``."""
    import click

    @click.command()
    @click.option("--bits", type=click.Choice(["4", "8", "16"]), default="8", show_default=True)
    @click.option("--seed", type=int, default=0, show_default=True)
    @click.option("--out", "out", type=click.Path(path_type=Path), default=DEFAULT_PATH,
                  show_default=True)
    def cli(bits: str, seed: int, out: Path) -> None:
        p = generate(out, int(bits), seed)
        click.echo(f"wrote {p} ({p.stat().st_size / 2**20:.1f} MiB)")

    cli.main(args=argv, standalone_mode=True)


if __name__ == "__main__":
    main()
