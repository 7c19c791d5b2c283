# SPDX-License-Identifier: Apache-2.0
"""Brevitas quantizer presets with power-of-two scales, by bit width.

Every scale in an edgepool model is a power of two (``real = int * 2**-frac``) and every zero point
is zero. A :class:`QuantPreset` bundles the four quantizers a layer needs:

* ``weight``: signed, narrow range (``[-(2**(b-1) - 1), 2**(b-1) - 1]``), per tensor.
* ``act_in``: the input quantizer (a ``QuantIdentity`` at the model's entry), signed.
* ``act_relu``: the ReLU output quantizer (``QuantReLU``).
* ``bias``: :class:`~brevitas.quant.scaled_int.Int32Bias`: scale = input scale × weight scale,
  i.e. exactly the accumulator's scale, 32 bits. The bias is therefore an integer added to the
  exact integer accumulator and the integer model is bit-exact (no internal bias scaling).

Presets:

``8`` (and ``4``)
    Learned power-of-two scales (Brevitas' ``*FixedPoint`` quantizers: weights from max stats,
    activations from a parameter initialised from runtime percentile statistics, the exponent
    rounded up with ``CeilSte``). ReLU outputs are unsigned (``Uint8``/``Uint4``).
``per_channel`` (4 and 8 bits)
    Weights get one power-of-two scale per output channel (Brevitas'
    ``Int8WeightPerChannelFixedPoint``, max statistics per channel); activations stay per
    tensor. Often worth accuracy at 4 bits. A per-channel accumulator is no longer one
    fixed-point type: the importer keeps its codes with a per-channel scale and the
    streamline pass turns the ReLU + requantizer after it into exact per-channel integer
    thresholds, which every backend runs. The model builders keep the *last* layer per tensor
    so the logits stay one fixed-point accumulator.
``16``
    Q2.14 as in the seed HLS accelerator: 16-bit **signed**, 14 fraction bits, *constant* scale
    ``2**-14`` for weights, the input and the ReLU outputs (so ReLU outputs are signed 16-bit
    values in ``[0, 2 - 2**-14]``; the sign bit is unused but every tensor is the same ``i16.14``
    type). Weights are narrow range (``±32767``).
"""

from __future__ import annotations

from dataclasses import dataclass

from brevitas.core.scaling import ScalingImplType
from brevitas.inject import ExtendedInjector
from brevitas.inject.enum import RestrictValueType
from brevitas.quant.fixed_point import (
    Int8ActPerTensorFixedPoint,
    Int8WeightPerChannelFixedPoint,
    Int8WeightPerTensorFixedPoint,
    Uint8ActPerTensorFixedPoint,
)
from brevitas.quant.scaled_int import Int32Bias

from ..errors import ConfigError

SUPPORTED_BITS = (4, 8, 16)
Q_FRAC_16 = 14  # Q2.14
# Learned activation scales are raw (not yet power-of-two) statistics for the first training steps;
# Brevitas' default is 300 steps, far longer than our short trainings. After these steps the scale
# is a power-of-two parameter. Always train (or calibrate) at least this many steps before export.
COLLECT_STATS_STEPS = 30


# --------------------------------------------------------------------------- 8 bit
class Int8Weight(Int8WeightPerTensorFixedPoint):
    """8-bit narrow signed weights, per-tensor power-of-two scale from max statistics."""


class Int8WeightPC(Int8WeightPerChannelFixedPoint):
    """8-bit narrow signed weights, one power-of-two scale per output channel (max stats)."""


class Int8Act(Int8ActPerTensorFixedPoint):
    """8-bit signed activations (model input), learned power-of-two scale."""

    collect_stats_steps = COLLECT_STATS_STEPS


class Uint8Act(Uint8ActPerTensorFixedPoint):
    """8-bit unsigned activations (ReLU outputs), learned power-of-two scale."""

    collect_stats_steps = COLLECT_STATS_STEPS


# --------------------------------------------------------------------------- 4 bit
class Int4Weight(Int8WeightPerTensorFixedPoint):
    """4-bit narrow signed weights (±7), per-tensor power-of-two scale from max statistics."""

    bit_width = 4


class Int4WeightPC(Int8WeightPerChannelFixedPoint):
    """4-bit narrow signed weights (±7), one power-of-two scale per output channel."""

    bit_width = 4


class Int4Act(Int8ActPerTensorFixedPoint):
    """4-bit signed activations (model input), learned power-of-two scale."""

    collect_stats_steps = COLLECT_STATS_STEPS

    bit_width = 4


class Uint4Act(Uint8ActPerTensorFixedPoint):
    """4-bit unsigned activations (ReLU outputs), learned power-of-two scale."""

    collect_stats_steps = COLLECT_STATS_STEPS

    bit_width = 4


# --------------------------------------------------------------------------- 16 bit, Q2.14
class _ConstQ2_14(ExtendedInjector):
    """Mixin: constant scale ``2**-14`` for a 16-bit signed quantizer.

    Brevitas computes ``scale = threshold / 2**(bits-1)`` for power-of-two integer scaling, so a
    constant threshold of 2.0 gives ``scale = 2 / 2**15 = 2**-14``.
    """

    bit_width = 16
    scaling_impl_type = ScalingImplType.CONST
    restrict_scaling_type = RestrictValueType.POWER_OF_TWO
    scaling_init = 2.0


class Int16WeightQ2_14(_ConstQ2_14, Int8WeightPerTensorFixedPoint):
    """16-bit narrow signed weights, constant scale 2**-14 (Q2.14)."""


class Int16ActQ2_14(_ConstQ2_14, Int8ActPerTensorFixedPoint):
    """16-bit signed activations, constant scale 2**-14 (Q2.14); used for the input and ReLUs."""


@dataclass(frozen=True)
class QuantPreset:
    """The quantizers of one bit width (Brevitas quantizer classes, passed as ``*_quant=``)."""

    bits: int
    weight: type
    act_in: type
    act_relu: type
    bias: type
    # per-channel weights for every layer but the last (None: per tensor everywhere)
    weight_pc: type | None = None

    def layer_weight(self, last: bool) -> type:
        """The weight quantizer of a layer (the last one stays per tensor)."""
        return self.weight if last or self.weight_pc is None else self.weight_pc


PRESETS: dict[int, QuantPreset] = {
    4: QuantPreset(4, Int4Weight, Int4Act, Uint4Act, Int32Bias),
    8: QuantPreset(8, Int8Weight, Int8Act, Uint8Act, Int32Bias),
    16: QuantPreset(16, Int16WeightQ2_14, Int16ActQ2_14, Int16ActQ2_14, Int32Bias),
}


_PER_CHANNEL_WEIGHTS: dict[int, type] = {4: Int4WeightPC, 8: Int8WeightPC}


def preset(bits: int, per_channel: bool = False) -> QuantPreset:
    """The :class:`QuantPreset` for ``bits`` (4, 8 or 16), with per-channel power-of-two
    weight scales if ``per_channel`` (4 and 8 bits); :class:`ConfigError` otherwise."""
    try:
        p = PRESETS[int(bits)]
    except (KeyError, TypeError, ValueError):
        raise ConfigError(
            f"no quantizer preset for {bits!r} bits",
            f"choose one of {', '.join(str(b) for b in SUPPORTED_BITS)}",
        ) from None
    if not per_channel:
        return p
    if p.bits not in _PER_CHANNEL_WEIGHTS:
        raise ConfigError(f"no per-channel weight scales at {bits} bits (Q2.14 has one constant "
                          "scale)", "use --per-channel with --bits 4 or 8")
    return QuantPreset(p.bits, p.weight, p.act_in, p.act_relu, p.bias,
                       _PER_CHANNEL_WEIGHTS[p.bits])
