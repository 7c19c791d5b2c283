# SPDX-License-Identifier: Apache-2.0
"""Per-layer placement of a model on a Zynq board: the fabric or the Cortex-A53.

The unit of placement is one node of the *fused* IR (phase ``fuse`` of
:mod:`edgepool.passes.pipelines`: a Conv/Gemm with its requantization is one ``FusedConv`` /
``FusedGemm``; pools, flattens, ``Add`` … are units of their own). The input quantizer and the
output dequantizer are host work and always run on the CPU.

Costs (every figure here is an **estimate**):

* **fabric**: the accelerator's cycle model of the chain the fabric would run — the RTL engine's
  model (:func:`edgepool.dse.cost.estimate_rtl`, default folding, the board's default clock),
  applied to the program :func:`edgepool.accel.lower.lower_segment` makes of the candidate
  segment — plus the boundary: the bytes crossing into and out of the fabric over one HP port
  (``memory.ddr_gbps / memory.hp_ports`` of the board file) and a fixed cost per fabric call
  (DMA descriptor setup, start, done poll: :attr:`CostParams.fabric_call_us`);
* **CPU**: aarch64 instructions per layer — convolutions from the NEON kernels' own C cost model
  (:func:`edgepool.neon.bridge.conv_cost`, the model ``EP_ALGO_AUTO`` picks with), the rest from
  the analytic per-element rules in :func:`cpu_instructions` — plus the Relax VM's call overhead
  per layer and per segment, at :attr:`CostParams.cpu_ipc` instructions per cycle at the board's
  ``cpu_mhz``.

The accelerator is one streaming chain, so the fabric gets (at most) one contiguous segment:
:func:`place` tries every chain of fabric-capable units and keeps the cheapest end-to-end
estimate (the CPU-only placement included), honouring the user's pins. Everything before it in
topological order is CPU segment 0, everything after it the last CPU segment; a skip connection
around the fabric segment becomes an extra output of the first CPU segment and an extra input of
the last (multi-input CPU segments). Small tails stay on the CPU because a fabric call and its
DMA cost more than the A53 needs for them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..accel.lower import lower_segment
from ..accel.program import HostSplit, HwProgram
from ..dse.cost import estimate_rtl
from ..errors import EdgepoolError, PlacementError
from ..ir.graph import Graph, Node
from ..ir.ops import attrs_of
from ..ir.qtype import QType
from ..ir.verify import verify
from ..passes.pipelines import run_phase

FABRIC, CPU = "fabric", "cpu"
DEVICES = (FABRIC, CPU)
HOST_OPS = ("Quant", "Dequant")


@dataclass(frozen=True)
class CostParams:
    """Assumptions of the placement cost model (all estimates; override for another board or
    driver). ``cpu_mhz`` / ``hp_bytes_per_s`` / ``fabric_mhz`` default from the board file."""

    cpu_mhz: float = 1200.0
    cpu_ipc: float = 1.0               # in-order dual-issue A53, int kernels: ~1 IPC (estimate)
    fabric_mhz: float = 200.0
    hp_bytes_per_s: float = 1.05e9     # one 128-bit HP port (board file: 4.2 GB/s over 4 ports)
    fabric_call_us: float = 2.0        # DMA setup + ap_start + done poll (C driver over the regmap)
    layer_call_instr: int = 300        # Relax VM call of one layer's function
    segment_call_instr: int = 2000     # entering / leaving one CPU segment (VM invoke, tensors)

    @classmethod
    def for_board(cls, board) -> CostParams:
        """The board file's clocks and HP-port bandwidth (``hw/boards/*.toml``)."""
        raw = getattr(board, "raw", {}) or {}
        mem = getattr(board, "memory", {}) or {}
        ports = max(1, int(mem.get("hp_ports", 4)))
        gbps = float(mem.get("ddr_gbps", 4.2))
        return cls(cpu_mhz=float(raw.get("cpu_mhz", 1200)),
                   fabric_mhz=float(board.clocks.get("default_mhz", 200)),
                   hp_bytes_per_s=gbps * 1e9 / ports)


@dataclass(frozen=True)
class LayerPlacement:
    """Where one unit runs and why."""

    name: str
    op: str
    device: str                          # "fabric" | "cpu"
    engine: str                          # "rtl" (fabric) | "neon" / "llvm" (cpu) | "host"
    segment: int
    fabric_cycles: int | None            # alone on the fabric (None: the fabric cannot run it)
    cpu_instructions: int
    out_bytes: int                       # bytes of its output tensor
    outputs: tuple[str, ...] = ()
    pinned: str | None = None
    reason: str = ""                     # why the fabric cannot run it (when it cannot)


@dataclass(frozen=True)
class Segment:
    """A maximal run of units on one device, in topological order."""

    index: int
    device: str
    nodes: tuple[str, ...]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    in_bytes: int
    out_bytes: int
    est_us: float                        # compute (+ boundary and call cost for the fabric)


@dataclass(frozen=True)
class Placement:
    """The placement of a fused graph: per layer, per segment, and the estimates."""

    model: str
    board: str
    engine: str
    layers: tuple[LayerPlacement, ...]
    segments: tuple[Segment, ...]
    hetero_us: float
    cpu_only_us: float
    fabric_only_us: float | None         # None: the fabric cannot run the whole model
    fabric_only_reason: str
    pipelined_us: float                  # per image when fabric and CPU overlap (images i, i-1)
    boundary_bytes: int                  # bytes per image crossing fabric <-> DDR <-> CPU
    params: CostParams = field(default_factory=CostParams)

    @property
    def fabric_segment(self) -> Segment | None:
        return next((s for s in self.segments if s.device == FABRIC), None)

    @property
    def cpu_segments(self) -> tuple[Segment, ...]:
        return tuple(s for s in self.segments if s.device == CPU)

    @property
    def heterogeneous(self) -> bool:
        """True when both devices run layers (a plain fabric build otherwise)."""
        return self.fabric_segment is not None and bool(self.cpu_segments)

    def to_dict(self) -> dict:
        """The manifest's ``placement`` section (JSON-ready)."""
        return {
            "model": self.model, "board": self.board, "engine": self.engine,
            "layers": [{**vars(la), "outputs": list(la.outputs)} for la in self.layers],
            "segments": [{**vars(s), "nodes": list(s.nodes), "inputs": list(s.inputs),
                          "outputs": list(s.outputs), "est_us": round(s.est_us, 3)}
                         for s in self.segments],
            "estimated_us": {"heterogeneous": round(self.hetero_us, 3),
                             "cpu_only": round(self.cpu_only_us, 3),
                             "fabric_only": None if self.fabric_only_us is None
                             else round(self.fabric_only_us, 3),
                             "pipelined_per_image": round(self.pipelined_us, 3)},
            "fabric_only_reason": self.fabric_only_reason,
            "boundary_bytes": self.boundary_bytes,
            "cost_params": dict(vars(self.params)),
            "figures": "estimated (RTL cycle model + NEON instruction model + HP-port DMA)",
        }

    def table(self) -> str:
        """The per-layer placement as a Markdown table (report.md, inspect)."""
        return placement_table(self.to_dict())

    def summary(self) -> str:
        """Estimates in one paragraph."""
        segs = " + ".join(f"{s.device} {s.est_us:.1f} µs" for s in self.segments)
        fab = ("refused: " + self.fabric_only_reason if self.fabric_only_us is None
               else f"{self.fabric_only_us:.1f} µs")
        return (f"estimated latency per image: heterogeneous {self.hetero_us:.1f} µs ({segs}); "
                f"CPU-only {self.cpu_only_us:.1f} µs; fabric-only {fab}; pipelined "
                f"{self.pipelined_us:.1f} µs/image; {self.boundary_bytes} B cross the "
                "fabric boundary per image")


def placement_table(d: dict) -> str:
    """The per-layer placement of a manifest ``placement`` section as a Markdown table."""
    rows = ["| layer | op | device | engine | seg | est. fabric cycles | est. A53 instr. "
            "| boundary bytes out | note |", "|---|---|---|---|---|---|---|---|---|"]
    seg_out = {o for s in d["segments"] for o in s["outputs"]}
    for la in d["layers"]:
        crossing = la["out_bytes"] if any(o in seg_out for o in la["outputs"]) else 0
        note = "; ".join(x for x in (f"pinned {la['pinned']}" if la["pinned"] else "",
                                      la["reason"]) if x)
        cyc = la["fabric_cycles"]
        rows.append(f"| {la['name']} | {la['op']} | {la['device']} | {la['engine']} | "
                    f"{la['segment']} | {'-' if cyc is None else f'{cyc:,}'} | "
                    f"{la['cpu_instructions']:,} | {crossing or '-'} | {note} |")
    return "\n".join(rows)


def segments_table(d: dict) -> str:
    """The segments of a ``placement`` section with their estimated times (Markdown)."""
    rows = ["| segment | device | layers | in bytes | out bytes | est. µs |",
            "|---|---|---|---|---|---|"]
    for s in d["segments"]:
        rows.append(f"| {s['index']} | {s['device']} | {len(s['nodes'])} | {s['in_bytes']} | "
                    f"{s['out_bytes']} | {s['est_us']:.1f} |")
    e = d["estimated_us"]
    fab = "refused" if e["fabric_only"] is None else f"{e['fabric_only']:.1f}"
    rows += ["", f"Estimated µs per image: heterogeneous {e['heterogeneous']:.1f}, CPU-only "
             f"{e['cpu_only']:.1f}, fabric-only {fab}, pipelined (fabric on image i while the "
             f"CPU runs image i−1) {e['pipelined_per_image']:.1f}; "
             f"{d['boundary_bytes']} B cross the fabric boundary per image."]
    return "\n".join(rows)


def draw_placement(d: dict, path) -> None:
    """placement.png: the layers in order, coloured by device, one label per segment with its
    estimated time (matplotlib, Agg)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colours = {FABRIC: "#e07b39", CPU: "#3a7dc9"}
    layers = d["layers"]
    fig, ax = plt.subplots(figsize=(max(6.0, 1.1 * len(layers)), 2.6))
    for i, la in enumerate(layers):
        ax.add_patch(plt.Rectangle((i, 0.4), 0.9, 0.6, color=colours[la["device"]]))
        ax.text(i + 0.45, 0.7, la["op"].replace("Fused", ""), ha="center", va="center",
                fontsize=7, color="white")
        ax.text(i + 0.45, 1.1, la["name"][-14:], ha="center", va="bottom", fontsize=6,
                rotation=20)
        if i + 1 < len(layers):
            ax.annotate("", (i + 1.0, 0.7), (i + 0.9, 0.7), arrowprops={"arrowstyle": "->"})
    pos = 0
    for s in d["segments"]:
        n = len(s["nodes"])
        ax.text(pos + n * 0.5 - 0.05, 0.2, f"seg {s['index']} {s['device']}: "
                f"{s['est_us']:.1f} µs (est.)", ha="center", va="center", fontsize=7)
        pos += n
    e = d["estimated_us"]
    ax.set_title(f"{d['model']} on {d['board']}: {e['heterogeneous']:.1f} µs heterogeneous "
                 f"(estimated; CPU-only {e['cpu_only']:.1f} µs)", fontsize=9)
    ax.set_xlim(-0.2, len(layers) + 0.2)
    ax.set_ylim(0, 1.8)
    ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


#: a split the user did not ask for is applied only when it saves at least this fraction of the
#: fabric-only estimate (below it, the cost model's error is larger than the gain)
SPLIT_GAIN = 0.10


def split_applies(p: Placement, pinned: bool) -> bool:
    """Whether a board build applies placement ``p``: it uses both devices and either the user
    pinned layers, the fabric cannot run the whole model, or the split saves ``SPLIT_GAIN``."""
    return p.heterogeneous and (pinned or p.fabric_only_us is None
                                or p.hetero_us <= (1 - SPLIT_GAIN) * p.fabric_only_us)


# --------------------------------------------------------------------------- graph helpers
def fused(g: Graph) -> Graph:
    """The placement units: ``g`` (canonical) after the ``fuse`` phase."""
    return run_phase("fuse", g)


def _storage_bytes(t: QType) -> int:
    if t.is_float:
        return 4
    return 1 if t.bits <= 8 else 2 if t.bits <= 16 else 4 if t.bits <= 32 else 8


def value_bytes(g: Graph, name: str) -> int:
    """Bytes of one image of value ``name`` in its storage type."""
    v = g.values[name]
    return int(np.prod(v.shape[1:])) * _storage_bytes(v.type) if v.shape else 4


def is_host(g: Graph, n: Node) -> bool:
    """The input quantizer / output dequantizer (host work, always on the CPU)."""
    return n.op in HOST_OPS


def _io(g: Graph, names: Sequence[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """External (non-constant) inputs and outputs of the node set ``names``, in order."""
    nodes = [g.node(n) for n in names]
    made = {o for n in nodes for o in n.outputs}
    inside = set(names)
    ins: list[str] = []
    for n in nodes:
        for i in n.inputs:
            if i and i not in made and not g.is_const(i) and i not in ins:
                ins.append(i)
    outs: list[str] = []
    for n in nodes:
        for o in n.outputs:
            used_out = any(c.name not in inside for c in g.consumers(o))
            if (used_out or o in g.outputs) and o not in outs:
                outs.append(o)
    return tuple(ins), tuple(outs)


def segment_graph(g: Graph, nodes: Sequence[str], index: int) -> Graph:
    """The subgraph of the node set ``nodes`` of ``g`` as a graph of its own (its inputs are the
    boundary tensors it reads, its outputs those it hands on)."""
    ins, outs = _io(g, nodes)
    keep = set(nodes)
    sub = g.replace(name=f"{g.name}_seg{index}", nodes=tuple(n for n in g.nodes
                                                              if n.name in keep),
                    inputs=ins, outputs=outs)
    return verify(sub)


# --------------------------------------------------------------------------- costs
def _fabric_program(g: Graph, names: tuple[str, ...]) -> tuple[HwProgram, HostSplit]:
    return lower_segment(segment_graph(g, names, 0))


def fabric_cycles(program: HwProgram, params: CostParams) -> int:
    """Estimated cycles of ``program`` on the RTL chain (frame-0 latency, default folding)."""
    return int(estimate_rtl(program, clock_mhz=params.fabric_mhz).latency_cycles)


def _conv_instr(g: Graph, n: Node) -> int | None:
    """aarch64 instructions of a conv from the NEON kernels' C cost model (None if it cannot
    say: float, or the native library cannot be built here)."""
    try:
        from ..neon import bridge
    except Exception:       # pragma: no cover - import always works in this package
        return None
    a = attrs_of(n)
    xin, w = g.values[n.inputs[0]], g.values[n.inputs[1]]
    if xin.type.is_float or xin.type.bits > 16:
        return None
    dt = np.int8 if xin.type.bits <= 8 and w.type.bits <= 8 else np.int16
    _, c, h, wd = xin.shape
    ohwi = a.get("weight_layout", "OIHW") == "OHWI"        # plain Conv has no layout attribute
    wshape = w.shape if ohwi else (w.shape[0], w.shape[2], w.shape[3], w.shape[1])
    try:
        groups = int(a["groups"])
        # depthwise: AUTO's choice (the register-blocked DW kernel where it applies)
        op = bridge.conv_op(np.zeros((h, wd, c), dt), np.zeros(wshape, dt), None,
                            tuple(a["strides"]), tuple(a["pads"]), tuple(a["dilations"]),
                            groups, algo="auto" if groups != 1 else "sliding")
        return int(bridge.conv_cost(op, bridge.conv_algo(op)))
    except Exception:
        return None


def cpu_instructions(g: Graph, n: Node, params: CostParams) -> tuple[int, str]:
    """Estimated aarch64 instructions of unit ``n`` and the CPU engine that runs it
    (``neon``: a NEON kernel through BYOC; ``llvm``: TVM's LLVM code; ``host``)."""
    out = g.values[n.outputs[0]]
    elems = int(np.prod(out.shape[1:])) if out.shape else 1
    call = params.layer_call_instr
    if n.op in ("FusedConv", "Conv"):
        a = attrs_of(n)
        ins = [g.values[i] for i in n.inputs]
        from ..ir.ops import OPS
        macs = OPS[n.op].macs(n, ins, [out])
        # every conv goes through BYOC, grouped / depthwise ones too (int8 depthwise 3x3: the
        # register-blocked EP_ALGO_DW kernel); the NEON cost model estimates them
        conv = _conv_instr(g, n)
        if conv is None:
            conv = 3 * macs // 2 + 4 * elems
        pool = 0
        if a.get("pool"):
            k = int(np.prod(a.get("pool_kernel") or (2, 2)))
            pool = elems * k // 4 + elems
        return conv + pool + call, "neon"
    if n.op in ("FusedGemm", "Gemm", "MatMul"):
        from ..ir.ops import OPS
        macs = OPS[n.op].macs(n, [g.values[i] for i in n.inputs], [out])
        return macs // 6 + 8 * elems + call, "neon"
    if n.op == "Pool":
        a = attrs_of(n)
        xin = g.values[n.inputs[0]]
        k = int(np.prod(xin.shape[2:])) if a.get("global_") else int(np.prod(a["kernel"]))
        eng = "neon" if a["kind"] == "max" else "llvm"
        per = 4 if eng == "neon" else 1          # TVM's scalar-ish window sum + division
        return elems * k // per + 4 * elems + call, eng
    if n.op in HOST_OPS:
        src = g.values[n.inputs[0]]
        return 4 * int(np.prod(src.shape[1:])) + call, "host"
    if n.op in ("Flatten", "Reshape"):
        return call, "llvm"
    return 2 * elems + call, "llvm"


# --------------------------------------------------------------------------- placement
def _parse_pins(pins: Mapping[str, str] | Sequence[str] | None) -> dict[str, str]:
    if pins is None:
        return {}
    if isinstance(pins, Mapping):
        items = list(pins.items())
    else:
        items = []
        for p in pins:
            if "=" not in p:
                raise PlacementError(f"--place {p!r} is not NAME=cpu|fabric",
                                     "e.g. --place conv1=cpu (names: edgepool inspect MODEL "
                                     "--target BOARD)")
            k, v = p.rsplit("=", 1)
            items.append((k.strip(), v.strip()))
    out: dict[str, str] = {}
    for k, v in items:
        if v not in DEVICES:
            raise PlacementError(f"--place {k}={v}: device {v!r} is not cpu or fabric",
                                 "use NAME=cpu or NAME=fabric")
        out[k] = v
    return out


def _resolve(g_canon: Graph, fg: Graph, pins: dict[str, str]) -> dict[str, str]:
    """Pins by unit name; a canonical node name fused into a unit pins that unit."""
    units = {n.name for n in fg.nodes}
    # a fused node keeps the name of the Conv/Gemm it started from; its Requant is named after
    # the value it produced
    by_out = {o: n.name for n in fg.nodes for o in n.outputs}
    resolved: dict[str, str] = {}
    unknown = []
    for k, v in pins.items():
        if k in units:
            resolved[k] = v
            continue
        node = next((n for n in g_canon.nodes if n.name == k), None)
        if node is not None and node.outputs[0] in by_out:
            resolved[by_out[node.outputs[0]]] = v
        elif node is not None:
            cons = [c for c in fg.nodes if node.outputs[0] in c.inputs]
            unit = next((n.name for n in fg.nodes if any(
                i in node.outputs for i in n.inputs)), None) if cons else None
            if unit is None:
                unknown.append(k)
            else:
                resolved[unit] = v
        else:
            unknown.append(k)
    if unknown:
        raise PlacementError(
            f"--place names no layer of the model: {', '.join(repr(u) for u in unknown)}",
            "layer names: " + ", ".join(n.name for n in fg.nodes if not is_host(fg, n)))
    return resolved


def place(g: Graph, board, pins: Mapping[str, str] | Sequence[str] | None = None,
          params: CostParams | None = None, cpu_available: bool = True,
          require_fabric: bool = False) -> Placement:
    """Place every unit of ``g`` (canonical IR) on the fabric or the CPU of ``board``.

    ``pins`` (``{"layer": "cpu"|"fabric"}`` or ``["layer=cpu", ...]``) force layers; a pin that
    cannot be honoured raises :class:`PlacementError` naming the layer and why. With
    ``cpu_available=False`` (a board whose CPU has no TVM runtime, e.g. the PYNQ-Z2's
    Cortex-A9) the whole model must run on the fabric. ``require_fabric`` (a board build) keeps
    the best placement with a fabric segment even when the CPU alone is estimated faster."""
    params = params or CostParams.for_board(board)
    fg = fused(g)
    pin = _resolve(g, fg, _parse_pins(pins))
    nodes = list(fg.nodes)
    names = [n.name for n in nodes]
    work = [n for n in nodes if not is_host(fg, n)]
    for n in nodes:
        if is_host(fg, n) and pin.get(n.name) == FABRIC:
            raise PlacementError(f"layer {n.name!r} ({n.op}) cannot be pinned to the fabric: "
                                 "quantizing the input / dequantizing the output is host work",
                                 "pin a layer between them")
    # per unit: CPU instructions, fabric capability and cycles alone
    cpu_cost: dict[str, tuple[int, str]] = {n.name: cpu_instructions(fg, n, params)
                                            for n in nodes}
    alone: dict[str, int | None] = {}
    why: dict[str, str] = {}
    for n in work:
        try:
            alone[n.name] = fabric_cycles(_fabric_program(fg, (n.name,))[0], params)
        except EdgepoolError as e:
            alone[n.name] = None
            why[n.name] = _reason(e)
    for k, v in pin.items():
        if v == FABRIC and alone.get(k) is None and fg.node(k).op not in ("Flatten", "Reshape"):
            raise PlacementError(f"layer {k!r} ({fg.node(k).op}) cannot run on the fabric: "
                                 f"{why.get(k, 'not an accelerator layer')}",
                                 f"drop --place {k}=fabric (it runs on the CPU)")

    def cpu_us(unit_names: Sequence[str]) -> float:
        if not unit_names:
            return 0.0
        instr = sum(cpu_cost[u][0] for u in unit_names) + params.segment_call_instr
        return instr / (params.cpu_ipc * params.cpu_mhz)

    def fabric_us(window: tuple[str, ...]) -> float | None:
        try:
            prog, _ = _fabric_program(fg, window)
        except EdgepoolError:
            return None
        ins, outs = _io(fg, window)
        nbytes = sum(value_bytes(fg, v) for v in ins + outs)
        return (fabric_cycles(prog, params) / params.fabric_mhz + nbytes / params.hp_bytes_per_s
                * 1e6 + params.fabric_call_us)

    # candidate windows: contiguous (topological) runs of fabric-capable units
    idx = {nm: i for i, nm in enumerate(names)}
    fab_pins = sorted(idx[k] for k, v in pin.items() if v == FABRIC)
    best: tuple[float, int, int, int] | None = None       # (cost, -len, i, j)
    if not cpu_available and any(v == CPU for v in pin.values()):
        k = next(k for k, v in pin.items() if v == CPU)
        raise PlacementError(f"layer {k!r} cannot be pinned to the CPU of {board.name}: "
                             "its CPU has no TVM runtime here (fabric-only builds)",
                             "drop the --place pin, or build for a Cortex-A53 board")
    cpu_only = cpu_us(names)
    # without a CPU runtime every layer but the host's must be in the fabric window
    need = fab_pins if cpu_available else sorted(
        set(fab_pins) | {k for k, u in enumerate(names) if not is_host(fg, fg.node(u))})
    windows: dict[tuple[int, int], float] = {}
    for i in range(len(names)):
        for j in range(i, len(names)):
            window = tuple(names[i:j + 1])
            if any(is_host(fg, fg.node(u)) for u in window):
                break
            if any(pin.get(u) == CPU for u in window):
                break
            if all(fg.node(u).op in ("Flatten", "Reshape") or alone[u] is not None
                   for u in window) is False:
                break
            if need and not (i <= need[0] and need[-1] <= j):
                continue
            f = fabric_us(window)
            if f is None:
                continue
            cost = f + cpu_us(names[:i]) + cpu_us(names[j + 1:])
            windows[(i, j)] = cost
            cand = (round(cost, 9), -(j - i), i, j)
            if best is None or cand < best:
                best = cand
    if fab_pins and best is None and cpu_available:
        raise PlacementError(
            "the layers pinned to the fabric (" + ", ".join(
                names[i] for i in fab_pins) + ") do not form one chain the accelerator can "
            "stream (one fabric segment per build; every layer between them must run on the "
            "fabric)", "pin fewer layers to the fabric, or pin the ones in between too")
    if best is None and not cpu_available:
        raise PlacementError(
            f"{g.name} cannot run on {board.name}'s fabric alone and its CPU has no TVM "
            "runtime: " + _why_text(fg, why),
            "build for ultra96 / zcu104 (Cortex-A53 CPU segments) or cortex-a53")
    if best is None and require_fabric:
        raise PlacementError(
            f"no layer of {g.name} can run on the fabric: " + _why_text(fg, why),
            "build for cortex-a53")
    if best is not None and not fab_pins and best[0] >= cpu_only and cpu_available \
            and not require_fabric:
        best = None                                       # the CPU alone is at least as fast
    i, j = (best[2], best[3]) if best is not None else (len(names), len(names) - 1)
    if not cpu_available and (names[:i] or names[j + 1:]) and any(
            not is_host(fg, fg.node(u)) for u in names[:i] + names[j + 1:]):
        raise PlacementError(
            f"{g.name} needs CPU segments on {board.name} (" + ", ".join(
                u for u in names[:i] + names[j + 1:] if not is_host(fg, fg.node(u))) +
            "), whose Cortex-A9 (armv7) has no TVM runtime on the package registries",
            "build for ultra96 / zcu104, or for cortex-a53")
    parts = [(CPU, names[:i]), (FABRIC, names[i:j + 1]), (CPU, names[j + 1:])]
    segments: list[Segment] = []
    for dev, units in parts:
        if not units:
            continue
        ins, outs = _io(fg, units)
        est = fabric_us(tuple(units)) if dev == FABRIC else cpu_us(units)
        segments.append(Segment(len(segments), dev, tuple(units), ins, outs,
                                sum(value_bytes(fg, v) for v in ins),
                                sum(value_bytes(fg, v) for v in outs), float(est or 0.0)))
    seg_of = {u: s.index for s in segments for u in s.nodes}
    dev_of = {u: s.device for s in segments for u in s.nodes}
    layers = []
    for n in nodes:
        instr, eng = cpu_cost[n.name]
        dev = dev_of[n.name]
        layers.append(LayerPlacement(
            n.name, n.op, dev, "rtl" if dev == FABRIC else eng, seg_of[n.name],
            alone.get(n.name), int(instr), value_bytes(fg, n.outputs[0]), tuple(n.outputs),
            pin.get(n.name), "" if n.op in ("Flatten", "Reshape") else why.get(n.name, "")))
    fseg = next((s for s in segments if s.device == FABRIC), None)
    boundary = (fseg.in_bytes + fseg.out_bytes) if fseg is not None and len(segments) > 1 else 0
    hetero = sum(s.est_us for s in segments)
    # the whole model (but the host's quantize / dequantize) on the fabric: the same formula
    inner = [idx[u] for u in names if not is_host(fg, fg.node(u))]
    fab_only = None                       # pins do not apply to this reference figure
    if inner:
        f = fabric_us(tuple(names[inner[0]:inner[-1] + 1]))
        if f is not None:
            fab_only = f + cpu_us(names[:inner[0]]) + cpu_us(names[inner[-1] + 1:])
    fab_reason = "" if fab_only is not None else _why_text(fg, why)
    cpu_part = sum(s.est_us for s in segments if s.device == CPU)
    fab_part = sum(s.est_us for s in segments if s.device == FABRIC)
    pipelined = max(cpu_part, fab_part) if fseg is not None else hetero
    p = Placement(g.name, getattr(board, "name", str(board)), "rtl", tuple(layers),
                  tuple(segments), hetero, cpu_only, fab_only, fab_reason, pipelined, boundary,
                  params)
    check_boundaries(fg, p)
    return p


def _why_text(fg: Graph, why: dict[str, str]) -> str:
    """Why the fabric refuses layers, one clause per layer (flattens are transparent)."""
    return "; ".join(v for k, v in why.items()
                     if fg.node(k).op not in ("Flatten", "Reshape")) or "not one accelerator chain"


def _reason(e: EdgepoolError) -> str:
    problems = getattr(e, "problems", None)
    text = "; ".join(problems) if problems else e.message
    return text.replace("\n", " ")


def check_boundaries(fg: Graph, p: Placement) -> None:
    """Invariants of a placement: every unit in exactly one segment, segments alternate device
    (no boundary where a chain could have continued on the same device), every segment input
    is a graph input or an output of an earlier segment, at most one fabric segment."""
    seen: dict[str, int] = {}
    for s in p.segments:
        for u in s.nodes:
            if u in seen:
                raise PlacementError(f"layer {u!r} is in segments {seen[u]} and {s.index}")
            seen[u] = s.index
    missing = [n.name for n in fg.nodes if n.name not in seen]
    if missing:
        raise PlacementError(f"layers in no segment: {', '.join(missing)}")
    for a, b in zip(p.segments, p.segments[1:]):
        if a.device == b.device:
            raise PlacementError(f"segments {a.index} and {b.index} are both on {a.device}: "
                                 "one chain was split without a device change")
    if sum(s.device == FABRIC for s in p.segments) > 1:
        raise PlacementError("more than one fabric segment (the accelerator is one chain)")
    avail = set(fg.inputs)
    for s in p.segments:
        for i in s.inputs:
            if i not in avail:
                raise PlacementError(f"segment {s.index} reads {i!r}, which no earlier segment "
                                     "produces")
        avail.update(s.outputs)
    if not set(fg.outputs) <= avail:
        raise PlacementError("the graph outputs are not produced by any segment")


# --------------------------------------------------------------------------- execution
def run_partitioned(fg: Graph, p: Placement, x: np.ndarray, run_cpu, run_fabric
                    ) -> dict[str, np.ndarray]:
    """Run the placed graph segment by segment: ``run_cpu(index, seg_graph, inputs: dict)`` and
    ``run_fabric(index, seg_graph, x_codes)`` return the segment's outputs (dict / array). The
    boundary tensors are handed on by name; returns every graph output by name."""
    env: dict[str, np.ndarray] = {fg.inputs[0]: np.asarray(x)}
    for s in p.segments:
        sg = segment_graph(fg, s.nodes, s.index)
        if s.device == FABRIC:
            (src,), (dst,) = s.inputs, s.outputs
            env[dst] = np.asarray(run_fabric(s.index, sg, env[src]))
        else:
            res = run_cpu(s.index, sg, {i: env[i] for i in s.inputs})
            env.update(res)
    return {o: env[o] for o in fg.outputs}


def reference_cpu(index: int, sg: Graph, inputs: dict) -> dict[str, np.ndarray]:
    """A CPU segment through the golden interpreter."""
    res = sg.run(inputs, as_dict=True)
    return {k: np.asarray(v) for k, v in res.items()}
