# SPDX-License-Identifier: Apache-2.0
"""Binary image of a program for the HLS overlay (``hls/include/edgepool/overlay.h``).

The PYNQ driver writes three buffers and starts the overlay with ``n_layers``:

* ``desc``: ``n_layers`` descriptors of :data:`DESC_WORDS` little-endian 32-bit words
  (layout in :func:`pack_descriptor` and ``hls/README.md``);
* ``wmem``: weight words of ``PE*SIMD*W_BITS`` bits (lane ``p*SIMD + s`` =
  ``w[f*PE + p, ky, kx, cf*SIMD + s]``, word index ``f*KH*KW*CF + (ky*KW + kx)*CF + cf``);
  ``bmem``: int64 biases (accumulator fraction bits), one per output channel;
* ``act``: activations, HWC, ``SIMD`` elements of ``ACT_BITS`` per word, i.e. exactly
  ``accel.axis.pack(x, ACT_BITS)`` bytes; layers ping-pong between two regions. A final layer
  that outputs its raw accumulator (wider than ``ACT_BITS``) writes ``OUT_BITS`` containers
  instead (descriptor field ``out_bits``): ``accel.axis.pack(y, OUT_BITS)`` bytes.

Conv layers with a single output pixel (fully connected layers) stream their weights from DDR
through the MAC array (flag ``F_W_STREAM``): each weight is used once per image, so nothing is
buffered on chip and the weight buffer only has to hold the tiles of real convolutions.

:func:`plan_program` is the ONE planning function: channel padding (:mod:`.pad`) plus
:func:`plan_overlay`; the hls stage, the bundle, the PYNQ driver and the simulated device all
use it (or the files it produced).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError
from . import axis
from .engine import OverlayParams
from .pad import pad_program
from .program import HwLayer, HwProgram

DESC_WORDS = 40
DESC_MAGIC = 0xED900001
KIND_CONV, KIND_POOL = 0, 1
F_RELU, F_IN_SIGNED, F_OUT_SIGNED, F_POOL, F_POOL_AVG, F_COUNT_PAD = 1, 2, 4, 8, 16, 32
F_RAW_ACC = 64          # raw accumulator output (wider than 32 bits): no saturation
F_W_STREAM = 128        # weights streamed from DDR through the MAC array (1-pixel outputs)

#: Field name of every descriptor word (index = word offset); ``reserved*`` are written as 0.
FIELDS = ("magic", "kind", "flags", "in_h", "in_w", "in_c", "out_c", "conv_oh", "conv_ow",
          "kh", "kw", "sh", "sw", "dh", "dw", "pt", "pl", "pb", "pr", "shift", "out_lo", "out_hi",
          "pool_kh", "pool_kw", "pool_sh", "pool_sw", "pool_pt", "pool_pl", "pool_pb", "pool_pr",
          "pool_oh", "pool_ow", "tile_nf", "in_addr", "out_addr", "w_addr", "b_addr",
          "out_bits", "reserved38", "reserved39")
assert len(FIELDS) == DESC_WORDS


def _line_words(h_w_cf: tuple[int, int, int], k: int, s: int, d: int) -> int:
    return (d * (k - 1) + 1 + s) * h_w_cf[1] * h_w_cf[2]


@dataclass(frozen=True)
class LayerWords:
    """What one layer asks of the overlay's buffers, in words, at a given SIMD / PE: the one
    place the overlay's buffer formulas live (sizing, exploration and checks all use it).

    ``lb``: conv line buffer; ``splb``: standalone-pool line buffer; ``kkcf``: weight words
    of one PE fold; ``nf``: PE folds of the layer; ``plb_fold``: fused-pool line buffer per
    fold; ``pool_window``: taps of the pool window (0 without a pool)."""

    lb: int = 0
    splb: int = 0
    kkcf: int = 0
    nf: int = 0
    plb_fold: int = 0
    pool_window: int = 0


def layer_words(layer: HwLayer, simd: int, pe: int) -> LayerWords:
    """The buffer demands of ``layer`` on an overlay with ``simd`` / ``pe`` lanes."""
    h, w, c = layer.in_shape
    cf = c // simd
    pool = layer.pool
    window = pool.kernel[0] * pool.kernel[1] if pool is not None else 0
    if layer.kind != "conv":
        splb = _line_words((h, w, cf), pool.kernel[0], pool.stride[0], 1) if pool else 0
        return LayerWords(splb=splb, pool_window=window)
    plb_fold = (pool.kernel[0] + pool.stride[0]) * layer.conv_out_hw[1] if pool else 0
    return LayerWords(lb=_line_words((h, w, cf), layer.kernel[0], layer.stride[0],
                                     layer.dilation[0]),
                      kkcf=layer.kernel[0] * layer.kernel[1] * cf,
                      nf=layer.out_shape[2] // pe, plb_fold=plb_fold, pool_window=window)


def streams_weights(layer: HwLayer) -> bool:
    """Whether the overlay streams ``layer``'s weights from DDR (``F_W_STREAM``): a conv whose
    output has a single pixel uses every weight once, so buffering a tile gains nothing."""
    return layer.kind == "conv" and tuple(layer.conv_out_hw) == (1, 1)


def output_bits(layer: HwLayer, p: OverlayParams) -> int:
    """DDR container of ``layer``'s output: ``ACT_BITS``, or the (wider) container of a raw
    accumulator output (``OUT_BITS``; only a final layer may write one)."""
    return max(p.act_bits, axis.container_bits(layer.out_type.bits))


def check_layer(layer: HwLayer, p: OverlayParams) -> None:
    """Raise :class:`ConfigError` if ``layer`` cannot run on the overlay ``p``."""
    h, w, c = layer.in_shape
    oc = layer.out_shape[2]
    problems = []
    if c % p.simd:
        problems.append(f"input channels {c} not a multiple of SIMD {p.simd}")
    t = layer.in_type
    if t.bits > p.act_bits or (not t.signed and t.bits == p.act_bits and t.bits == 32):
        problems.append(f"activation type {t} wider than the {p.act_bits}-bit container")
    ob = output_bits(layer, p)
    t = layer.out_type
    if ob > p.out_container or (not t.signed and t.bits == ob and t.bits >= 32):
        problems.append(f"output type {t} wider than the {p.out_container}-bit output container")
    if ob > p.act_bits and (layer.kind != "conv" or layer.pool is not None):
        problems.append(f"a {ob}-bit output container is only supported for a conv without pool")
    if layer.kind == "conv":
        if oc % p.pe:
            problems.append(f"output channels {oc} not a multiple of PE {p.pe}")
        if layer.groups != 1:
            problems.append("grouped convolution is not supported by the overlay")
        if layer.thresholds is not None:
            problems.append("a threshold activation (comparator stage) does not run on the "
                            "overlay, whose descriptors requantize by shift: build with the "
                            "dataflow engine (RTL or HLS), or keep this layer on the CPU")
        if layer.weight_type is not None and layer.weight_type.bits > p.w_bits:
            problems.append(f"weights {layer.weight_type} wider than W_BITS {p.w_bits}")
        if layer.acc_bits > p.acc_bits:
            problems.append(f"needs a {layer.acc_bits}-bit accumulator, ACC_BITS {p.acc_bits}")
        lw = layer_words(layer, p.simd, p.pe).lb
        if lw > p.lb_words:
            problems.append(f"conv line buffer needs {lw} words > LB_WORDS {p.lb_words}")
    elif layer.pool is not None:
        lw = layer_words(layer, p.simd, p.pe).splb
        if lw > p.splb_words:
            problems.append(f"pool line buffer needs {lw} words > SPLB_WORDS {p.splb_words}")
    if p.pe % p.simd:
        problems.append(f"PE {p.pe} must be a multiple of SIMD {p.simd}")
    if problems:
        raise ConfigError(f"{layer.name}: " + "; ".join(problems),
                          "change the overlay capacities (OverlayParams) or the model")


def choose_tile_nf(layer: HwLayer, p: OverlayParams) -> int:
    """Largest number of PE-channel folds per tile that fits the weight (unless the weights
    stream, :func:`streams_weights`), bias and fused-pool buffers (1 for a pool layer)."""
    if layer.kind != "conv":
        return 1
    lw = layer_words(layer, p.simd, p.pe)
    kkcf = lw.kkcf
    nf = min(lw.nf, p.max_tile_nf)
    if not streams_weights(layer):
        nf = min(nf, p.wbuf_words // kkcf)
    if layer.pool is not None:
        nf = min(nf, p.plb_words // lw.plb_fold)
    if nf < 1:
        raise ConfigError(f"{layer.name}: one fold of {p.pe} output channels does not fit "
                          f"(weights {kkcf} words, WBUF_WORDS {p.wbuf_words})",
                          "raise WBUF_WORDS / PLB_WORDS or lower SIMD/PE")
    return nf


def pack_descriptor(layer: HwLayer, p: OverlayParams, *, in_addr: int, out_addr: int,
                    w_addr: int = 0, b_addr: int = 0, tile_nf: int | None = None) -> np.ndarray:
    """The 40-word descriptor of ``layer`` (uint32; signed fields in two's complement). An
    output wider than 32 bits sets ``F_RAW_ACC`` (no saturation: the int32 ``out_lo/out_hi``
    fields cannot describe it); ``out_bits`` is the output's DDR container."""
    check_layer(layer, p)
    h, w, c = layer.in_shape
    v = dict.fromkeys(FIELDS, 0)
    raw = layer.out_type.bits > 32
    v.update(magic=DESC_MAGIC, in_h=h, in_w=w, in_c=c, out_c=layer.out_shape[2],
             in_addr=in_addr, out_addr=out_addr, w_addr=w_addr, b_addr=b_addr,
             out_lo=0 if raw else layer.out_type.min, out_hi=0 if raw else layer.out_type.max,
             out_bits=output_bits(layer, p))
    flags = (F_IN_SIGNED if layer.in_type.signed else 0) | \
        (F_OUT_SIGNED if layer.out_type.signed else 0) | (F_RAW_ACC if raw else 0)
    pool = layer.pool
    if layer.kind == "conv":
        oh, ow = layer.conv_out_hw
        v.update(kind=KIND_CONV, conv_oh=oh, conv_ow=ow, kh=layer.kernel[0], kw=layer.kernel[1],
                 sh=layer.stride[0], sw=layer.stride[1], dh=layer.dilation[0],
                 dw=layer.dilation[1], pt=layer.pads[0], pl=layer.pads[1], pb=layer.pads[2],
                 pr=layer.pads[3], shift=layer.acc_frac - layer.out_type.frac,
                 tile_nf=choose_tile_nf(layer, p) if tile_nf is None else tile_nf)
        flags |= (F_RELU if layer.relu else 0) | (F_W_STREAM if streams_weights(layer) else 0)
    else:
        oh, ow = h, w
        v.update(kind=KIND_POOL, conv_oh=h, conv_ow=w, tile_nf=1)
    if pool is not None:
        poh, pow_ = pool.out_hw(oh, ow)
        v.update(pool_kh=pool.kernel[0], pool_kw=pool.kernel[1], pool_sh=pool.stride[0],
                 pool_sw=pool.stride[1], pool_pt=pool.pads[0], pool_pl=pool.pads[1],
                 pool_pb=pool.pads[2], pool_pr=pool.pads[3], pool_oh=poh, pool_ow=pow_)
        flags |= F_POOL | (F_POOL_AVG if pool.kind == "avg" else 0) | \
            (F_COUNT_PAD if pool.count_include_pad else 0)
    v["flags"] = flags
    return np.array([v[f] & 0xFFFFFFFF for f in FIELDS], dtype=np.uint32)


def unpack_descriptor(words: np.ndarray) -> dict[str, int]:
    """Inverse of :func:`pack_descriptor` (signed fields sign-extended)."""
    words = np.asarray(words, dtype=np.uint32)
    out = {f: int(x) for f, x in zip(FIELDS, words, strict=True)}
    for f in ("shift", "out_lo", "out_hi"):
        out[f] = out[f] - (1 << 32) if out[f] >= 1 << 31 else out[f]
    return out


def pack_lanes(values: np.ndarray, bits: int) -> bytes:
    """Rows of ``values`` (2-D, one row per word) as little-endian words of ``row * bits`` bits,
    lane ``i`` in bits ``[i*bits, (i+1)*bits)`` (two's complement truncated to ``bits``).
    Vectorized: byte-aligned widths are a dtype cast, other widths a bit-level pack."""
    v = np.asarray(values, dtype=np.int64)
    if (v.shape[-1] * bits) % 8:
        raise ConfigError(f"a word of {v.shape[-1]} x {bits} bits is not whole bytes")
    if bits in (8, 16, 32, 64):
        return np.ascontiguousarray(v).astype(f"<i{bits // 8}").tobytes()
    u = (v & ((1 << bits) - 1)).astype(np.uint64)
    bit = (u[..., None] >> np.arange(bits, dtype=np.uint64)) & np.uint64(1)
    return np.packbits(bit.astype(np.uint8).reshape(v.shape[0], -1), axis=1,
                       bitorder="little").tobytes()


def pack_weights(layer: HwLayer, p: OverlayParams) -> bytes:
    """Weight words of a conv layer (little-endian, ``PE*SIMD*W_BITS/8`` bytes each)."""
    wts = np.asarray(layer.weights)                             # OC, KH, KW, IC
    oc, kh, kw, ic = wts.shape
    # (F, PE, KH, KW, CF, SIMD) -> (F, KH, KW, CF, PE, SIMD): one row per word, lanes p*SIMD+s
    t = wts.reshape(oc // p.pe, p.pe, kh, kw, ic // p.simd, p.simd).transpose(0, 2, 3, 4, 1, 5)
    return pack_lanes(t.reshape(-1, p.pe * p.simd), p.w_bits)


@dataclass(frozen=True)
class OverlayImage:
    """Everything the driver writes for one program."""

    desc: np.ndarray             # uint32, n_layers * DESC_WORDS
    weights: bytes               # weight memory (words of PE*SIMD*W_BITS bits)
    weight_words: int
    bias: np.ndarray             # int64
    act_words: int               # activation buffer size in words (both ping-pong regions)
    in_addr: int                 # word address of the input map
    out_addr: int                # word address of the final output map
    n_layers: int
    in_shape: tuple[int, int, int] = (0, 0, 0)    # (H, W, C) the overlay reads (padded)
    out_shape: tuple[int, int, int] = (0, 0, 0)   # (H, W, C) it writes (padded)
    in_bits: int = 8             # input element container (ACT_BITS)
    out_bits: int = 8            # final output element container (ACT_BITS or OUT_BITS)

    def arrays(self) -> dict[str, np.ndarray]:
        """The image as named arrays (``overlay_image.npz`` of a bundle)."""
        return {"desc": self.desc, "weights": np.frombuffer(self.weights, np.uint8),
                "bias": self.bias, "act_words": np.int64(self.act_words),
                "in_addr": np.int64(self.in_addr), "out_addr": np.int64(self.out_addr),
                "n_layers": np.int64(self.n_layers),
                "in_shape": np.asarray(self.in_shape, np.int64),
                "out_shape": np.asarray(self.out_shape, np.int64),
                "in_bits": np.int64(self.in_bits), "out_bits": np.int64(self.out_bits)}


def plan_overlay(program: HwProgram, p: OverlayParams) -> OverlayImage:
    """Descriptors, weights and biases of ``program`` (channels already multiples of SIMD / PE:
    see :func:`plan_program`); activations ping-pong between region A (word 0) and region B
    (after the largest map, the final output counted in its own container)."""
    maps = [program.in_shape] + [layer.out_shape for layer in program.layers]
    last_bits = output_bits(program.layers[-1], p)
    region = max(int(np.prod(s)) // p.simd for s in maps)
    region = max(region, int(np.prod(maps[-1])) * last_bits // (p.act_bits * p.simd))
    descs, wparts, biases = [], [], []
    w_addr = b_addr = 0
    word_bytes = p.pe * p.simd * p.w_bits // 8
    for i, layer in enumerate(program.layers):
        src, dst = (0, region) if i % 2 == 0 else (region, 0)
        descs.append(pack_descriptor(layer, p, in_addr=src, out_addr=dst, w_addr=w_addr,
                                     b_addr=b_addr))
        if i + 1 < len(program.layers) and output_bits(layer, p) != p.act_bits:
            raise ConfigError(f"{layer.name}: only the final layer may write a "
                              f"{output_bits(layer, p)}-bit output container")
        if layer.kind == "conv":
            wb = pack_weights(layer, p)
            wparts.append(wb)
            w_addr += len(wb) // word_bytes
            b = np.zeros(layer.out_shape[2], np.int64) if layer.bias is None else layer.bias
            biases.append(np.asarray(b, np.int64))
            b_addr += layer.out_shape[2]
    n = len(program.layers)
    return OverlayImage(np.concatenate(descs), b"".join(wparts), w_addr,
                        np.concatenate(biases) if biases else np.zeros(0, np.int64),
                        2 * region, 0, region if n % 2 else 0, n,
                        tuple(program.in_shape), tuple(program.out_shape), p.act_bits,
                        last_bits)


@dataclass(frozen=True)
class OverlayPlan:
    """:func:`plan_program`'s result: the padded program the overlay runs, the padding notes
    and its memory image."""

    program: HwProgram
    notes: tuple[str, ...]
    image: OverlayImage


def plan_program(program: HwProgram, p: OverlayParams) -> OverlayPlan:
    """THE overlay plan of an (unpadded) lowered program: channels zero-padded to SIMD / PE
    (exact, :func:`edgepool.accel.pad.pad_program`), then :func:`plan_overlay`. Used by
    the hls stage (desc.bin / weights.bin / bias.bin), the bundle (``overlay_image.npz``), the
    PYNQ driver and the simulated device."""

    padded, notes = pad_program(program, p.pe, p.simd)
    return OverlayPlan(padded, tuple(notes), plan_overlay(padded, p))


def pack_activations(x_hwc: np.ndarray, p: OverlayParams, signed: bool) -> bytes:
    """An (H, W, C) map as activation-memory bytes (the stream format's containers)."""
    return axis.pack(np.asarray(x_hwc).ravel(), p.act_bits, signed)
