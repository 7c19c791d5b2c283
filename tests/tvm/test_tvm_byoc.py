# SPDX-License-Identifier: Apache-2.0
"""BYOC partitioning: the NEON patterns really take the layers (composites, external functions,
calls of the generated C), and what stays in TVM is the glue."""

from __future__ import annotations

import pytest
import tvm
from tvm import relax

import edgepool
from edgepool.toolchain import REPO_ROOT
from edgepool.tvm import byoc
from edgepool.tvm.relax_import import graph_to_relax

pytestmark = pytest.mark.tvm
MODELS = REPO_ROOT / "models"


def _external_calls(mod) -> list[str]:
    calls = []
    for block in mod["main"].body.blocks:
        for bd in block.bindings:
            v = bd.value
            if isinstance(v, relax.Call) and v.op.same_as(tvm.ir.Op.get("relax.call_dps_packed")):
                calls.append(str(v.args[0].global_symbol))
    return calls


def test_lenet_digits_partition():
    g = edgepool.load(MODELS / "lenet-digits" / "lenet-digits.onnx")
    part = byoc.partition(graph_to_relax(g))
    st = byoc.offload_stats(part)
    assert st["composite_kinds"] == {"edgepool_neon.conv_requant_maxpool": 2,
                                     "edgepool_neon.dense": 1,
                                     "edgepool_neon.dense_requant": 1}
    assert st["external_functions"] == 2 and st["external_calls"] == 2
    # only glue is left to TVM: quantize, layout, flatten, dequantize
    assert "relax.nn.conv2d" not in st["tvm_ops"] and "relax.matmul" not in st["tvm_ops"]
    assert "relax.right_shift" not in st["tvm_ops"]
    assert set(st["tvm_ops"]) <= {"relax.astype", "relax.multiply", "relax.clip", "relax.round",
                                  "relax.permute_dims", "relax.reshape"}


def test_lenet_mnist_codegen_calls_the_kernels():
    g = edgepool.load(MODELS / "lenet-mnist" / "lenet-mnist.onnx")
    mod, st, src = byoc.offload(graph_to_relax(g))
    assert st["composites"] == 5        # 2 conv→requant→maxpool, 2 dense+requant, 1 dense
    assert _external_calls(mod) == ["edgepool_neon_0", "edgepool_neon_1"]
    assert src.count("EP_CHECK(ep_conv_maxpool(") == 2
    assert src.count("EP_CHECK(ep_fc(") == 3
    assert "int32_t __tvm_ffi_edgepool_neon_0(" in src
    assert "int32_t __tvm_ffi_edgepool_neon_1(" in src
    # u8 activations enter the int8 kernels through the exact -128 offset
    assert src.count("ep_offset_pad(") == 4 + 1   # conv2, fc1..fc3 + the helper's definition
    assert mod.get_attr("external_mods") is not None and len(mod.get_attr("external_mods")) == 1


def test_unsupported_input_stays_in_tvm():
    """int16 activations × int16 weights use the kernels' int16 path; an escaping pre-pool
    tensor (the mixed graph's requant output feeds avg and max pool) blocks the fusion."""
    from tvm_graphs import mixed_graph

    g, _ = mixed_graph()
    st = byoc.offload_stats(byoc.partition(graph_to_relax(g)))
    assert "edgepool_neon.conv_requant_maxpool" not in st["composite_kinds"]
    assert st["composite_kinds"]["edgepool_neon.conv_requant"] == 1
    assert st["composite_kinds"]["edgepool_neon.maxpool"] == 1
    assert st["tvm_ops"]["relax.floor_divide"] == 2           # average pools stay in TVM
    g16 = edgepool.load(MODELS / "lenet-digits" / "lenet-digits-w16.onnx")
    st16 = byoc.offload_stats(byoc.partition(graph_to_relax(g16)))
    assert st16["composite_kinds"]["edgepool_neon.conv_requant_maxpool"] == 2


def test_one_layer_function_per_fused_node():
    """The importer emits the CPU-lowered IR's fused nodes one function each (no fusion is
    re-derived from Relax op sequences), and every one of lenet-digits' is offloaded."""
    from edgepool.passes.pipelines import lower
    from edgepool.tvm.relax_import import LAYER_ATTR, layer_kind

    g = edgepool.load(MODELS / "lenet-digits" / "lenet-digits.onnx")
    low = lower(g, "cpu")
    mod = graph_to_relax(g)
    layers = {str(f.attrs["edgepool.node"]): str(f.attrs[LAYER_ATTR])
              for f in mod.functions.values() if f.attrs is not None and LAYER_ATTR in f.attrs}
    assert layers == {n.name: layer_kind(low, n) for n in low.nodes if layer_kind(low, n)}
    assert sorted(layers.values()) == ["conv_requant_maxpool", "conv_requant_maxpool", "dense",
                                       "dense_requant"]
    assert all(byoc.accepts(f) for f in mod.functions.values()
               if f.attrs is not None and LAYER_ATTR in f.attrs)
