# SPDX-License-Identifier: Apache-2.0
"""One Relax module for a heterogeneous build: CPU segments + the fabric segment as BYOC.

:func:`hetero_module` imports every CPU segment of a :class:`~edgepool.tvm.placement.Placement`
into one Relax module (private functions ``seg<i>``, the layers of all segments numbered
apart), declares the fabric segment as an external function with ``"Codegen":
"edgepool_fabric"`` and the segment's signature, and writes ``main`` calling them in order
(boundary tensors by name; a segment with several outputs returns a tuple). The NEON BYOC
(:func:`edgepool.tvm.byoc.offload`) then offloads the CPU layers as for a ``cortex-a53``
build, and ``RunCodegen`` hands the fabric function to ``relax.ext.edgepool_fabric``
(registered here), which emits a few lines of C: look the packed function
``edgepool.fabric.run`` up once and call it with (input tensor, output tensor, segment index).

Whoever runs the library registers ``edgepool.fabric.run`` first (:func:`register_fabric`):
off the board, the simulated device or the csim / rtlsim / reference executor of the build;
on the board, the PYNQ driver (the Python driver registered as a packed function: the driver
already owns the register map, the DMA buffers and the simulated-device path, so one driver
serves the notebook, ``edgepool run`` and the Relax VM).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import tvm
from tvm import relax

from ..ir.graph import Graph
from ..passes.pipelines import lower
from . import byoc
from .build import TVM_TARGETS, make_fcompile
from .placement import CPU, FABRIC, Placement, segment_graph
from .relax_import import _Importer, storage

CODEGEN = "edgepool_fabric"
FABRIC_FUNC = "edgepool.fabric.run"
SEGMENT_ATTR = "edgepool.segment"

_C = """/* relax.ext.edgepool_fabric: the fabric segment {seg} calls the packed function
 * edgepool.fabric.run(input, output, segment) registered by the host (driver / simulator) */
#include <tvm/ffi/c_api.h>

int32_t __tvm_ffi_{sym}(void *self, const TVMFFIAny *args, int32_t num_args,
                         TVMFFIAny *result) {{
    static TVMFFIObjectHandle fn = 0;
    TVMFFIAny a[3];
    (void)self;
    if (num_args != 2) {{
        TVMFFIErrorSetRaisedFromCStr("RuntimeError", "{sym}: argument count");
        return -1;
    }}
    if (!fn) {{
        TVMFFIByteArray name = {{"{func}", {nfunc}}};
        if (TVMFFIFunctionGetGlobal(&name, &fn) || !fn) {{
            TVMFFIErrorSetRaisedFromCStr("RuntimeError",
                                         "{func} is not registered (load the driver first)");
            return -1;
        }}
    }}
    a[0] = args[0];
    a[1] = args[1];
    a[2].type_index = kTVMFFIInt;
    a[2].zero_padding = 0;
    a[2].v_int64 = {seg};
    return TVMFFIFunctionCall(fn, a, 3, result);
}}
"""

GENERATED: list[str] = []


@tvm.register_global_func(f"relax.ext.{CODEGEN}", override=True)
def _codegen(funcs, options, constant_names):
    """RunCodegen hook: each fabric function → C forwarding to ``edgepool.fabric.run``."""
    syms, parts = [], []
    for f in funcs:
        sym = str(f.attrs["global_symbol"])
        syms.append(sym)
        parts.append(_C.format(sym=sym, seg=int(f.attrs[SEGMENT_ATTR]), func=FABRIC_FUNC,
                               nfunc=len(FABRIC_FUNC)))
    src = "\n".join(parts)
    GENERATED.append(src)
    return [tvm.get_global_func("runtime.CSourceModuleCreate")(src, "c", syms, [])]


def hetero_module(fg: Graph, p: Placement) -> tvm.IRModule:
    """The whole placed graph ``fg`` (fused IR) as one Relax module (module docstring)."""
    bb, n_layers = None, 0
    for s in p.segments:
        if s.device != CPU:
            continue
        imp = _Importer(lower(segment_graph(fg, s.nodes, s.index), "cpu"))
        if bb is not None:
            imp.bb = bb
        imp.n_layers = n_layers
        imp.run(f"seg{s.index}")
        bb, n_layers = imp.bb, imp.n_layers
    if bb is None:
        bb = relax.BlockBuilder()
    fab: dict[int, Any] = {}
    for s in p.segments:
        if s.device != FABRIC:
            continue
        (src,), (dst,) = s.inputs, s.outputs
        vi, vo = fg.values[src], fg.values[dst]
        a = relax.Var("a", relax.TensorType(tuple(vi.shape), storage(vi.type)))
        name = f"{CODEGEN}_{s.index}"
        with bb.function(name, [a], attrs={"Codegen": CODEGEN, "global_symbol": name,
                                           SEGMENT_ATTR: s.index}):
            # never compiled: RunCodegen replaces the body by the external function
            z = bb.emit(relax.op.zeros(relax.ShapeExpr(tuple(vo.shape)), storage(vo.type)))
            bb.emit_func_output(z)
        fab[s.index] = bb.get().get_global_var(name)
    params, env = [], {}
    for name in fg.inputs:
        v = fg.values[name]
        env[name] = relax.Var("x", relax.TensorType(tuple(v.shape), storage(v.type)))
        params.append(env[name])
    with bb.function("main", params):
        with bb.dataflow():
            for s in p.segments:
                callee = fab[s.index] if s.device == FABRIC else \
                    bb.get().get_global_var(f"seg{s.index}")
                call = bb.emit(relax.Call(callee, [env[i] for i in s.inputs]))
                if len(s.outputs) == 1:
                    env[s.outputs[0]] = call
                else:
                    for k, o in enumerate(s.outputs):
                        env[o] = bb.emit(relax.TupleGetItem(call, k))
            outs = [env[o] for o in fg.outputs]
            out = bb.emit_output(outs[0] if len(outs) == 1 else relax.Tuple(outs))
        bb.emit_func_output(out)
    mod = bb.get()
    for s in p.segments:                      # the segments inline into main (private)
        if s.device == CPU:
            gv = mod.get_global_var(f"seg{s.index}")
            mod[gv] = mod[gv].without_attr("global_symbol")
    return mod


def compile_hetero(fg: Graph, p: Placement, triple: str, out: Path,
                   threads: int = 1) -> dict[str, Any]:
    """``out/model_<triple>.so``: the whole placed graph (NEON BYOC + fabric BYOC + TVM LLVM);
    returns a summary (library, offload counts, generated fabric C)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    GENERATED.clear()
    mod, stats, neon_c = byoc.offload(hetero_module(fg, p), threads)
    (out / "relax.txt").write_text(mod.script(show_meta=False))
    (out / "edgepool_neon_gen.c").write_text(neon_c)
    (out / "edgepool_fabric_gen.c").write_text("\n".join(GENERATED))
    ex = relax.build(mod, tvm.target.Target(TVM_TARGETS[triple]))
    lib = out / f"model_{triple}.so"
    with tempfile.TemporaryDirectory(prefix="ep-hetero-") as td:
        ex.export_library(str(lib), fcompile=make_fcompile(triple, bool(neon_c)),
                          workspace_dir=td)
    return {"triple": triple, "library": lib.name, "fabric_functions": len(GENERATED),
            "offloaded": stats}


def register_fabric(run_codes) -> None:
    """Register ``edgepool.fabric.run``: ``run_codes(segment, codes) -> codes`` (NCHW batch)."""
    def fabric_run(a, out, seg):
        y = np.asarray(run_codes(int(seg), a.numpy()))
        out.copyfrom(y.astype(out.dtype).reshape(out.shape))

    tvm.register_global_func(FABRIC_FUNC, fabric_run, override=True)


def run_hetero_library(lib: Path, x: np.ndarray) -> np.ndarray:
    """Run ``main`` of a compiled heterogeneous library on this host, image by image
    (``edgepool.fabric.run`` must be registered)."""
    vm = relax.VirtualMachine(tvm.runtime.load_module(str(lib)), tvm.cpu())
    return np.concatenate([vm["main"](tvm.runtime.tensor(np.ascontiguousarray(
        x[i:i + 1]))).numpy() for i in range(len(x))])
