# SPDX-License-Identifier: Apache-2.0
"""IR ⇄ ONNX checkpoint. Every op is written as a node of the ``edgepool`` domain with its
attributes; every value's fixed-point type is kept in ``value_info`` doc strings and in the
``edgepool.types`` metadata, so a checkpoint opens in Netron and loads back to an identical graph.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelLoadError
from .graph import Graph, Node, Value
from .onnxfile import load_model
from .qtype import QType
from .verify import verify

DOMAIN = "edgepool"
_META_KEY = "edgepool.ir"


def _encode_attr(v: Any) -> Any:
    if isinstance(v, QType):
        return {"qtype": str(v)}
    if isinstance(v, tuple):
        return {"tuple": [_encode_attr(x) for x in v]}
    return v


def _decode_attr(v: Any) -> Any:
    if isinstance(v, dict) and "qtype" in v:
        return QType.parse(v["qtype"])
    if isinstance(v, dict) and "tuple" in v:
        return tuple(_decode_attr(x) for x in v["tuple"])
    return v


def _elem(t: QType) -> int:
    import onnx

    if t.is_float:
        return onnx.TensorProto.FLOAT
    return onnx.TensorProto.INT32 if t.bits <= 32 else onnx.TensorProto.INT64


def to_onnx(g: Graph):
    """IR graph → ``onnx.ModelProto`` (custom ``edgepool`` domain)."""
    from onnx import helper, numpy_helper

    nodes = []
    for n in g.nodes:
        attrs = {}
        for k, v in n.attrs.items():
            if isinstance(v, QType):
                attrs[k] = str(v)
            elif isinstance(v, bool):
                attrs[k] = int(v)
            elif isinstance(v, tuple):
                attrs[k] = list(v)
            else:
                attrs[k] = v
        nodes.append(helper.make_node(n.op, list(n.inputs), list(n.outputs), name=n.name,
                                      domain=DOMAIN, **attrs))
    inits = []
    for name, arr in g.constants.items():
        t = g.values[name].type
        # codes in their storage dtype (int8 weights stay 1 byte: VGG16's checkpoint is 138 MB)
        # float64 constants (the composed affine of a float head) stay float64
        a = arr.astype((np.float64 if arr.dtype == np.float64 else np.float32) if t.is_float
                       else t.storage_dtype())
        inits.append(numpy_helper.from_array(a, name))
    def info(name: str):
        v = g.values[name]
        vi = helper.make_tensor_value_info(name, _elem(v.type), list(v.shape))
        vi.doc_string = str(v.type)
        return vi
    graph = helper.make_graph(nodes, g.name, [info(i) for i in g.inputs],
                              [info(o) for o in g.outputs], inits,
                              value_info=[info(v) for v in g.values
                                          if v not in g.inputs and v not in g.outputs
                                          and v not in g.constants])
    model = helper.make_model(graph, producer_name="edgepool",
                              opset_imports=[helper.make_opsetid("", 17),
                                             helper.make_opsetid(DOMAIN, 1)])
    meta = {
        "types": {k: str(v.type) for k, v in g.values.items()},
        "attrs": {n.name: {k: _encode_attr(v) for k, v in n.attrs.items()} for n in g.nodes},
        "meta": {k: v for k, v in g.meta.items() if isinstance(v, (str, int, float, bool))},
    }
    helper.set_model_props(model, {_META_KEY: json.dumps(meta, sort_keys=True)})
    return model


def save(g: Graph, path: str | Path) -> Path:
    """Write ``g`` as an ONNX checkpoint (opens in Netron)."""
    import onnx

    path = Path(path)
    onnx.save(to_onnx(g), str(path))
    return path


def from_onnx(model) -> Graph:
    """Inverse of :func:`to_onnx` (a checkpoint written by edgepool)."""
    from onnx import numpy_helper

    props = {p.key: p.value for p in model.metadata_props}
    if _META_KEY not in props:
        raise ModelLoadError("not an edgepool IR checkpoint (no edgepool.ir metadata)",
                             "import ONNX models with edgepool.load()")
    meta = json.loads(props[_META_KEY])
    types = {k: QType.parse(v) for k, v in meta["types"].items()}
    g = model.graph
    values: dict[str, Value] = {}
    def add(vi):
        dims = tuple(int(d.dim_value) for d in vi.type.tensor_type.shape.dim)
        values[vi.name] = Value(vi.name, dims, types[vi.name])
    for vi in list(g.input) + list(g.output) + list(g.value_info):
        add(vi)
    consts = {}
    for init in g.initializer:
        a = numpy_helper.to_array(init)
        t = types[init.name]
        a = a.astype((np.float64 if a.dtype == np.float64 else np.float32) if t.is_float
                     else np.int64)
        consts[init.name] = a
        values[init.name] = Value(init.name, tuple(a.shape), t)
    nodes = tuple(Node(n.name, n.op_type, tuple(n.input), tuple(n.output),
                       {k: _decode_attr(v) for k, v in meta["attrs"][n.name].items()})
                  for n in g.node)
    return verify(Graph(g.name, nodes, values, tuple(i.name for i in g.input),
                        tuple(o.name for o in g.output), consts, meta.get("meta", {})))


def load(path: str | Path) -> Graph:
    """Read a checkpoint written by :func:`save`."""

    return from_onnx(load_model(path))
