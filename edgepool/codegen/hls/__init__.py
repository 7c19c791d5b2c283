# SPDX-License-Identifier: Apache-2.0
"""HLS code generation: a lowered :class:`~edgepool.accel.program.HwProgram` plus a hardware
configuration (:class:`~edgepool.accel.engine.HlsConfig`) → a self-contained Vitis HLS project in
``<build>/hls/``.

Generated files (names never derive from raw model text; see :mod:`edgepool.codegen.names`):

* ``<model>_config.h``: dataflow: one config struct per layer and the stream sizes;
  overlay: the ``ovl_cfg`` capacities and the memory plan;
* ``<model>_weights.h`` (dataflow): weight / bias ROMs as constant arrays;
* ``desc.bin``, ``weights.bin``, ``bias.bin`` (overlay): descriptors (40 words per layer),
  weight words, int64 biases, exactly what the driver writes to DDR;
* ``edgepool_top.h`` / ``.cpp``: dataflow ``edgepool_top`` (AXI-Stream in/out with TLAST,
  ``ap_ctrl_hs`` s_axilite control as the RTL IP's, DATAFLOW) or overlay
  ``edgepool_overlay`` (m_axi + s_axilite, ap_ctrl_hs);
* ``tb_edgepool.cpp``: testbench looping over the frames of a binary file (g++ here, Vitis
  ``csim_design`` / ``cosim_design``); ``tb_input.bin`` / ``tb_expected.bin``: a few random
  frames and their golden outputs (the testbench self-checks against them). Programs of more
  than :data:`TB_REF_MAX_MACS` MACs (VGG16: 15.5 G) get ONE frame and no ``tb_expected.bin``
  (the NumPy golden model would take minutes per frame): :func:`write_tb_expected` computes it
  on demand, and the testbench skips the self-check while the file is absent;
* ``run_hls.tcl``: ``vitis_hls -f run_hls.tcl`` (csim, csynth, cosim, export IP);
* ``include/edgepool``, ``tb/tb_util.h``: a copy of the HLS library (the project is complete);
* ``design.json``: what the executors and the vendor stage read (style, top, frame formats).

The engines themselves are the hand-written library ``hls/include/edgepool``; the generator
emits configuration structs and glue only.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from ...accel import axis
from ...accel import descriptor as hd
from ...accel.folding import config_folding, default_config
from ...accel.manifest import (
    DmaSection,
    DmaStream,
    Estimates,
    HlsSection,
    RegMap,
    decode,
    load_program,
)
from ...accel.program import HwProgram, run_reference
from ...accel.regmap import DATAFLOW_CONTROL, default_regmap, validate_regmap
from ...dse.cost import HlsConfig
from ...dse.explore import estimates, evaluate_config
from ...dse.space import pool_sum_bits
from ...errors import ConfigError
from ...targets import Board
from ...toolchain import REPO_ROOT
from ..names import IdentTable, check_safe, comment_text, file_stem
from .emit import (
    DataflowNames,
    dataflow_context,
    emit_dataflow_top,
    overlay_params_ctx,
    render,
    stream_sizes,
)

__all__ = ["generate_for_build", "HlsBuild", "generate", "emit_dataflow_top", "default_config",
           "TOPS", "HLS_LIBRARY", "design_meta"]

HLS_LIBRARY = REPO_ROOT / "hls"
#: top function per style (must match edgepool.accel.regmap's IP VLNV)
TOPS = {"dataflow": "edgepool_top", "overlay": "edgepool_overlay"}
PROJECT = "edgepool_hls"
TB_FRAMES = 4                 # frames in tb_input.bin (Vitis csim / cosim self-check)
TB_REF_MAX_MACS = 200_000_000  # above: 1 testbench frame, tb_expected.bin computed on demand
DESIGN_JSON = "design.json"


def _layer_names(program: HwProgram, table: IdentTable) -> tuple[list[DataflowNames], list]:
    names, info = [], []
    seen: set[str] = set()
    for i, layer in enumerate(program.layers):
        key = layer.name if layer.name not in seen else f"{layer.name}#{i}"   # duplicates
        seen.add(layer.name)
        ident = table.get(key, prefix="layer")
        nm = DataflowNames(table.claim(f"{ident}_cfg"), table.claim(f"{ident}_pool_cfg"),
                           table.claim(f"{ident}_w"), table.claim(f"{ident}_b"),
                           table.claim(f"{ident}_thr_cfg"), table.claim(f"{ident}_t"),
                           table.claim(f"{ident}_d"))
        names.append(nm)
        info.append({"index": i, "name": layer.name, "ident": ident})
    return names, info


def _copy_library(dst: Path) -> list[str]:
    files = []
    for src in sorted((HLS_LIBRARY / "include" / "edgepool").glob("*.h")):
        (dst / "include" / "edgepool").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst / "include" / "edgepool" / src.name)
        files.append(f"include/edgepool/{src.name}")
    (dst / "tb").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(HLS_LIBRARY / "tb" / "tb_util.h", dst / "tb" / "tb_util.h")
    files.append("tb/tb_util.h")
    return files


def _tb_frames(program: HwProgram, n: int) -> list[np.ndarray]:
    t = program.in_type
    rng = np.random.default_rng(20240601)
    return [rng.integers(t.min, t.max, size=program.in_shape, endpoint=True) for _ in range(n)]


def ap_int_max_w(bits: int) -> int:
    """``AP_INT_MAX_W`` for the widest word of a design (1024 = ap_int's default; 4096 at most
    for Vitis HLS)."""
    if bits > 4096:
        raise ConfigError(f"a {bits}-bit word exceeds ap_int's 4096-bit limit",
                          "lower PE x SIMD x weight bits")
    return max(1024, 1 << (bits - 1).bit_length())


def pad_input(x: np.ndarray, in_shape: tuple[int, int, int]) -> np.ndarray:
    """An (H, W, C) image zero-padded to ``in_shape``'s channels (overlay channel padding)."""
    x = np.asarray(x)
    return np.pad(x, ((0, 0), (0, 0), (0, in_shape[2] - x.shape[2])))


def overlay_fit(program: HwProgram, cfg: HlsConfig) -> tuple[HlsConfig, hd.OverlayParams]:
    """``cfg`` widened where ``program`` needs it on the overlay: the activation container must
    hold every activation BETWEEN layers (the program input, every layer's input); a final raw
    accumulator wider than that gets the wide output container ``out_bits`` (OUT_BITS) instead
    of widening every buffer; the accumulator / weight / pool-sum widths every layer's. Returns
    the config actually built (equal to a dse-chosen config: the dse sizes it the same way)."""
    convs = [layer for layer in program.layers if layer.kind == "conv"]
    act = max(axis.container_bits(t.bits) for t in
              [program.in_type] + [layer.out_type for layer in program.layers[:-1]])
    act = max(act, cfg.act_bits)
    last = axis.container_bits(program.layers[-1].out_type.bits)
    out_bits = max(cfg.out_bits, last) if max(cfg.out_bits, last) > act else 0
    sum_bits = min(64, pool_sum_bits(program, act))          # the dse's rule
    new = dataclasses.replace(
        cfg, act_bits=act, out_bits=out_bits,
        acc_bits=max([cfg.acc_bits] + [layer.acc_bits for layer in convs]),
        w_bits=max([cfg.w_bits] + [layer.weight_type.bits for layer in convs]),
        sum_bits=max(cfg.sum_bits, sum_bits))
    return new, new.overlay_params()


def program_macs(program: HwProgram) -> int:
    """Multiply-accumulates of one frame of ``program``."""
    return sum(layer.macs for layer in program.layers)


def write_tb_expected(hls_dir: Path, program: HwProgram | None = None) -> Path:
    """Compute ``tb_expected.bin`` of a generated project from its ``tb_input.bin`` with the
    golden model (``run_reference``; minutes per frame for VGG16, hence on demand). ``program``:
    the build's lowered program (default: loaded from the build directory)."""

    hls_dir = Path(hls_dir)
    meta = design_meta(hls_dir.parent)
    if program is None:
        program, _ = load_program(hls_dir.parent)
    ti, to = meta["tb"]["input"], meta["tb"]["output"]
    data = (hls_dir / "tb_input.bin").read_bytes()
    out = []
    if meta["style"] == "overlay":
        p = hd.OverlayParams(**meta["overlay"]["params"])
        program = hd.plan_program(program, p).program
    for k in range(len(data) // ti["frame_bytes"]):
        x = axis.unpack(data[k * ti["frame_bytes"]:(k + 1) * ti["frame_bytes"]], ti["elems"],
                        ti["bits"], ti["signed"]).reshape(program.in_shape)
        out.append(axis.pack(run_reference(program, x), to["bits"], to["signed"]))
    path = hls_dir / "tb_expected.bin"
    path.write_bytes(b"".join(out))
    return path


def design_meta(build_dir: Path) -> dict[str, Any]:
    """The ``hls/design.json`` of a build directory."""
    return json.loads((Path(build_dir) / "hls" / DESIGN_JSON).read_text())


def generate(program: HwProgram, cfg: HlsConfig, out_dir: Path, *, model_name: str,
             board: Any, tb_frames: int = TB_FRAMES) -> dict[str, Any]:
    """Write the Vitis HLS project of ``program`` on ``cfg`` into ``out_dir`` (the build's
    ``hls/``) and return its description (also written as ``design.json``)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    style = cfg.style
    if style not in TOPS:
        raise ConfigError(f"unknown accelerator style {style!r}", "dataflow or overlay")
    top = TOPS[style]
    table = IdentTable({top, "edgepool_design", "d", "ovl_cfg", "OT", "axis_t"})
    stem = file_stem(program.name)
    ns = table.claim(f"ep_{stem}")
    names, layer_info = _layer_names(program, table)
    labels = [comment_text(info["ident"]) for info in layer_info]
    config_header = f"{stem}_config.h"
    weights_header = f"{stem}_weights.h"
    common = dict(ns=ns, top=top, model_label=comment_text(program.name),
                  config_header=config_header, weights_header=weights_header)
    files: dict[str, str | bytes] = {}
    big = program_macs(program) > TB_REF_MAX_MACS
    frames = _tb_frames(program, 1 if big else tb_frames)
    tb_frames = len(frames)
    orig_in, orig_out = program.in_shape, program.out_shape
    meta: dict[str, Any] = {"style": style, "top": top, "namespace": ns, "project": PROJECT,
                            "config_header": config_header, "layers": layer_info,
                            "tb_expected": "omitted: the program has more than "
                            f"{TB_REF_MAX_MACS:,} MACs; write_tb_expected() computes it"
                            if big else "tb_expected.bin"}
    guard = f"EDGEPOOL_{stem.upper()}"
    if style == "dataflow":
        folding = config_folding(program, cfg)
        beat = cfg.dma_bits // 8
        ctx = dataflow_context(program, folding, beat, names, src="in_stream",
                               dst="out_stream", labels=labels)
        sizes = stream_sizes(program, beat)
        widest = max(max(pe * simd * layer.weight_type.bits, simd * layer.in_type.bits,
                         pe * layer.out_type.bits) if layer.kind == "conv"
                     else simd * layer.in_type.bits
                     for layer, (pe, simd) in zip(program.layers, folding, strict=True))
        files[config_header] = render("dataflow_config.h.j2", guard=f"{guard}_CONFIG_H",
                                      ap_int_max_w=ap_int_max_w(widest), **common, **ctx,
                                      **sizes)
        files[weights_header] = render("dataflow_weights.h.j2", guard=f"{guard}_WEIGHTS_H",
                                       **common, **ctx)
        files["edgepool_top.h"] = render("dataflow_top.h.j2", **common)
        files["edgepool_top.cpp"] = render("dataflow_top.cpp.j2", control=DATAFLOW_CONTROL,
                                           **common, **ctx)
        files["tb_edgepool.cpp"] = render("tb_dataflow.cpp.j2", **common)
        in_t, out_t = program.in_type, program.out_type
        files["tb_input.bin"] = b"".join(axis.pack(x, in_t.bits, in_t.signed, beat)
                                         for x in frames)
        if not big:
            files["tb_expected.bin"] = b"".join(
                axis.pack(run_reference(program, x), out_t.bits, out_t.signed) for x in frames)
        meta.update(
            folding=[list(f) for f in folding], beat_bytes=beat, control=DATAFLOW_CONTROL,
            sources=["edgepool_top.cpp"], tb_data=[],
            tb={"input": {"bits": in_t.bits, "signed": in_t.signed,
                          "elems": sizes["in_elems"], "beat_bytes": beat,
                          "frame_bytes": sizes["in_beats"] * beat},
                "output": {"bits": out_t.bits, "signed": out_t.signed,
                           "elems": sizes["out_elems"], "frame_bytes": sizes["out_bytes"]}},
            stream=sizes)
    else:
        cfg, p = overlay_fit(program, cfg)
        plan = hd.plan_program(program, p)
        program, pad_notes, img = plan.program, list(plan.notes), plan.image
        frames = [pad_input(x, program.in_shape) for x in frames]
        in_elems, out_elems = int(np.prod(program.in_shape)), int(np.prod(program.out_shape))
        act_bytes, out_bytes = p.act_bits // 8, img.out_bits // 8
        mem = dict(n_layers=img.n_layers, w_words=img.weight_words,
                   b_entries=int(img.bias.size), act_words=img.act_words,
                   in_addr=img.in_addr, out_addr=img.out_addr, in_elems=in_elems,
                   out_elems=out_elems, out_bits=img.out_bits,
                   out_words=out_elems * img.out_bits // (p.simd * p.act_bits))
        files[config_header] = render("overlay_config.h.j2", guard=f"{guard}_CONFIG_H",
                                      params=overlay_params_ctx(p, "ovl_cfg"),
                                      ap_int_max_w=ap_int_max_w(
                                          max(p.pe * p.simd * p.w_bits,
                                              p.pe * p.out_container)),
                                      **common, **mem)
        files["edgepool_top.h"] = render("overlay_top.h.j2", **common)
        files["edgepool_top.cpp"] = render(
            "overlay_top.cpp.j2", depth_desc=int(img.desc.size),
            depth_w=max(1, img.weight_words), depth_b=max(1, int(img.bias.size)),
            depth_act=img.act_words, **common)
        files["tb_edgepool.cpp"] = render("tb_overlay.cpp.j2", **common)
        files["desc.bin"] = img.desc.astype("<u4").tobytes()
        files["weights.bin"] = img.weights
        files["bias.bin"] = np.asarray(img.bias, "<i8").tobytes()
        sign_in, sign_out = program.in_type.signed, program.out_type.signed
        files["tb_input.bin"] = b"".join(hd.pack_activations(x, p, sign_in) for x in frames)
        if not big:
            files["tb_expected.bin"] = b"".join(
                axis.pack(run_reference(program, x), img.out_bits, sign_out) for x in frames)
        meta.update(
            control="ap_ctrl_hs", sources=["edgepool_top.cpp"],
            tb_data=["desc.bin", "weights.bin", "bias.bin"],
            pad={"in_c": [orig_in[2], program.in_shape[2]],
                 "out_c": [orig_out[2], program.out_shape[2]],
                 "out_shape": list(program.out_shape), "notes": pad_notes},
            overlay={"params": dataclasses.asdict(p), **mem,
                     "desc_bytes": int(img.desc.size) * 4, "weight_bytes": len(img.weights),
                     "bias_bytes": int(img.bias.size) * 8,
                     "act_bytes": img.act_words * p.simd * act_bytes},
            tb={"input": {"bits": p.act_bits, "signed": sign_in, "elems": in_elems,
                          "frame_bytes": in_elems * act_bytes},
                "output": {"bits": img.out_bits, "signed": sign_out, "elems": out_elems,
                           "frame_bytes": out_elems * out_bytes}})
    board_name = check_safe(board.name)
    period = 1000.0 / float(cfg.clock_mhz)
    files["run_hls.tcl"] = render(
        "run_hls.tcl.j2", style=style, model_label=common["model_label"], board=board_name,
        part=check_safe(board.part), clock_mhz=f"{float(cfg.clock_mhz):g}",
        period_ns=f"{period:.3f}", project=PROJECT, top=top, sources=meta["sources"],
        tb_files=["tb_input.bin", *(["tb_expected.bin"] if not big else []),
                  *meta["tb_data"]])
    for name, content in files.items():
        check_safe(name)
        path = out_dir / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    library = _copy_library(out_dir)
    meta.update(generated=sorted(files), library=library, tb_frames=tb_frames,
                board=board_name, part=board.part, clock_mhz=float(cfg.clock_mhz),
                config=dataclasses.asdict(cfg))
    (out_dir / DESIGN_JSON).write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n")
    return meta


def _regmap(style: str, family: str, top: str, dma_bits: int) -> dict[str, Any]:

    return validate_regmap(default_regmap(style, family, top=top, dma_bits=dma_bits,
                                          control=DATAFLOW_CONTROL))


@dataclasses.dataclass(frozen=True)
class HlsBuild:
    """What the build's ``hls`` step produced: the configuration the design was generated for
    (``defaulted``: none was given; ``widened``: the overlay needed wider containers than the
    given one), the cost-model estimates of a widened configuration, and the manifest sections
    ``regmap``, ``hls`` and ``dma``."""

    config: HlsConfig
    defaulted: bool
    widened: bool
    estimates: Estimates | None
    regmap: RegMap
    section: HlsSection
    dma: DmaSection
    notes: tuple[str, ...]


def generate_for_build(program: HwProgram, board: Board, cfg: HlsConfig | None,
                       build_dir: Path, *, estimate: bool = False) -> HlsBuild:
    """The build's ``hls`` step: emit ``<build_dir>/hls/`` from ``program`` and ``cfg`` (a
    default dataflow configuration when the dse step chose none); return the design's register
    map, manifest sections and notes. ``estimate``: re-compute the cost model's estimates when
    the configuration had to be widened (so that they describe what is generated)."""
    notes: list[str] = []
    defaulted = cfg is None
    if cfg is None:
        cfg = default_config(program, board.clocks["default_mhz"], "dataflow")
        notes.append(f"hls: no dse configuration; default dataflow folding (PE, SIMD) = "
                     f"{list(zip(cfg.pe, cfg.simd, strict=True))} at {cfg.clock_mhz:g} MHz")
    out = Path(build_dir) / "hls"
    if out.exists():
        shutil.rmtree(out)
    meta = generate(program, cfg, out, model_name=program.name, board=board)
    built = HlsConfig(**{k: tuple(v) if isinstance(v, list) else v
                         for k, v in meta["config"].items()})
    widened = built != cfg
    est = None
    if widened:                                    # the overlay needed wider containers
        changed = {k: (getattr(cfg, k), getattr(built, k)) for k in meta["config"]
                   if getattr(cfg, k) != getattr(built, k)}
        notes.append(f"hls: configuration widened for this program: {changed}")
        cfg = built
        if estimate:                               # describe what is generated, not the dse's
            est = decode(Estimates, estimates(evaluate_config(program, board, built)),
                         "estimates")
            notes.append("hls: estimates re-computed for the widened configuration")
    for n in meta.get("pad", {}).get("notes", []):
        notes.append(f"hls: overlay channel padding: {n}")
    regmap = RegMap(_regmap(cfg.style, board.family, meta["top"], cfg.dma_bits))
    section = HlsSection(
        style=cfg.style, top=meta["top"], dir="hls", design=f"hls/{DESIGN_JSON}",
        project=PROJECT, tcl="hls/run_hls.tcl", clock_mhz=float(cfg.clock_mhz), config=cfg,
        files=tuple(f"hls/{f}" for f in meta["generated"]))
    if cfg.style == "dataflow":
        s = meta["stream"]
        beat = meta["beat_bytes"]
        dma = DmaSection(
            style="dataflow", beat_bytes=beat, beat_bits=8 * beat,
            input_bytes=s["in_beats"] * beat, output_bytes=s["out_bytes"],
            output_buffer_bytes=s["out_beats"] * beat,
            input=DmaStream(elems=s["in_elems"], bits=s["in_bits"], container=s["in_cont"]),
            output=DmaStream(elems=s["out_elems"], bits=s["out_bits"], container=s["out_cont"]))
    else:
        o = meta["overlay"]
        act_bytes = o["params"]["act_bits"] // 8
        dma = DmaSection(
            style="overlay", beat_bits=cfg.dma_bits, beat_bytes=cfg.dma_bits // 8,
            input_bytes=o["in_elems"] * act_bytes,
            output_bytes=o["out_elems"] * o["out_bits"] // 8,
            output_buffer_bytes=o["out_elems"] * o["out_bits"] // 8,
            act_buffer_bytes=o["act_bytes"], desc_bytes=o["desc_bytes"],
            weight_bytes=o["weight_bytes"], bias_bytes=o["bias_bytes"],
            in_offset_bytes=o["in_addr"] * o["params"]["simd"] * act_bytes,
            out_offset_bytes=o["out_addr"] * o["params"]["simd"] * act_bytes,
            n_layers=o["n_layers"], out_elem_bits=o["out_bits"],
            files={"desc": "hls/desc.bin", "weights": "hls/weights.bin",
                   "bias": "hls/bias.bin"})
    notes.append(f"hls: {cfg.style} design, top {meta['top']}, {len(meta['generated'])} "
                 "generated files in hls/ (C simulation: edgepool run OUT --backend csim)")
    return HlsBuild(cfg, defaulted, widened, est, regmap, section, dma, tuple(notes))
