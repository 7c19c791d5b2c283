# SPDX-License-Identifier: Apache-2.0
"""The accelerator program: a model lowered to a chain of hardware layers.

This is the one description that the HLS library (dataflow top and runtime-configured overlay),
the RTL datapath, the cost model, the design-space exploration and the PYNQ driver all consume.
It is produced from the IR by :mod:`edgepool.accel.lower` and serialized into a build's
``manifest.json`` (weights go to ``weights.bin``).

Semantics of one :class:`HwLayer`, channels last (H, W, C), batch 1:

* ``conv``: ``acc = conv2d(x, weights, bias)`` exactly (int64), then
  ``y = requantize(acc, acc_frac, out_type, relu)``, then the optional fused ``pool``.
  A layer with ``thresholds`` replaces the requantize by a comparator stage:
  ``y = threshold(acc, thresholds, out_type, bipolar, threshold_dir)`` (the IR's ``Threshold``,
  :func:`edgepool.ir.kernels.threshold`), the table clamped to the accumulator's range
  (:func:`clamp_thresholds`), so it is as wide as the accumulator and no wider.
  Fully connected layers are ``conv`` with a 1×1 input map (``in_shape = (1, 1, N)``) and a 1×1
  kernel; their weight columns are already in stream (H, W, C) order.
* ``pool``: ``y = pool(x)`` with ``in_type == out_type`` (max, or average rounded half to even).

:func:`run_reference` is the golden model of a program, built on :mod:`edgepool.ir.kernels`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np

from ..errors import ManifestError, QuantizationError
from ..ir import kernels as K
from ..ir.qtype import QType, accumulator_bits

Pads = tuple[int, int, int, int]


@dataclass(frozen=True)
class HostSplit:
    """What the host does around the accelerator: quantize the input, dequantize the output.

    :meth:`to_dict` / :meth:`from_dict` are the one (de)serialization of the manifest's
    ``host`` section (the build writes it; executors, the driver and the simulated device read
    it)."""

    input_name: str
    input_type: QType
    output_name: str
    output_type: QType        # type of the codes the accelerator returns
    dequantize: bool          # whether the graph output is float (Dequant on the host)
    output_shape: tuple[int, ...] = ()   # the graph output's static shape (NCHW or N×K)

    def to_dict(self) -> dict:
        """The manifest's ``host`` section."""
        return {"input": self.input_name, "input_type": str(self.input_type),
                "output": self.output_name, "output_type": str(self.output_type),
                "dequantize": self.dequantize, "output_shape": list(self.output_shape)}

    @classmethod
    def from_dict(cls, h: dict) -> HostSplit:
        """Inverse of :meth:`to_dict`; a malformed section is a :class:`ManifestError`."""
        try:
            return cls(str(h["input"]), QType.parse(h["input_type"]), str(h["output"]),
                       QType.parse(h["output_type"]), bool(h["dequantize"]),
                       tuple(int(d) for d in h["output_shape"]))
        except (KeyError, TypeError, ValueError, QuantizationError) as e:
            raise ManifestError(f"the manifest's host section is malformed ({e})",
                                "rebuild the directory") from None


@dataclass(frozen=True)
class PoolSpec:
    """A pooling window: ``kind`` max or avg, ONNX attribute meanings."""

    kind: Literal["max", "avg"]
    kernel: tuple[int, int]
    stride: tuple[int, int]
    pads: Pads = (0, 0, 0, 0)
    ceil_mode: bool = False
    count_include_pad: bool = False

    def out_hw(self, h: int, w: int) -> tuple[int, int]:
        return (K.pool_output_size(h, self.kernel[0], self.stride[0], self.pads[0], self.pads[2], 1,
                                   self.ceil_mode),
                K.pool_output_size(w, self.kernel[1], self.stride[1], self.pads[1], self.pads[3], 1,
                                   self.ceil_mode))

    def apply_nchw(self, x: np.ndarray) -> np.ndarray:
        if self.kind == "max":
            return K.max_pool(x, self.kernel, self.stride, self.pads, (1, 1), self.ceil_mode)
        return K.avg_pool(x, self.kernel, self.stride, self.pads, (1, 1), self.ceil_mode,
                          self.count_include_pad)


@dataclass(frozen=True, eq=False)
class HwLayer:
    """One layer of the accelerator. Shapes are (H, W, C)."""

    name: str
    kind: Literal["conv", "pool"]
    in_shape: tuple[int, int, int]
    out_shape: tuple[int, int, int]
    in_type: QType
    out_type: QType
    # conv only -----------------------------------------------------------------------
    kernel: tuple[int, int] = (1, 1)
    stride: tuple[int, int] = (1, 1)
    pads: Pads = (0, 0, 0, 0)
    dilation: tuple[int, int] = (1, 1)
    groups: int = 1
    weights: np.ndarray | None = None     # (OC, KH, KW, IC // groups), int64
    weight_type: QType | None = None
    bias: np.ndarray | None = None        # (OC,), int64 at acc_frac
    acc_frac: int = 0
    acc_bits: int = 32                    # accumulator width the hardware needs (<= 64)
    relu: bool = False
    # pooling: the layer itself when kind == "pool", fused after requantize when kind == "conv"
    pool: PoolSpec | None = None
    is_fc: bool = False                   # conv on a 1x1 map that came from Gemm/MatMul
    meta: dict = field(default_factory=dict)
    # comparator stage instead of requantize (conv only): (OC, n) non-decreasing int64 rows on
    # ``threshold_dir · acc`` (±1 per channel; None = all +1); ``bipolar``: codes −1/+1
    thresholds: np.ndarray | None = None
    threshold_dir: np.ndarray | None = None
    bipolar: bool = False
    # every input code is ±1 (a bipolar quantizer or threshold made it): with ±1 weights the
    # MAC array may be XNOR-popcount (:meth:`xnor`)
    in_bipolar: bool = False

    @property
    def conv_out_hw(self) -> tuple[int, int]:
        """Spatial size after the convolution, before any fused pool."""
        h, w, _ = self.in_shape
        return (K.pool_output_size(h, self.kernel[0], self.stride[0], self.pads[0], self.pads[2],
                                   self.dilation[0], False),
                K.pool_output_size(w, self.kernel[1], self.stride[1], self.pads[1], self.pads[3],
                                   self.dilation[1], False))

    @property
    def macs(self) -> int:
        if self.kind != "conv":
            return 0
        oh, ow = self.conv_out_hw
        oc, kh, kw, icg = self.weights.shape
        return oh * ow * oc * kh * kw * icg

    def with_(self, **kw) -> HwLayer:
        return replace(self, **kw)

    @property
    def n_thresholds(self) -> int:
        """Thresholds per channel (0 for a requantizing layer)."""
        return 0 if self.thresholds is None else int(self.thresholds.shape[1])

    def xnor(self) -> bool:
        """A 1-bit layer: bipolar inputs and every weight ±1, so each product is an XNOR of
        two sign bits and a dot product ``2·popcount − terms`` (no multiplier)."""
        return (self.kind == "conv" and self.in_bipolar and self.weights is not None
                and bool(self.weights.size) and bool(np.all(np.abs(self.weights) == 1))
                and all(p == 0 for p in self.pads))

    def directions(self) -> np.ndarray:
        """The (OC,) ±1 direction of every channel's comparisons."""
        oc = self.out_shape[2]
        if self.threshold_dir is None:
            return np.ones(oc, np.int64)
        return np.broadcast_to(np.asarray(self.threshold_dir, np.int64), (oc,)).copy()


def threshold_codes(out: QType, bipolar: bool) -> tuple[int, int]:
    """``(base, step)`` of a comparator stage's output code ``base + step · count``."""
    return (-1, 2) if bipolar else (out.min, 1)


def clamp_thresholds(t: np.ndarray, direction: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """Threshold rows clamped to what an accumulator in ``[lo, hi]`` can reach: a threshold at
    or below the least value of ``d·acc`` is always crossed (→ that value), one above the
    greatest never (→ greatest + 1). The counts, hence the codes, do not change for any
    accumulator in range; the table needs no more bits than the accumulator (plus one)."""
    t = np.asarray(t, np.int64)
    d = np.asarray(direction, np.int64).reshape(-1, 1)
    rlo = np.where(d > 0, lo, -hi)
    rhi = np.where(d > 0, hi, -lo)
    return np.clip(t, rlo, rhi + 1)


@dataclass(frozen=True, eq=False)
class HwProgram:
    """A chain of :class:`HwLayer`; the output of layer *i* is the input of layer *i + 1*."""

    name: str
    layers: tuple[HwLayer, ...]

    @property
    def in_shape(self) -> tuple[int, int, int]:
        return self.layers[0].in_shape

    @property
    def out_shape(self) -> tuple[int, int, int]:
        return self.layers[-1].out_shape

    @property
    def in_type(self) -> QType:
        return self.layers[0].in_type

    @property
    def out_type(self) -> QType:
        return self.layers[-1].out_type


def run_layer(layer: HwLayer, x_hwc: np.ndarray) -> np.ndarray:
    """Golden model of one layer on an (H, W, C) int64 tensor."""
    x = np.moveaxis(np.asarray(x_hwc, dtype=np.int64).reshape(layer.in_shape), -1, 0)[None]
    if layer.kind == "conv":
        w = np.moveaxis(layer.weights, -1, 1)                         # OC, IC/g, KH, KW
        acc = K.conv2d(x, w, layer.bias, layer.stride, layer.pads, layer.dilation, layer.groups)
        if layer.thresholds is not None:
            y = K.threshold(acc, layer.thresholds, layer.out_type, layer.bipolar,
                            layer.directions())
        else:
            y = K.requantize(acc, layer.acc_frac, layer.out_type, layer.relu)
        if layer.pool is not None:
            y = layer.pool.apply_nchw(y)
    else:
        y = layer.pool.apply_nchw(x)
    y = np.moveaxis(y[0], 0, -1)
    if y.shape != tuple(layer.out_shape):
        raise AssertionError(f"{layer.name}: produced {y.shape}, declared {layer.out_shape}")
    return y


def run_reference(program: HwProgram, x_hwc: np.ndarray, keep_all: bool = False):
    """Golden model of a whole program; with ``keep_all`` the list of every layer's output."""
    outs = []
    y = np.asarray(x_hwc, dtype=np.int64)
    for layer in program.layers:
        y = run_layer(layer, y)
        outs.append(y)
    return outs if keep_all else y


def random_program(seed: int, in_shape=(12, 12, 1), in_type: QType = QType(8, False, 8),  # noqa: B008
                   w_bits: int = 8, a_bits: int = 8, spec: str = "c4k3r-m2-c8k3r-m2-f10"
                   ) -> HwProgram:
    """A random program for tests and simulation benches.

    ``spec`` is a dash-separated list: ``c<OC>k<K>[s<S>][p<P>][r]`` conv (``r`` = ReLU),
    ``m<K>[s<S>]`` max pool, ``a<K>[s<S>]`` avg pool, ``f<N>`` fully connected.
    A max/avg pool right after a conv is fused into it. Weights are random integers; biases
    random; shifts chosen so activations keep using their range.
    """
    import re

    rng = np.random.default_rng(seed)
    layers: list[HwLayer] = []
    shape = tuple(in_shape)
    t = in_type
    wt = QType(w_bits, True, w_bits - 1, narrow=True)
    for i, tok in enumerate(spec.split("-")):
        m = re.fullmatch(r"([cfma])(\d+)(?:k(\d+))?(?:s(\d+))?(?:p(\d+))?(r?)", tok)
        if not m:
            raise ValueError(f"bad program token {tok!r}")
        op, n, k, s, p, r = m.groups()
        h, w, c = shape
        if op in "ma":
            kk = int(n)
            ss = int(s) if s else kk
            pool = PoolSpec("max" if op == "m" else "avg", (kk, kk), (ss, ss))
            oh, ow = pool.out_hw(h, w)
            if layers and layers[-1].kind == "conv" and layers[-1].pool is None \
                    and not layers[-1].is_fc:
                prev = layers.pop()
                layers.append(prev.with_(pool=pool, out_shape=(oh, ow, c)))
            else:
                layers.append(HwLayer(f"pool{i}", "pool", shape, (oh, ow, c), t, t, pool=pool))
            shape = (oh, ow, c)
            continue
        fc = op == "f"
        if fc:
            shape = (1, 1, h * w * c)
            h, w, c = shape
        oc = int(n)
        kk = 1 if fc else int(k or 3)
        ss = int(s or 1)
        pp = int(p or 0)
        pads = (pp, pp, pp, pp)
        weights = rng.integers(wt.min, wt.max, size=(oc, kk, kk, c), endpoint=True)
        acc_frac = t.frac + wt.frac
        out_t = QType(a_bits, not r, a_bits - 2 if a_bits > 4 else a_bits - 1)
        terms = kk * kk * c
        # keep the requantized range busy: shift by about log2(sqrt(terms)) + value bits
        spread = np.sqrt(terms) * (t.max - t.min) / 2 * wt.max / 2
        shift = max(0, int(np.log2(max(spread, 1))) - (a_bits - 2))
        acc_frac_out = acc_frac - shift
        out_t = out_t.with_frac(acc_frac_out)
        bias = rng.integers(-(1 << (acc_frac - acc_frac_out + a_bits - 2)),
                            1 << (acc_frac - acc_frac_out + a_bits - 2), size=oc)
        layer = HwLayer(f"{'fc' if fc else 'conv'}{i}", "conv", shape, (0, 0, oc), t, out_t,
                        kernel=(kk, kk), stride=(ss, ss), pads=pads, weights=weights,
                        weight_type=wt, bias=bias, acc_frac=acc_frac,
                        acc_bits=min(64, accumulator_bits(t, wt, terms) + 1), relu=bool(r),
                        is_fc=fc)
        oh, ow = layer.conv_out_hw
        layers.append(layer.with_(out_shape=(oh, ow, oc)))
        shape = (oh, ow, oc)
        t = out_t
    return HwProgram(f"random{seed}", tuple(layers))


def random_threshold_program(seed: int, in_shape=(12, 12, 1),
                             spec: str = "c4k3-m2-c8k3-f10",
                             out_types: tuple[tuple[QType, bool], ...] = (
                                 (QType(2, False), False), (QType(2, True, 0, True), True)),
                             w_bits: int = 2, in_type: QType = QType(8, False, 0)  # noqa: B008
                             ) -> HwProgram:
    """:func:`random_program` with a comparator stage on every conv / fully connected layer
    but the last (which keeps its requantize): output types taken in turn from ``out_types``
    (``(type, bipolar)``), random non-decreasing tables around the accumulator's spread (ties
    likely), random directions; each next layer reads the codes. For tests and benches."""
    rng = np.random.default_rng(seed + 7919)
    base = random_program(seed, in_shape, in_type, w_bits, 8, spec)
    convs = [i for i, ly in enumerate(base.layers) if ly.kind == "conv"]
    layers: list[HwLayer] = []
    t = in_type
    k = 0
    for i, layer in enumerate(base.layers):
        if layer.kind != "conv":
            layers.append(layer.with_(in_type=t, out_type=t))
            continue
        terms = int(np.prod(layer.weights.shape[1:]))
        acc_bits = min(64, accumulator_bits(t, layer.weight_type, terms) + 1)
        layer = layer.with_(in_type=t, acc_frac=t.frac + layer.weight_type.frac,
                            acc_bits=acc_bits, bias=None if layer.bias is None else
                            rng.integers(-terms, terms + 1, layer.out_shape[2]))
        if i == convs[-1]:
            layers.append(layer.with_(out_type=QType(32, True, layer.acc_frac), relu=False))
            continue
        out, bipolar = out_types[k % len(out_types)]
        k += 1
        n = 1 if bipolar else out.max - out.min
        spread = max(2, int(np.sqrt(terms) * max(abs(t.min), abs(t.max)) *
                            max(abs(layer.weight_type.min), layer.weight_type.max)))
        oc = layer.out_shape[2]
        tab = np.sort(rng.integers(-spread, spread + 1, (oc, n)), axis=1)
        layer = layer.with_(out_type=out, relu=False, thresholds=tab,
                            threshold_dir=rng.choice([-1, 1], oc), bipolar=bipolar)
        if layer.pool is not None and layer.pool.kind == "avg":
            layer = layer.with_(pool=replace(layer.pool, kind="max"))
        layers.append(layer)
        t = out
    return HwProgram(f"random_thr{seed}", tuple(layers))


def random_one_bit_program(seed: int, in_shape=(6, 6, 4), spec: str = "c8k3-m2-f16-f6"
                           ) -> HwProgram:
    """A random 1-bit program (FINN's 1w1a): bipolar input, ±1 weights, bipolar thresholds
    between layers, so every conv / fully connected layer is an XNOR-popcount layer
    (:meth:`HwLayer.xnor`); a raw accumulator at the end. Inputs must be ±1 codes."""
    bip = QType(2, True, 0, True)
    p = random_threshold_program(seed, in_shape=in_shape, spec=spec,
                                 out_types=((bip, True),), in_type=bip)
    rng = np.random.default_rng(seed)
    layers = [ly.with_(weights=rng.choice(np.array([-1, 1]), ly.weights.shape), in_bipolar=True)
              if ly.kind == "conv" else ly for ly in p.layers]
    return HwProgram(f"random_1bit{seed}", tuple(layers))


# --------------------------------------------------------------------------- serialization
def _layer_to_json(layer: HwLayer, blobs: list[np.ndarray], offset: list[int]) -> dict:
    d = {
        "name": layer.name, "kind": layer.kind, "in_shape": list(layer.in_shape),
        "out_shape": list(layer.out_shape), "in_type": str(layer.in_type),
        "out_type": str(layer.out_type), "kernel": list(layer.kernel),
        "stride": list(layer.stride), "pads": list(layer.pads), "dilation": list(layer.dilation),
        "groups": layer.groups, "acc_frac": layer.acc_frac, "acc_bits": layer.acc_bits,
        "relu": layer.relu, "is_fc": layer.is_fc, "bipolar": layer.bipolar,
        "in_bipolar": layer.in_bipolar,
        "weight_type": str(layer.weight_type) if layer.weight_type else None,
        "pool": None if layer.pool is None else {
            "kind": layer.pool.kind, "kernel": list(layer.pool.kernel),
            "stride": list(layer.pool.stride), "pads": list(layer.pool.pads),
            "ceil_mode": layer.pool.ceil_mode,
            "count_include_pad": layer.pool.count_include_pad},
    }
    for key in ("weights", "bias", "thresholds", "threshold_dir"):
        arr = getattr(layer, key)
        if arr is None:
            d[key] = None
            continue
        dt = _smallest_int_dtype(arr)
        a = np.ascontiguousarray(arr, dtype=dt)
        d[key] = {"offset": offset[0], "shape": list(a.shape), "dtype": dt.str}
        blobs.append(a)
        offset[0] += a.nbytes
    return d


def _smallest_int_dtype(arr: np.ndarray) -> np.dtype:
    """Little-endian int8/16/32/64 that holds every value (VGG16's weights: 138 MB, not 1.1 GB)."""
    lo, hi = (int(arr.min()), int(arr.max())) if arr.size else (0, 0)
    for dt in ("<i1", "<i2", "<i4"):
        info = np.iinfo(dt)
        if info.min <= lo and hi <= info.max:
            return np.dtype(dt)
    return np.dtype("<i8")


def program_to_json(program: HwProgram) -> tuple[dict, bytes]:
    """``(description, blob)``: JSON-able layer list and the little-endian integer blob it refers
    to by byte offset and dtype (written as ``program.bin`` in a build directory)."""
    blobs: list[np.ndarray] = []
    offset = [0]
    layers = [_layer_to_json(layer, blobs, offset) for layer in program.layers]
    return {"name": program.name, "layers": layers}, b"".join(b.tobytes() for b in blobs)


def program_from_json(desc: dict, blob: bytes) -> HwProgram:
    """Inverse of :func:`program_to_json`."""
    def arr(ref):
        if ref is None:
            return None
        n = int(np.prod(ref["shape"]))
        dt = np.dtype(ref.get("dtype", "<i8"))
        return np.frombuffer(blob, dt, n, ref["offset"]).reshape(ref["shape"]).astype(np.int64)
    layers = []
    for d in desc["layers"]:
        p = d["pool"]
        layers.append(HwLayer(
            d["name"], d["kind"], tuple(d["in_shape"]), tuple(d["out_shape"]),
            QType.parse(d["in_type"]), QType.parse(d["out_type"]), tuple(d["kernel"]),
            tuple(d["stride"]), tuple(d["pads"]), tuple(d["dilation"]), d["groups"],
            arr(d["weights"]), QType.parse(d["weight_type"]) if d["weight_type"] else None,
            arr(d["bias"]), d["acc_frac"], d["acc_bits"], d["relu"],
            None if p is None else PoolSpec(p["kind"], tuple(p["kernel"]), tuple(p["stride"]),
                                            tuple(p["pads"]), p["ceil_mode"],
                                            p["count_include_pad"]),
            d["is_fc"], thresholds=arr(d.get("thresholds")),
            threshold_dir=arr(d.get("threshold_dir")), bipolar=bool(d.get("bipolar", False)),
            in_bipolar=bool(d.get("in_bipolar", False))))
    return HwProgram(desc["name"], tuple(layers))
