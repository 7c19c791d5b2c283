# SPDX-License-Identifier: Apache-2.0
"""Fixed-point number types.

A :class:`QType` describes how the integers stored in a tensor map to real numbers:
``real = int * 2**-frac``. Scales are powers of two, zero points are zero. ``FLOAT`` marks an
unquantized (float32) value at a graph boundary or in a float graph.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import QuantizationError

MAX_BITS = 64        # internal accumulators may be up to 64 bits wide
MAX_QUANT_BITS = 32  # quantizers in a model (weights, activations, biases) at most 32


@dataclass(frozen=True)
class QType:
    """A fixed-point format: ``bits`` wide, ``signed`` or not, ``frac`` fraction bits.

    ``narrow`` drops the most negative code (symmetric range, as Brevitas' weight quantizers).
    ``frac`` may be negative (scale > 1) or exceed ``bits``. ``bits == 0`` means float32.
    """

    bits: int
    signed: bool = True
    frac: int = 0
    narrow: bool = False

    def __post_init__(self) -> None:
        if self.bits == 0:
            return
        if not 1 <= self.bits <= MAX_BITS:
            raise QuantizationError(
                f"bit width {self.bits} is outside 1..{MAX_BITS}",
                "edgepool's fixed point holds at most 64-bit integers",
            )

    @property
    def is_float(self) -> bool:
        return self.bits == 0

    @property
    def scale(self) -> float:
        return 2.0 ** -self.frac

    @property
    def min(self) -> int:
        if self.is_float:
            raise TypeError("float type has no integer range")
        if not self.signed:
            return 0
        return -(1 << (self.bits - 1)) + (1 if self.narrow else 0)

    @property
    def max(self) -> int:
        if self.is_float:
            raise TypeError("float type has no integer range")
        return (1 << (self.bits - 1)) - 1 if self.signed else (1 << self.bits) - 1

    def with_frac(self, frac: int) -> QType:
        return QType(self.bits, self.signed, frac, self.narrow)

    def __str__(self) -> str:
        if self.is_float:
            return "f32"
        s = "i" if self.signed else "u"
        n = "n" if self.narrow else ""
        return f"{s}{self.bits}{n}.{self.frac}"

    @staticmethod
    def parse(text: str) -> QType:
        """Inverse of ``str()``: ``"i8.6"``, ``"u8n.4"``, ``"f32"``."""
        if text == "f32":
            return FLOAT
        try:
            head, frac = text.split(".")
            signed = head[0] == "i"
            narrow = head.endswith("n")
            bits = int(head[1:-1] if narrow else head[1:])
            if head[0] not in "iu":
                raise ValueError
            return QType(bits, signed, int(frac), narrow)
        except (ValueError, IndexError):
            raise QuantizationError(f"cannot parse fixed-point type {text!r}",
                                    "write types as i8.6, u8.4, i16n.14 or f32") from None

    def storage_dtype(self) -> str:
        """Smallest NumPy integer dtype that holds every value of this type."""
        if self.is_float:
            return "float32"
        for bits in (8, 16, 32, 64):
            if self.signed and self.bits <= bits:
                return f"int{bits}"
            if not self.signed and self.bits <= bits:
                return f"uint{bits}"
        raise AssertionError


FLOAT = QType(0)


def accumulator_bits(in_a: QType, in_b: QType, terms: int, bias: QType | None = None) -> int:
    """Bits needed to hold a sum of ``terms`` products of ``in_a`` and ``in_b`` without overflow
    (plus an optional bias): backends must accumulate at least this wide (int32 when it is
    <= 32, int64 otherwise)."""
    amax = max(abs(in_a.min), abs(in_a.max))
    bmax = max(abs(in_b.min), abs(in_b.max))
    bound = amax * bmax * terms
    if bias is not None:
        bound += max(abs(bias.min), abs(bias.max))
    return min(MAX_BITS, bound.bit_length() + 1)


def frac_from_scale(scale: float, where: str) -> int:
    """``-log2(scale)`` for a power-of-two scale; otherwise a :class:`QuantizationError`."""
    import math

    if not (scale > 0 and math.isfinite(scale)):
        raise QuantizationError(f"{where}: scale {scale!r} is not a positive finite number")
    m, e = math.frexp(scale)
    if m != 0.5:
        raise QuantizationError(
            f"{where}: scale {scale!r} is not a power of two",
            "edgepool's fixed point needs power-of-two scales: train with Brevitas' *FixedPoint "
            "quantizers (e.g. Int8WeightPerTensorFixedPoint, Int8ActPerTensorFixedPoint)",
        )
    return 1 - e
