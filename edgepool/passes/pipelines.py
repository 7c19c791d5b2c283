# SPDX-License-Identifier: Apache-2.0
"""The one place that orders passes, as named phases.

* ``canonicalize`` — what :func:`load` returns: the canonical IR every consumer starts from
  (golden interpreter, DSE, snapshot).
* ``fuse`` — target-independent fusion: a Conv / Gemm with the Requant(+ReLU) after it becomes
  one ``FusedConv`` / ``FusedGemm`` node.
* ``lower-fabric`` — what the accelerator needs (:func:`edgepool.accel.lower.lower_to_hw` maps
  the result 1:1 to hardware layers): max/avg pools folded into the conv layer, every remaining
  Conv / Gemm a layer of its own, flattening in stream (H, W, C) order, conv weights OHWI and
  fully connected weights one row per output.
* ``lower-cpu`` — what the NEON BYOC composites need (:mod:`edgepool.tvm.relax_import` emits one
  composite per fused node): windowed max pools folded into the requantized conv
  (``ep_conv_maxpool``) and flattening in the channels-last order of the CPU build.

:func:`lower` runs ``fuse`` then ``lower-<target>``. ``EDGEPOOL_DEBUG=1`` dumps the IR after
every pass to ``$EDGEPOOL_DEBUG_DIR`` (default ``./edgepool_debug``). :data:`TRACE` records
which passes ran, so a test can prove that every listed pass is actually executed.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from ..errors import ConfigError
from ..frontend import import_onnx
from ..ir.graph import Graph
from ..ir.verify import verify
from . import canonicalize as C
from . import fusion as F
from . import streamline as S

Pass = Callable[[Graph], Graph]

PHASES: dict[str, tuple[Pass, ...]] = {
    # float tails of quantized layers → exact integer thresholds; float heads → one affine
    "streamline": (
        S.absorb_thresholds,
        S.compose_float_heads,
    ),
    "canonicalize": (
        C.fuse_relu_requant,
        C.remove_identity_requant,
        C.reshape_to_flatten,
        C.dead_code,
    ),
    "fuse": (
        F.fuse_product_requant,
    ),
    "lower-fabric": (
        F.accumulator_layers,
        F.fuse_conv_pool_fabric,
        F.flatten_channels_last,
        F.conv_weights_ohwi,
        F.gemm_weights_rows,
    ),
    "lower-cpu": (
        F.fuse_conv_maxpool_cpu,
        F.flatten_channels_last,
    ),
}

#: the targets :func:`lower` knows, each the name of its final phase
TARGETS = {"fabric": "lower-fabric", "cpu": "lower-cpu"}

TRACE: list[str] = []


def load(model, name: str | None = None) -> Graph:
    """Import an ONNX / QONNX / QCDQ model (path or ``onnx.ModelProto``) into a verified IR
    :class:`~edgepool.ir.graph.Graph`, streamlined (float chains → exact thresholds, float
    heads → one affine) and canonicalized. ``g.run(x)`` runs the golden interpreter."""
    return run_phase("canonicalize", run_phase("streamline", import_onnx(model, name)))


def lower(g: Graph, target: str) -> Graph:
    """The canonical graph ``g`` fused and laid out for ``target`` (``"fabric"`` or ``"cpu"``):
    phase ``fuse`` then ``lower-<target>``. Idempotent: a lowered graph comes back unchanged."""
    if target not in TARGETS:
        raise ConfigError(f"unknown lowering target {target!r}", f"targets: {', '.join(TARGETS)}")
    return run_phase(TARGETS[target], run_phase("fuse", g))


def run_phase(phase: str, g: Graph) -> Graph:
    """Run every pass of ``phase`` in order, verifying after each."""
    if phase not in PHASES:
        raise ConfigError(f"unknown pass phase {phase!r}", f"phases: {', '.join(PHASES)}")
    debug = os.environ.get("EDGEPOOL_DEBUG")
    dump_dir = Path(os.environ.get("EDGEPOOL_DEBUG_DIR", "edgepool_debug"))
    for i, p in enumerate(PHASES[phase]):
        g = verify(p(g))
        TRACE.append(f"{phase}.{p.__name__}")
        if debug:
            dump_dir.mkdir(parents=True, exist_ok=True)
            (dump_dir / f"{g.name}.{phase}.{i:02d}.{p.__name__}.txt").write_text(str(g))
    return g
