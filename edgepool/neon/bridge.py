# SPDX-License-Identifier: Apache-2.0
"""Python access to the NEON kernel library in ``neon/``.

Two ways to run a kernel, both from the same C sources:

* **native** (x86 or any host): the library compiled with SIMDe into a shared object and called
  through ctypes (:func:`run_native`, and the one-call helpers :func:`maxpool`, :func:`avgpool`,
  :func:`global_pool`, :func:`conv`, :func:`fc`, :func:`requantize`, :func:`conv_maxpool`);
* **aarch64**: a static driver cross-compiled with ``aarch64-linux-gnu-gcc`` and run under
  ``qemu-aarch64``; :func:`run_aarch64` batches any number of operations into one invocation.

An operation is an :class:`Op`: the flat int32 descriptor of ``edgepool_neon.h`` plus its input
arrays. Builders (:func:`maxpool_op` ...) take channels-last (H, W, C) arrays and ONNX attribute
meanings (pads ``(top, left, bottom, right)``). Builds are cached by
:func:`edgepool.toolchain.cached_build` (kind ``neon``) under a hash of the sources, the flags
and the compiler version.
"""

from __future__ import annotations

import ctypes
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import toolchain
from ..ir.kernels import pool_output_size
from ..ir.qtype import QType

NEON_DIR = toolchain.REPO_ROOT / "neon"
SOURCES = sorted((NEON_DIR / "src").glob("*.c"))
HEADERS = sorted((NEON_DIR / "src").glob("*.h")) + [NEON_DIR / "include" / "edgepool_neon.h"]
DRIVER = NEON_DIR / "driver" / "ep_driver.c"
CFLAGS = ["-O2", "-std=c11", "-Wall", "-Wextra", "-Werror", "-pthread"]

# descriptor slots (edgepool_neon.h, EP_D_*)
D_COUNT = 40
(D_OP, D_DTYPE, D_ALGO, D_H, D_W, D_C, D_KH, D_KW, D_SH, D_SW, D_PT, D_PL, D_PB, D_PR, D_DH, D_DW,
 D_CEIL, D_CIP, D_OC, D_GROUPS, D_RQ, D_RQ_SHIFT, D_RQ_RELU, D_RQ_QMIN, D_RQ_QMAX, D_RQ_OUT,
 D_PKH, D_PKW, D_PSH, D_PSW, D_PPT, D_PPL, D_PPB, D_PPR, D_PCEIL, D_PALGO, D_N, D_THREADS,
 D_FLAGS, D_WBITS) = range(40)
F_PREPACKED, F_NARROW = 1, 2
OP_MAXPOOL, OP_AVGPOOL, OP_GLOBAL_MAX, OP_GLOBAL_AVG, OP_CONV, OP_FC = 1, 2, 3, 4, 5, 6
OP_REQUANT32, OP_REQUANT64, OP_CONV_MAXPOOL, OP_THRESHOLD = 7, 8, 9, 10
OP_FC_XNOR = 11
ALGOS = {"auto": 0, "direct": 1, "vanherk": 2, "sliding": 3, "im2col": 4, "rb": 5, "wino": 6,
         "dw": 7}
STATUS = {-1: "invalid parameters (EP_EINVAL)", -2: "unsupported type (EP_ETYPE)",
          -3: "empty output (EP_ESHAPE)",
          -4: "a weight outside its declared bit width, or an accumulator that could overflow "
              "(EP_ERANGE): declare more weight bits or use 16-bit arithmetic"}
DTYPES = {np.dtype(np.int8): 0, np.dtype(np.uint8): 1, np.dtype(np.int16): 2,
          np.dtype(np.uint16): 3, np.dtype(np.int32): 4, np.dtype(np.int64): 5,
          np.dtype(np.float32): 6}
CODE_DTYPE = {v: k for k, v in DTYPES.items()}
Pads = tuple[int, int, int, int]


class NeonError(RuntimeError):
    """A kernel returned an error status or a build failed."""


# --------------------------------------------------------------------------- builds
def _cached(kind: str, name: str, cc: str, flags: list[str], srcs: list[Path]) -> Path:
    """``cc flags srcs -lm -o name``, cached by :func:`edgepool.toolchain.cached_build`."""
    key = toolchain.content_key(files=SOURCES + HEADERS + [DRIVER], texts=[name], flags=flags,
                                tools=[cc])

    def build(tmp: Path) -> None:
        cmd = [cc, *flags, *[str(s) for s in srcs], "-lm", "-o", str(tmp / name)]
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode != 0:
            raise NeonError(f"build failed: {' '.join(cmd)}\n{res.stderr}")

    return toolchain.cached_build(kind, key, build) / name


def build_native(sanitize: bool = False, extra_flags: Sequence[str] = ()) -> Path:
    """The SIMDe shared library (cached); ``sanitize`` builds it with ASan + UBSan."""
    cc = toolchain.require("gcc")
    inc = toolchain.require("simde")
    flags = list(CFLAGS) + ["-fPIC", "-shared", f"-I{NEON_DIR / 'include'}",
                            f"-I{NEON_DIR / 'src'}", f"-I{inc}"] + list(extra_flags)
    if sanitize:
        flags = [f for f in flags if f != "-O2"] + [
            "-O1", "-g", "-fsanitize=address,undefined", "-fno-sanitize-recover=undefined",
            "-fno-omit-frame-pointer"]
    else:
        flags.append("-march=native")
    return _cached("neon", "libedgepool_neon.so", cc, flags, SOURCES)


def build_aarch64_driver(extra_flags: Sequence[str] = ()) -> Path:
    """The static aarch64 test driver (``aarch64-linux-gnu-gcc -O2 -static -march=armv8-a``)."""
    cc = toolchain.require("aarch64-linux-gnu-gcc")
    flags = list(CFLAGS) + ["-static", "-march=armv8-a", "-mtune=cortex-a53",
                            f"-I{NEON_DIR / 'include'}", f"-I{NEON_DIR / 'src'}"]
    flags += list(extra_flags)
    return _cached("neon", "ep_driver.aarch64", cc, flags, SOURCES + [DRIVER])


_LIBS: dict[str, ctypes.CDLL] = {}


def load(sanitize: bool = False) -> ctypes.CDLL:
    """The native library, built on first use. (A sanitized build can only be loaded into a
    process started with ``LD_PRELOAD=libasan.so``; tests run it in a subprocess.)"""
    key = "asan" if sanitize else "plain"
    if key not in _LIBS:
        lib = ctypes.CDLL(str(build_native(sanitize)))
        i32p = ctypes.POINTER(ctypes.c_int32)
        lib.ep_desc_out_bytes.argtypes = [i32p]
        lib.ep_desc_out_bytes.restype = ctypes.c_longlong
        lib.ep_desc_scratch_bytes.argtypes = [i32p]
        lib.ep_desc_scratch_bytes.restype = ctypes.c_longlong
        lib.ep_desc_run.argtypes = [i32p, ctypes.POINTER(ctypes.c_void_p), ctypes.c_void_p,
                                    ctypes.c_void_p]
        lib.ep_desc_run.restype = ctypes.c_int
        lib.ep_desc_conv_algo.argtypes = [i32p]
        lib.ep_desc_conv_algo.restype = ctypes.c_int
        lib.ep_desc_conv_cost.argtypes = [i32p, ctypes.c_int]
        lib.ep_desc_conv_cost.restype = ctypes.c_double
        lib.ep_desc_packed_bytes.argtypes = [i32p]
        lib.ep_desc_packed_bytes.restype = ctypes.c_longlong
        lib.ep_desc_pack.argtypes = [i32p, ctypes.c_void_p, ctypes.c_void_p]
        lib.ep_desc_pack.restype = ctypes.c_int
        _LIBS[key] = lib
    return _LIBS[key]


# --------------------------------------------------------------------------- operations
@dataclass
class Op:
    """One kernel call: descriptor, inputs (x, weights, bias), output dtype and shape."""

    desc: np.ndarray
    inputs: list[np.ndarray | None]
    out_dtype: np.dtype
    out_shape: tuple[int, ...]
    meta: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Requant:
    """``ep_requant``: shift = acc_frac - out_frac, ReLU, saturation range, output dtype."""

    shift: int
    out: np.dtype
    qmin: int
    qmax: int
    relu: bool = False

    @staticmethod
    def to(acc_frac: int, out: QType, relu: bool = False) -> Requant:
        """The requantizer of :func:`edgepool.ir.kernels.requantize` for ``out``."""
        return Requant(acc_frac - out.frac, np.dtype(out.storage_dtype()), out.min, out.max, relu)


def _desc(op: int, dtype: np.dtype, algo: str = "auto") -> np.ndarray:
    d = np.zeros(D_COUNT, np.int32)
    d[D_OP] = op
    d[D_DTYPE] = DTYPES[np.dtype(dtype)]
    d[D_ALGO] = ALGOS[algo]
    d[[D_SH, D_SW, D_DH, D_DW, D_GROUPS]] = 1
    return d


def _set_rq(d: np.ndarray, rq: Requant | None) -> None:
    if rq is None:
        return
    d[D_RQ] = 1
    d[D_RQ_SHIFT] = rq.shift
    d[D_RQ_RELU] = int(rq.relu)
    d[D_RQ_QMIN] = rq.qmin
    d[D_RQ_QMAX] = rq.qmax
    d[D_RQ_OUT] = DTYPES[np.dtype(rq.out)]


def pool_out_size(size: int, k: int, s: int, pb: int, pe: int, d: int, ceil_mode: bool) -> int:
    """Same rule as :func:`edgepool.ir.kernels.pool_output_size`."""

    return pool_output_size(size, k, s, pb, pe, d, ceil_mode)


def _pool_desc(op: int, x: np.ndarray, kernel, strides, pads: Pads, dilations, ceil_mode: bool,
               count_include_pad: bool, algo: str) -> tuple[np.ndarray, tuple[int, int, int]]:
    h, w, c = x.shape
    d = _desc(op, x.dtype, algo)
    d[[D_H, D_W, D_C]] = (h, w, c)
    d[[D_KH, D_KW]] = kernel
    d[[D_SH, D_SW]] = strides
    d[[D_PT, D_PL, D_PB, D_PR]] = pads
    d[[D_DH, D_DW]] = dilations
    d[D_CEIL] = int(ceil_mode)
    d[D_CIP] = int(count_include_pad)
    oh = pool_out_size(h, kernel[0], strides[0], pads[0], pads[2], dilations[0], ceil_mode)
    ow = pool_out_size(w, kernel[1], strides[1], pads[1], pads[3], dilations[1], ceil_mode)
    return d, (oh, ow, c)


def maxpool_op(x: np.ndarray, kernel, strides, pads: Pads = (0, 0, 0, 0), dilations=(1, 1),
               ceil_mode: bool = False, algo: str = "auto") -> Op:
    """Max pooling of an (H, W, C) int8/uint8/int16/uint16/float32 array."""
    x = np.ascontiguousarray(x)
    d, shape = _pool_desc(OP_MAXPOOL, x, kernel, strides, pads, dilations, ceil_mode, False, algo)
    return Op(d, [x], x.dtype, shape)


def avgpool_op(x: np.ndarray, kernel, strides, pads: Pads = (0, 0, 0, 0), dilations=(1, 1),
               ceil_mode: bool = False, count_include_pad: bool = False) -> Op:
    """Average pooling (integer: exact, rounded half to even)."""
    x = np.ascontiguousarray(x)
    d, shape = _pool_desc(OP_AVGPOOL, x, kernel, strides, pads, dilations, ceil_mode,
                          count_include_pad, "auto")
    return Op(d, [x], x.dtype, shape)


def global_pool_op(x: np.ndarray, kind: str) -> Op:
    """Global ``"max"`` or ``"avg"`` pooling of (H, W, C) to (C,)."""
    x = np.ascontiguousarray(x)
    h, w, c = x.shape
    d = _desc(OP_GLOBAL_MAX if kind == "max" else OP_GLOBAL_AVG, x.dtype)
    d[[D_H, D_W, D_C]] = (h, w, c)
    return Op(d, [x], x.dtype, (c,))


def _acc_dtype(dtype: np.dtype) -> np.dtype:
    return {np.dtype(np.int8): np.dtype(np.int32), np.dtype(np.int16): np.dtype(np.int64),
            np.dtype(np.float32): np.dtype(np.float32)}[np.dtype(dtype)]


def _conv_desc(op: int, x: np.ndarray, w: np.ndarray, strides, pads: Pads, dilations,
               groups: int, algo: str) -> tuple[np.ndarray, int, int]:
    h, wd, c = x.shape
    oc, kh, kw, _ = w.shape
    d = _desc(op, x.dtype, algo)
    d[[D_H, D_W, D_C, D_OC]] = (h, wd, c, oc)
    d[[D_KH, D_KW]] = (kh, kw)
    d[[D_SH, D_SW]] = strides
    d[[D_PT, D_PL, D_PB, D_PR]] = pads
    d[[D_DH, D_DW]] = dilations
    d[D_GROUPS] = groups
    oh = pool_out_size(h, kh, strides[0], pads[0], pads[2], dilations[0], False)
    ow = pool_out_size(wd, kw, strides[1], pads[1], pads[3], dilations[1], False)
    return d, oh, ow


def _conv_inputs(x, w, bias) -> list[np.ndarray | None]:
    acc = _acc_dtype(x.dtype)
    b = None if bias is None else np.ascontiguousarray(bias, dtype=acc)
    return [np.ascontiguousarray(x), np.ascontiguousarray(w, dtype=x.dtype), b]


def conv_op(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None = None, strides=(1, 1),
            pads: Pads = (0, 0, 0, 0), dilations=(1, 1), groups: int = 1,
            requant: Requant | None = None, algo: str = "sliding", threads: int = 1,
            wbits: int = 0, narrow: bool = False, prepack: bool = False) -> Op:
    """Convolution of (H, W, IC) by weights (OC, KH, KW, IC/groups) (HwLayer layout); int8 →
    int32 accumulators, int16 → int64, float32; with ``requant`` the requantized output.
    ``algo="auto"`` lets the C cost model pick (``"rb"``: register-blocked); ``threads`` splits
    the output (RB); ``wbits`` declares the weights' bit width (e.g. 4) and ``narrow`` their
    symmetric range (int8: [-127, 127]: the dot-product tile); ``prepack`` packs the weights
    here with :func:`pack_conv_rb` (the build-time step) and flags the descriptor."""
    d, oh, ow = _conv_desc(OP_CONV, x, w, strides, pads, dilations, groups, algo)
    _set_rq(d, requant)
    d[D_THREADS], d[D_WBITS] = threads, wbits
    if narrow:
        d[D_FLAGS] |= F_NARROW
    dt = _acc_dtype(x.dtype) if requant is None or x.dtype == np.float32 else requant.out
    op = Op(d, _conv_inputs(x, w, bias), np.dtype(dt), (oh, ow, w.shape[0]))
    if prepack:
        _prepack_conv(op)
    return op


def conv_algo(op: Op) -> str:
    """The algorithm the C side runs for a conv descriptor (AUTO resolved by its cost model)."""
    code = load().ep_desc_conv_algo(op.desc.ctypes.data_as(ctypes.POINTER(ctypes.c_int32)))
    return {v: k for k, v in ALGOS.items()}[code]


def conv_cost(op: Op, algo: str) -> float:
    """The C cost model's estimate (aarch64 instructions per call) of ``algo`` for ``op``."""
    return float(load().ep_desc_conv_cost(op.desc.ctypes.data_as(ctypes.POINTER(ctypes.c_int32)),
                                          ALGOS[algo]))


RB_DOT_MIN_K = 128     # EP_RB_DOT_MIN_K of conv_rb.c


def _rb_dot(dtype: np.dtype, wbits: int, narrow: bool, k: int) -> bool:
    """The int8 dot-product tile for a reduction of ``k`` = KH * KW * IC (mirrors rb_geom_of
    in conv_rb.c)."""
    return (dtype == np.int8 and ((narrow and wbits in (0, 8)) or 1 <= wbits <= 7)
            and k >= RB_DOT_MIN_K)


def pack_conv_rb(w: np.ndarray, wbits: int = 0, narrow: bool = False) -> np.ndarray:
    """Register-blocked conv weights, byte-identical to ``ep_conv_pack`` for EP_ALGO_RB.

    ``w`` is (OC, KH, KW, IC) int8 or int16. int8: blocks of 16 output channels (the last one
    8 wide when at most 8 remain), each ``[ky][Kr rounded to 8][16 | 8]`` int16 with
    Kr = KW * IC (index kx * IC + ic); int16: blocks of 8, each ``[ky][Kr / 2][8][2]``;
    int8 with narrow weights (``narrow`` or ``wbits`` <= 7) and KH * KW * IC >= 128: int8
    blocks of 4 channels, each ``[ky][Kr rounded to 16 / 16][4][16]``.
    Raises :class:`NeonError` for a weight outside ``wbits`` (0 = the type's width)."""
    w = np.asarray(w)
    i8 = w.dtype == np.int8
    if w.dtype not in (np.int8, np.int16) or w.ndim != 4:
        raise NeonError(f"pack_conv_rb: weights must be (OC, KH, KW, IC) int8/int16, got "
                        f"{w.dtype} {w.shape}")
    bits = wbits or (8 if i8 else 16)
    hi = (1 << (bits - 1)) - 1
    lo = -hi if narrow else -(1 << (bits - 1))
    if w.size and (int(w.min()) < lo or int(w.max()) > hi):
        raise NeonError(f"pack_conv_rb: weights outside the declared {bits}-bit range "
                        f"[{lo}, {hi}]: declare wbits={8 if i8 else 16} (or more bits)")
    oc, kh, kw, ic = w.shape
    kr = kw * ic
    if _rb_dot(w.dtype, wbits, narrow, kh * kr):
        krp = -(-kr // 16) * 16
        nob = -(-oc // 4)
        wd = np.zeros((nob * 4, kh, krp), np.int8)
        wd[:oc, :, :kr] = w.reshape(oc, kh, kr)
        return np.ascontiguousarray(
            wd.reshape(nob, 4, kh, krp // 16, 16).transpose(0, 2, 3, 1, 4)).ravel()
    krp = -(-kr // (8 if i8 else 2)) * (8 if i8 else 2)
    wr = np.zeros((oc, kh, krp), np.int16)
    wr[:, :, :kr] = w.reshape(oc, kh, kr)
    parts = []
    full = 16 if i8 else 8
    for o0 in range(0, oc, full):
        rem = oc - o0
        nr = full if (not i8 or rem >= 16 or rem > 8) else 8
        blk = np.zeros((nr, kh, krp), np.int16)
        blk[:min(nr, rem)] = wr[o0:o0 + min(nr, rem)]
        if i8:
            parts.append(blk.transpose(1, 2, 0).ravel())
        else:
            parts.append(blk.reshape(nr, kh, krp // 2, 2).transpose(1, 2, 0, 3).ravel())
    return np.concatenate(parts)


def pack_fc(w: np.ndarray, wbits: int = 0, narrow: bool = False) -> np.ndarray:
    """FC weights (M, N) int8 for the packed GEMV, byte-identical to ``ep_fc_pack``:
    ``[M / 4][N / 16][4][16]`` zero padded (4 rows interleaved per 16 inputs)."""
    w = np.asarray(w)
    if w.dtype != np.int8 or w.ndim != 2:
        raise NeonError(f"pack_fc: weights must be (M, N) int8, got {w.dtype} {w.shape}")
    bits = wbits or 8
    lo, hi = (-127 if bits == 8 and narrow else -(1 << (bits - 1))), (1 << (bits - 1)) - 1
    if w.size and (int(w.min()) < lo or int(w.max()) > hi):
        raise NeonError(f"pack_fc: weights outside the declared range [{lo}, {hi}]")
    m, n = w.shape
    nrb, nkb = -(-m // 4), -(-n // 16)
    wp = np.zeros((nrb * 4, nkb * 16), np.int8)
    wp[:m, :n] = w
    return np.ascontiguousarray(wp.reshape(nrb, 4, nkb, 16).transpose(0, 2, 1, 3)).ravel()


def pack_native(op: Op) -> np.ndarray:
    """The C packer's output for a conv / int8 FC operation (``ep_desc_pack``)."""
    lib = load()
    dp = op.desc.ctypes.data_as(ctypes.POINTER(ctypes.c_int32))
    n = lib.ep_desc_packed_bytes(dp)
    if n <= 0:
        raise NeonError(f"no packed layout for descriptor {op.desc.tolist()}")
    out = np.zeros(int(n), np.uint8)
    rc = lib.ep_desc_pack(dp, np.ascontiguousarray(op.inputs[1]).ctypes.data, out.ctypes.data)
    if rc != 0:
        raise NeonError(f"packing failed: status {rc} ({STATUS.get(rc, '?')})")
    return out


def _prepack_conv(op: Op) -> None:
    algo = conv_algo(op)
    if algo in ("wino", "dw"):              # Winograd (U' = G' g G'^T), depthwise 3x3 ([cb][tap]
        op.desc[D_ALGO] = ALGOS[algo]       # [8] int16): packed by the C packer
        op.inputs[1] = pack_native(op)
        op.desc[D_FLAGS] |= F_PREPACKED
        return
    if algo != "rb":
        raise NeonError(f"prepack: the descriptor resolves to {algo!r}; the Python packer "
                        "implements the register-blocked layout (algo 'rb' or an AUTO that "
                        "picks it)")
    op.desc[D_ALGO] = ALGOS["rb"]           # the packed layout is fixed from here on
    op.inputs[1] = pack_conv_rb(op.inputs[1], int(op.desc[D_WBITS]),
                                bool(op.desc[D_FLAGS] & F_NARROW))
    op.desc[D_FLAGS] |= F_PREPACKED


def conv_maxpool_op(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None, requant: Requant,
                    pool_kernel, pool_strides, pool_pads: Pads = (0, 0, 0, 0),
                    pool_ceil_mode: bool = False, strides=(1, 1), pads: Pads = (0, 0, 0, 0),
                    dilations=(1, 1), groups: int = 1, pool_algo: str = "auto",
                    algo: str = "sliding", wbits: int = 0, narrow: bool = False) -> Op:
    """conv → requantize (+ReLU) → max pool, fused (HwLayer with a fused max pool); ``algo``
    ``"rb"`` / ``"auto"`` requantizes the register tiles straight into the pool's rows."""
    d, oh, ow = _conv_desc(OP_CONV_MAXPOOL, x, w, strides, pads, dilations, groups, algo)
    _set_rq(d, requant)
    d[D_WBITS] = wbits
    if narrow:
        d[D_FLAGS] |= F_NARROW
    d[[D_PKH, D_PKW]] = pool_kernel
    d[[D_PSH, D_PSW]] = pool_strides
    d[[D_PPT, D_PPL, D_PPB, D_PPR]] = pool_pads
    d[D_PCEIL] = int(pool_ceil_mode)
    d[D_PALGO] = ALGOS[pool_algo]
    poh = pool_out_size(oh, pool_kernel[0], pool_strides[0], pool_pads[0], pool_pads[2], 1,
                        pool_ceil_mode)
    pow_ = pool_out_size(ow, pool_kernel[1], pool_strides[1], pool_pads[1], pool_pads[3], 1,
                         pool_ceil_mode)
    return Op(d, _conv_inputs(x, w, bias), np.dtype(requant.out), (poh, pow_, w.shape[0]))


def fc_op(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None = None,
          requant: Requant | None = None, algo: str = "auto", threads: int = 1, wbits: int = 0,
          narrow: bool = False, prepack: bool = False) -> Op:
    """Fully connected ``W x + b`` with W (M, N), x (N,). int8 with ``algo="rb"`` or
    ``prepack`` runs the packed GEMV (weights packed by :func:`pack_fc`; accumulation per the
    declared ``wbits`` / ``narrow`` bound; ``threads``)."""
    m, n = w.shape
    d = _desc(OP_FC, x.dtype, algo)
    d[D_N] = n
    d[D_OC] = m
    _set_rq(d, requant)
    d[D_THREADS], d[D_WBITS] = threads, wbits
    if narrow:
        d[D_FLAGS] |= F_NARROW
    acc = _acc_dtype(x.dtype)
    dt = acc if requant is None or x.dtype == np.float32 else requant.out
    b = None if bias is None else np.ascontiguousarray(bias, dtype=acc)
    wa = np.ascontiguousarray(w, dtype=x.dtype)
    if prepack:
        wa = pack_fc(wa, wbits, narrow)
        d[D_FLAGS] |= F_PREPACKED
    return Op(d, [np.ascontiguousarray(x).reshape(-1), wa, b], np.dtype(dt), (m,))


def xnor_row_bytes(n: int) -> int:
    """Bytes of one packed weight row of ``ep_fc_xnor`` (``ep_xnor_row_bytes``)."""
    return -(-n // 128) * 16


def is_bipolar(w: np.ndarray) -> bool:
    """Every weight is +1 or −1 (what ``ep_fc_xnor`` takes)."""
    w = np.asarray(w)
    return bool(w.size) and bool(np.all(np.abs(w) == 1))


def pack_xnor(w: np.ndarray) -> np.ndarray:
    """(M, N) ±1 weights → (M, xnor_row_bytes(N)) uint8 bits, exactly ``ep_xnor_pack``: bit j
    of byte k is 1 for weight 8k + j = +1, rows zero-padded (the build-time step of the XNOR
    kernel)."""
    w = np.asarray(w)
    if w.ndim != 2 or not is_bipolar(w):
        raise NeonError("pack_xnor: weights must be a (M, N) matrix of ±1")
    m, n = w.shape
    bits = np.zeros((m, xnor_row_bytes(n) * 8), np.uint8)
    bits[:, :n] = w > 0
    return np.ascontiguousarray(np.packbits(bits, axis=1, bitorder="little"))


def fc_xnor_op(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None = None,
               requant: Requant | None = None) -> Op:
    """XNOR-popcount fully connected ``W x + b`` (``ep_fc_xnor``): int8 x (N,), ±1 weights
    W (M, N) packed here by :func:`pack_xnor`, int32 bias; equals :func:`fc_op` on the same
    weights for every int8 input."""
    m, n = np.shape(w)
    d = _desc(OP_FC_XNOR, np.dtype(np.int8))
    d[D_N], d[D_OC] = n, m
    _set_rq(d, requant)
    b = None if bias is None else np.ascontiguousarray(bias, dtype=np.int32)
    dt = np.int32 if requant is None else requant.out
    return Op(d, [np.ascontiguousarray(x, dtype=np.int8).reshape(-1), pack_xnor(w), b],
              np.dtype(dt), (m,))


def requant_op(acc: np.ndarray, requant: Requant) -> Op:
    """Requantize an int32 or int64 accumulator array (any shape)."""
    acc = np.ascontiguousarray(acc)
    d = _desc(OP_REQUANT32 if acc.dtype == np.int32 else OP_REQUANT64, acc.dtype)
    d[D_N] = acc.size
    _set_rq(d, requant)
    return Op(d, [acc.reshape(-1)], np.dtype(requant.out), acc.shape)


# --------------------------------------------------------------------------- running
def run_native(ops: Sequence[Op], sanitize: bool = False) -> list[np.ndarray]:
    """Run operations through the native (SIMDe) library; raises on a non-zero status."""
    lib = load(sanitize)
    outs = []
    for op in ops:
        dp = op.desc.ctypes.data_as(ctypes.POINTER(ctypes.c_int32))
        nout = lib.ep_desc_out_bytes(dp)
        nscr = lib.ep_desc_scratch_bytes(dp)
        if nout <= 0 or nscr < 0:
            raise NeonError(f"invalid descriptor {op.desc.tolist()}")
        out = np.empty(op.out_shape, op.out_dtype)
        if out.nbytes != nout:
            raise NeonError(f"output size mismatch: C says {nout}, Python {out.nbytes}")
        scratch = np.empty(max(int(nscr), 1), np.uint8)
        ptrs = (ctypes.c_void_p * 4)(*[None if a is None else a.ctypes.data
                                       for a in (list(op.inputs) + [None] * 4)[:4]])
        rc = lib.ep_desc_run(dp, ptrs, out.ctypes.data, scratch.ctypes.data)
        if rc != 0:
            raise NeonError(f"kernel status {rc} ({STATUS.get(rc, '?')}) for descriptor "
                        f"{op.desc.tolist()}")
        outs.append(out)
    return outs


def write_batch(ops: Sequence[Op], path: Path) -> None:
    """The driver's input file (format in neon/driver/ep_driver.c)."""
    with open(path, "wb") as f:
        f.write(b"EPD1" + np.uint32(len(ops)).tobytes())
        for op in ops:
            f.write(op.desc.astype("<i4").tobytes())
            f.write(np.uint32(len(op.inputs)).tobytes())
            for a in op.inputs:
                data = b"" if a is None else np.ascontiguousarray(a).tobytes()
                f.write(np.uint64(len(data)).tobytes())
                f.write(data)


def read_results(ops: Sequence[Op], path: Path) -> list[np.ndarray]:
    """Parse the driver's output file into arrays shaped as the operations declare."""
    raw = path.read_bytes()
    if raw[:4] != b"EPR1":
        raise NeonError("bad driver output")
    n = int(np.frombuffer(raw, np.uint32, 1, 4)[0])
    pos, outs = 8, []
    for i in range(n):
        st = int(np.frombuffer(raw, np.int32, 1, pos)[0])
        nb = int(np.frombuffer(raw, np.uint64, 1, pos + 4)[0])
        pos += 12
        if st != 0:
            raise NeonError(f"op {i}: kernel status {st} ({STATUS.get(st, '?')}) for "
                            f"{ops[i].desc.tolist()}")
        outs.append(np.frombuffer(raw[pos:pos + nb], ops[i].out_dtype).reshape(ops[i].out_shape))
        pos += nb
    return outs


def run_aarch64(ops: Sequence[Op], repeat: int = 1, qemu_args: Sequence[str] = (),
                timeout: float = 600) -> list[np.ndarray]:
    """Run a batch of operations in ONE ``qemu-aarch64`` invocation of the static driver."""
    qemu = toolchain.require("qemu-aarch64")
    drv = build_aarch64_driver()
    with tempfile.TemporaryDirectory(prefix="ep-neon-") as td:
        fin, fout = Path(td) / "in.bin", Path(td) / "out.bin"
        write_batch(ops, fin)
        res = subprocess.run([qemu, *qemu_args, str(drv), str(fin), str(fout), str(repeat)],
                             capture_output=True, text=True, timeout=timeout)
        if res.returncode != 0:
            raise NeonError(f"qemu driver failed ({res.returncode}): {res.stderr[-2000:]}")
        return read_results(ops, fout)


# --------------------------------------------------------------------------- one-call helpers
def maxpool(x: np.ndarray, kernel, strides, pads: Pads = (0, 0, 0, 0), dilations=(1, 1),
            ceil_mode: bool = False, algo: str = "auto") -> np.ndarray:
    """Native max pooling of an (H, W, C) array."""
    return run_native([maxpool_op(x, kernel, strides, pads, dilations, ceil_mode, algo)])[0]


def avgpool(x: np.ndarray, kernel, strides, pads: Pads = (0, 0, 0, 0), dilations=(1, 1),
            ceil_mode: bool = False, count_include_pad: bool = False) -> np.ndarray:
    """Native average pooling of an (H, W, C) array."""
    return run_native([avgpool_op(x, kernel, strides, pads, dilations, ceil_mode,
                                  count_include_pad)])[0]


def global_pool(x: np.ndarray, kind: str) -> np.ndarray:
    """Native global max/avg pooling of (H, W, C) to (C,)."""
    return run_native([global_pool_op(x, kind)])[0]


def conv(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None = None, strides=(1, 1),
         pads: Pads = (0, 0, 0, 0), dilations=(1, 1), groups: int = 1,
         requant: Requant | None = None, algo: str = "sliding") -> np.ndarray:
    """Native convolution (see :func:`conv_op`)."""
    return run_native([conv_op(x, w, bias, strides, pads, dilations, groups, requant, algo)])[0]


def conv_maxpool(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None, requant: Requant,
                 pool_kernel, pool_strides, **kw) -> np.ndarray:
    """Native fused conv → requantize → max pool (see :func:`conv_maxpool_op`)."""
    return run_native([conv_maxpool_op(x, w, bias, requant, pool_kernel, pool_strides, **kw)])[0]


def fc(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None = None,
       requant: Requant | None = None) -> np.ndarray:
    """Native fully connected layer."""
    return run_native([fc_op(x, w, bias, requant)])[0]


def fc_xnor(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None = None,
            requant: Requant | None = None) -> np.ndarray:
    """Native XNOR-popcount fully connected layer (see :func:`fc_xnor_op`)."""
    return run_native([fc_xnor_op(x, w, bias, requant)])[0]


def requantize(acc: np.ndarray, requant: Requant) -> np.ndarray:
    """Native requantization of int32/int64 accumulators."""
    return run_native([requant_op(acc, requant)])[0]


def threshold_op(acc: np.ndarray, thresholds: np.ndarray, out: QType, bipolar: bool = False,
                 direction: np.ndarray | None = None) -> Op:
    """Multi-threshold (``ep_threshold_i32``) of channels-last int32 accumulators ``acc``
    (pixels, C); ``thresholds`` (C, n) or (1, n) and ``direction`` as the IR's Threshold op."""
    a = np.asarray(acc, dtype=np.int64)
    t = np.asarray(thresholds, dtype=np.int64)
    if a.ndim != 2:
        raise ValueError("acc must be (pixels, channels)")
    c = a.shape[1]
    if t.shape[0] == 1 and c > 1:
        t = np.repeat(t, c, axis=0)
    lim = np.iinfo(np.int32)
    # d·acc must not overflow int32: |acc| < 2^31 keeps the negation exact
    if (a.size and (a.min() <= lim.min or a.max() > lim.max)) or t.min() < lim.min \
            or t.max() > lim.max:
        raise NeonError("threshold: accumulators and thresholds must fit int32")
    dtype = np.dtype(out.storage_dtype())
    d = _desc(OP_THRESHOLD, np.dtype(np.int32))
    d[D_N], d[D_C], d[D_OC] = a.shape[0], c, t.shape[1]
    base, step = (-1, 2) if bipolar else (out.min, 1)
    d[D_RQ_QMIN], d[D_RQ_QMAX], d[D_RQ_OUT] = base, step, DTYPES[dtype]
    dirs = None if direction is None else np.ascontiguousarray(
        np.broadcast_to(np.asarray(direction), (c,)), dtype=np.int32)
    ins = [np.ascontiguousarray(a, np.int32), np.ascontiguousarray(t.T, np.int32),  # k-major
           dirs]                                   # None: NULL (native) / 0 bytes (driver)
    return Op(d, ins, dtype, a.shape)


def threshold(acc: np.ndarray, thresholds: np.ndarray, out: QType, bipolar: bool = False,
              direction: np.ndarray | None = None) -> np.ndarray:
    """Native multi-threshold (see :func:`threshold_op`); codes (pixels, C) as int64. Equals
    :func:`edgepool.ir.kernels.threshold` (tested)."""
    return run_native([threshold_op(acc, thresholds, out, bipolar, direction)])[0].astype(
        np.int64)
