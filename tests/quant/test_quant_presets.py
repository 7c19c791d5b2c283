# SPDX-License-Identifier: Apache-2.0
"""Quantizer presets: power-of-two scales everywhere, bias at the accumulator scale."""

from __future__ import annotations

import functools
import math

import pytest
import torch
from brevitas.quant_tensor import QuantTensor

from edgepool.errors import ConfigError
from edgepool.quant.models import MODELS, build_model, get_model_info
from edgepool.quant.presets import COLLECT_STATS_STEPS, preset


def _is_pow2(v: float) -> bool:
    m, _ = math.frexp(v)
    return v > 0 and m == 0.5


@functools.cache
def _calibrated(bits: int) -> torch.nn.Module:
    torch.manual_seed(0)
    m = build_model("lenet-digits", bits)
    m.train()
    with torch.no_grad():
        for _ in range(COLLECT_STATS_STEPS + 2):
            m(torch.rand(16, 1, 8, 8))
    return m.eval()


@pytest.mark.parametrize("bits", [4, 8, 16])
def test_all_scales_power_of_two(bits: int) -> None:
    m = _calibrated(bits)
    seen: list[tuple[str, QuantTensor]] = []

    def hook(mod, inp, out):  # noqa: ANN001
        if isinstance(out, QuantTensor):
            seen.append((type(mod).__name__, out))

    handles = [mod.register_forward_hook(hook) for mod in m.modules()]
    with torch.no_grad():
        m.forward_quant(torch.rand(4, 1, 8, 8))
    for h in handles:
        h.remove()
    assert seen
    for kind, qt in seen:
        assert qt.scale.numel() == 1, kind
        assert _is_pow2(float(qt.scale)), (kind, float(qt.scale))
    layers = [mod for mod in m.modules() if hasattr(mod, "quant_weight")]
    assert len(layers) == 4
    for layer in layers:
        with torch.no_grad():
            w = layer.quant_weight()
        assert _is_pow2(float(w.scale))
        assert bool(w.signed) and int(w.bit_width) == bits
        if bits == 16:
            assert float(w.scale) == 2.0 ** -14
    if bits == 16:
        for kind, qt in seen:
            if kind in ("QuantIdentity", "QuantReLU"):
                assert float(qt.scale) == 2.0 ** -14 and int(qt.bit_width) == 16


@pytest.mark.parametrize("bits", [4, 8, 16])
def test_bias_at_accumulator_scale(bits: int) -> None:
    """The conv output (accumulator incl. bias) is at input scale × weight scale; the exported
    bias Quant node's scale is checked in test_quant_export (integer reference)."""
    m = _calibrated(bits)
    with torch.no_grad():
        x = m.input_quant(torch.rand(2, 1, 8, 8))
        conv = m.layers[0]
        w = conv.quant_weight()
        y = conv(x)
    assert float(y.scale) == float(x.scale) * float(w.scale)
    assert m.layers[0].bias_quant.quant_injector.bit_width == 32


def test_unknown_bits_and_model() -> None:
    with pytest.raises(ConfigError):
        preset(5)
    with pytest.raises(ConfigError, match="lenet-digits") as err:
        get_model_info("resnet")
    assert "lenet-mnist" in str(err.value) and "vgg16" in str(err.value)
    # The registry: the shipped models, this round's residual / depthwise / All-Conv models and
    # the bnn_pynq MLPs (TFC/SFC/LFC) as trainer architectures.
    bnn = {f"{net}_{b}" for net in ("tfc", "sfc", "lfc") for b in ("1w1a", "1w2a", "2w2a")}
    bnn -= {"lfc_2w2a"}  # brevitas_examples' bnn_pynq configs have no LFC 2w2a
    assert set(MODELS) == {"lenet-digits", "lenet-mnist", "vgg16", "resnet-mnist", "dwsep-mnist",
                           "allconv-mnist"} | bnn
