# SPDX-License-Identifier: Apache-2.0
"""A build directory's ``manifest.json``: typed sections, (de)serialized in one place.

The build writes the manifest (each stage its own sections, see :mod:`edgepool.build.stages`);
executors, the simulated device and the PYNQ driver (also in the standalone board package, so
this module needs only the standard library, numpy and the accelerator's own modules) read it
through :class:`Manifest`. Every section is a small dataclass; :func:`encode` / :func:`decode`
are the one conversion between them and JSON, driven by the dataclasses' type hints, so a
missing, mistyped or unknown field is always the same typed :class:`~edgepool.errors.ManifestError`
naming the section, the field and the fix.

The on-disk JSON is ``format`` 1 (unchanged from the dict-based writer): top-level keys are the
section names below; keys this version does not know (written by a newer or a sibling tool) are
kept in :attr:`Manifest.extra` and written back unchanged.
"""

from __future__ import annotations

import dataclasses
import json
import numbers
import types
import typing
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

from ..config import BuildConfig
from ..errors import ConfigError, EdgepoolError, ManifestError
from . import regmap as R
from .engine import HlsConfig, OverlayParams
from .program import HostSplit, HwProgram, program_from_json

MANIFEST = "manifest.json"
#: the manifest format this version writes and reads
FORMAT = 1
REBUILD = ("rebuild the directory (`edgepool build MODEL --target T -o DIR --force`), or resume "
           "from the stage that writes that section (`--from STAGE`)")

T = TypeVar("T")


def _opt() -> Any:
    """A field that is absent from the JSON when it is ``None``."""
    return field(default=None, metadata={"omit": True})


# --------------------------------------------------------------------------- sections
@dataclass(frozen=True)
class TensorSpec:
    """A graph input or output: name, static NCHW / N×K shape, its IR type."""

    name: str
    shape: tuple[int, ...]
    type: str


@dataclass(frozen=True)
class ModelSection:
    """``model`` (stage import): the imported model and its graph inputs / outputs."""

    name: str
    source: str
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]


@dataclass(frozen=True)
class TargetSection:
    """``target``: the board (fpga: part, board part, PYNQ board) or CPU (triple)."""

    name: str
    kind: Literal["fpga", "cpu"]
    part: str | None = _opt()
    board_part: str | None = _opt()
    pynq_board: str | None = _opt()
    triple: str | None = _opt()

    @property
    def family(self) -> str:
        """PS family (``zynquplus`` / ``zynq``) of the board's part."""
        part = self.part or ""
        if part.startswith("xczu"):
            return "zynquplus"
        if part.startswith("xc7z"):
            return "zynq"
        raise ManifestError(f"part {part!r} is not a Zynq device", "build for a PYNQ board")


@dataclass(frozen=True)
class ProgramSection:
    """``program`` (stage lower): the accelerator program's files and size."""

    file: str
    weights: str
    layers: int
    macs: int


@dataclass(frozen=True)
class ConfigSection:
    """``config`` (stage dse, or hls's default): the chosen engine configuration and the
    summary report.md shows (free-form scalars: label, style, folding, clock note, ...)."""

    hls: HlsConfig
    summary: dict[str, str | int | float | bool | None] = field(default_factory=dict)

    @property
    def style(self) -> str:
        """The configuration's accelerator style."""
        return self.hls.style


@dataclass(frozen=True)
class Estimates:
    """``estimates`` (stages dse, hls): the cost model's figures of the configuration (estimated,
    not measured)."""

    latency_s: float
    gops: float
    fps: float
    cycles: int
    interval_cycles: int
    clock_mhz: float
    dsp: int
    bram36: int
    lut: int
    dsp_util: float
    bram_util: float
    lut_util: float
    macs: int
    memory_bound_fraction: float


@dataclass(frozen=True)
class Budget:
    """``budget`` (stage dse): the resources a design may use and the clock cap."""

    dsp: int
    bram36: int
    lut: int
    clock_mhz: float


@dataclass(frozen=True)
class DseSection:
    """``dse`` (stage dse): where the exploration wrote its outputs, and how many points."""

    dir: str
    candidates: int
    fitting: int
    pareto: int


@dataclass(frozen=True)
class HlsSection:
    """``hls`` (stage hls): the generated HLS design."""

    style: Literal["dataflow", "overlay"]
    top: str
    dir: str
    design: str
    project: str
    tcl: str
    clock_mhz: float
    config: HlsConfig
    files: tuple[str, ...]


@dataclass(frozen=True)
class DmaStream:
    """One end of the dataflow design's AXI stream: elements, element bits, container bits."""

    elems: int
    bits: int
    container: int


@dataclass(frozen=True)
class DmaSection:
    """``dma`` (stage hls): buffer sizes the driver allocates. ``input``/``output`` are the
    dataflow stream ends; the rest of the optional fields describe the overlay's buffers."""

    style: Literal["dataflow", "overlay"]
    beat_bits: int
    beat_bytes: int
    input_bytes: int
    output_bytes: int
    output_buffer_bytes: int
    input: DmaStream | None = _opt()
    output: DmaStream | None = _opt()
    act_buffer_bytes: int | None = _opt()
    desc_bytes: int | None = _opt()
    weight_bytes: int | None = _opt()
    bias_bytes: int | None = _opt()
    in_offset_bytes: int | None = _opt()
    out_offset_bytes: int | None = _opt()
    n_layers: int | None = _opt()
    out_elem_bits: int | None = _opt()
    files: dict[str, str] | None = _opt()


@dataclass(frozen=True)
class RtlFolding:
    """Folding of one RTL layer."""

    pe: int
    simd: int
    pool_simd: int
    #: elements per beat into a fused pool; absent (None) = 1, so builds without it keep the
    #: manifest older readers know
    link_lanes: int | None = _opt()


@dataclass(frozen=True)
class RtlAccelSection:
    """``rtl.accel``: the dataflow IP around the datapath (``ep_accel``, AXI4-Lite ap_ctrl_hs +
    DMA-width AXI4-Stream) and its Vivado packaging script."""

    top: str
    vlnv: str
    sources: tuple[str, ...]
    beat_bytes: int
    registers: dict[str, dict[str, Any]]
    package_tcl: str | None = _opt()


@dataclass(frozen=True)
class RtlSection:
    """``rtl`` (stage rtl): the generated SystemVerilog, or why the program has none."""

    dir: str
    top: str
    supported: bool
    reason: tuple[str, ...]
    files: tuple[str, ...]
    weights: int | None = _opt()
    folding_source: str | None = _opt()
    folding: dict[str, RtlFolding] | None = _opt()
    folding_notes: tuple[str, ...] | None = _opt()
    design: str | None = _opt()
    sources: tuple[str, ...] | None = _opt()
    window_beats: dict[str, int] | None = _opt()
    interval_cycles: int | None = _opt()
    in_bits: int | None = _opt()
    out_bits: int | None = _opt()
    out_container_bits: int | None = _opt()
    clock_mhz: float | None = _opt()
    accel: RtlAccelSection | None = _opt()
    #: overlay builds on the RTL engine: the RTL overlay IP (``rtl/overlay/``, packaged by
    #: its ``package_overlay_ip.tcl``; m_axi_gmem instead of the dataflow IP's streams)
    overlay: RtlAccelSection | None = _opt()


@dataclass(frozen=True)
class EngineSection:
    """``engine`` (stage engine): which implementation of the accelerator the build uses
    (``rtl``: the SystemVerilog IP of the rtl stage; ``hls``: the Vitis HLS IP), why, and for
    the RTL the cycle estimate of its own model (``edgepool.dse.cost.estimate_rtl``)."""

    name: str
    reason: str
    style: str
    requested: str = "auto"
    rtl_problems: tuple[str, ...] = ()
    #: estimate_rtl of the chosen configuration (RTL builds): latency_cycles,
    #: interval_cycles, clock_mhz, fps, latency_s, model (estimated, not measured)
    estimate: dict[str, str | int | float] | None = _opt()
    #: ``--synth``: Yosys synth_xilinx of the generated IP top (LUT, FF, DSP, BRAM, logic
    #: depth; a synthesis estimate, not placed and routed)
    synth: dict[str, str | int | float] | None = _opt()


@dataclass(frozen=True)
class FilesSection:
    """``files`` (stage vendor): the design sources that go to the vendor tools."""

    hls: tuple[str, ...]
    vivado: tuple[str, ...]


@dataclass(frozen=True)
class VendorSection:
    """``vendor`` (stage vendor): the Vivado scripts, and the bitstream when the tools ran."""

    dir: str
    script: str
    bd: str
    command: str
    tools: dict[str, bool]
    built: bool
    bitstream: str | None = _opt()
    hwh: str | None = _opt()
    log: str | None = _opt()


@dataclass(frozen=True)
class BundleSection:
    """``bundle`` (stage bundle): the zip to copy to the board."""

    file: str
    bytes: int
    sha256: str
    bitstream: bool
    entries: int


@dataclass(frozen=True)
class CpuTensor:
    """An input / output of the compiled CPU model (``fixed_point``: the quantized type)."""

    name: str
    shape: tuple[int, ...]
    dtype: str
    type: str
    fixed_point: str | None = _opt()


@dataclass(frozen=True)
class CpuIo:
    inputs: tuple[CpuTensor, ...]
    outputs: tuple[CpuTensor, ...]


@dataclass(frozen=True)
class CpuOffload:
    external_functions: int
    composites: int
    kinds: dict[str, int]


@dataclass(frozen=True)
class TvmCompiled:
    ops: int
    by_op: dict[str, int]


@dataclass(frozen=True)
class CpuSection:
    """``cpu`` (stage cpu): the compiled model library, its runner and what runs where."""

    triple: str
    offload: bool
    library: str
    runner: str
    runner_source: str
    model_io: str
    generated_c: str | None
    io: CpuIo
    offloaded: CpuOffload
    tvm_compiled: TvmCompiled
    files: tuple[str, ...]
    how_to_run: str | None = _opt()


#: the register map: its own format, checked by :func:`edgepool.accel.regmap.validate_regmap`
RegMap = typing.NewType("RegMap", dict)


@dataclass
class Manifest:
    """The whole ``manifest.json``. Sections are ``None`` until their stage ran."""

    format: int = FORMAT
    edgepool_version: str = ""
    target: TargetSection | None = _opt()
    stages: list[str] = field(default_factory=list)
    stage_seconds: dict[str, float] = field(default_factory=dict, metadata={"omit": True})
    build_config: BuildConfig | None = _opt()
    model: ModelSection | None = _opt()
    host: HostSplit | None = _opt()
    program: ProgramSection | None = _opt()
    config: ConfigSection | None = _opt()
    estimates: Estimates | None = _opt()
    budget: Budget | None = _opt()
    dse: DseSection | None = _opt()
    regmap: RegMap | None = _opt()
    hls: HlsSection | None = _opt()
    dma: DmaSection | None = _opt()
    rtl: RtlSection | None = _opt()
    engine: EngineSection | None = _opt()
    files: FilesSection | None = _opt()
    vendor: VendorSection | None = _opt()
    bitstream: str | None = _opt()
    next_steps: list[str] = field(default_factory=list, metadata={"omit": True})
    bundle: BundleSection | None = _opt()
    cpu: CpuSection | None = _opt()
    #: heterogeneous builds (edgepool.tvm.placement / edgepool.tvm.segments): per layer and per
    #: segment placement with its estimates, and the compiled CPU segments
    placement: dict[str, Any] | None = _opt()
    cpu_segments: dict[str, Any] | None = _opt()
    #: top-level keys this version does not know, kept as read
    extra: dict[str, Any] = field(default_factory=dict, metadata={"omit": True, "flat": True})

    # ----------------------------------------------------------------- (de)serialization
    def to_dict(self) -> dict[str, Any]:
        """The JSON object of ``manifest.json``."""
        return encode(self)

    @classmethod
    def from_dict(cls, d: Any, source: str = MANIFEST) -> Manifest:
        """Parse a manifest object; a malformed section is a :class:`ManifestError`."""
        if not isinstance(d, dict):
            raise ManifestError(f"{source} is not a JSON object", REBUILD)
        fmt = d.get("format")
        if fmt != FORMAT:
            raise ManifestError(f"{source}: manifest format {fmt!r} is not supported (this "
                                f"edgepool reads format {FORMAT})",
                                "rebuild the directory with this edgepool version")
        return decode(cls, d, source)

    @classmethod
    def coerce(cls, m: Manifest | dict[str, Any]) -> Manifest:
        """``m`` itself, or parsed when it is the JSON object (e.g. ``json.load`` of the file)."""
        return m if isinstance(m, Manifest) else cls.from_dict(m)

    def section(self, name: str) -> Any:
        """Section ``name``, or a :class:`ManifestError` naming the stage that writes it."""
        v = getattr(self, name, None) if name in _MANIFEST_FIELDS else self.extra.get(name)
        if v is None:
            raise ManifestError(f"the manifest has no {name!r} section (the stage that writes it "
                                "did not run)", REBUILD)
        return v

    def write(self, directory: Path | str) -> Path:
        """Write ``<directory>/manifest.json`` (sorted keys, stable across runs)."""
        p = Path(directory) / MANIFEST
        p.write_text(json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n")
        return p

    # ----------------------------------------------------------------- accessors
    @property
    def kind(self) -> str:
        """The target kind, ``fpga`` or ``cpu``."""
        return self.section("target").kind

    @property
    def hls_config(self) -> HlsConfig | None:
        """The chosen engine configuration, ``None`` before the dse / hls stage."""
        return self.config.hls if self.config is not None else None

    @property
    def family(self) -> str:
        """PS family (``zynquplus`` / ``zynq``) of the build's part."""
        return self.section("target").family

    def regmap_of(self) -> dict[str, Any]:
        """The validated register map: the hls stage's, or the default of the build."""
        if self.regmap is not None:
            return R.validate_regmap(self.regmap)
        cfg = self.hls_config
        return R.default_regmap(cfg.style if cfg else "dataflow", self.family,
                                dma_bits=cfg.dma_bits if cfg else 64)

    def overlay_params(self) -> OverlayParams:
        """Overlay capacities of the build's configuration (defaults before the dse stage)."""
        cfg = self.hls_config
        return OverlayParams.from_mapping(dataclasses.asdict(cfg) if cfg else {})

    @property
    def cpu_layers(self) -> tuple[str, ...]:
        """Layers a heterogeneous build placed on the CPU (``partition.cpu_layers``)."""
        part = self.extra.get("partition")
        layers = part.get("cpu_layers") if isinstance(part, dict) else None
        return tuple(str(x) for x in layers) if isinstance(layers, list) else ()


_MANIFEST_FIELDS = {f.name for f in fields(Manifest)}


# --------------------------------------------------------------------------- the codec
class _Bad(Exception):
    """A value that does not fit its declared type (turned into a ManifestError)."""


def _type_name(tp: Any) -> str:
    if isinstance(tp, type):
        return tp.__name__
    return str(tp).replace("typing.", "")


def _fmt(v: Any) -> str:
    s = repr(v)
    return s if len(s) <= 60 else s[:57] + "..."


def _hints(cls: type) -> dict[str, Any]:
    h = _HINTS.get(cls)
    if h is None:
        h = _HINTS[cls] = typing.get_type_hints(cls)
    return h


_HINTS: dict[type, dict[str, Any]] = {}


def _decode_host(v: Any, where: str) -> HostSplit:
    if not isinstance(v, dict):
        raise _Bad(f"{where}: expected an object, got {_fmt(v)}")
    return HostSplit.from_dict(v)


def _decode_regmap(v: Any, where: str) -> dict[str, Any]:
    return RegMap(R.validate_regmap(v))


# types with their own (de)serialization (the others follow their type hints)
_CUSTOM: dict[Any, tuple[Any, Any]] = {
    HostSplit: (lambda v: v.to_dict(), _decode_host),
    RegMap: (lambda v: v, _decode_regmap),
}


def encode(v: Any) -> Any:
    """The JSON value of a section (dataclasses to objects, tuples to lists)."""
    for tp, (enc, _) in _CUSTOM.items():
        if isinstance(tp, type) and isinstance(v, tp):
            return enc(v)
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        out: dict[str, Any] = {}
        for f in fields(v):
            x = getattr(v, f.name)
            if f.metadata.get("flat"):
                out.update(x)
                continue
            if f.metadata.get("omit") and (x is None or x == {} or x == []):
                continue
            out[f.name] = encode(x)
        return out
    if isinstance(v, (list, tuple)):
        return [encode(x) for x in v]
    if isinstance(v, dict):
        return {str(k): encode(x) for k, x in v.items()}
    if isinstance(v, Path):
        return str(v)
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return v
    if isinstance(v, numbers.Integral):
        return int(v)
    if isinstance(v, numbers.Real):
        return float(v)
    raise TypeError(f"cannot encode {type(v).__name__} in a manifest")


def decode(tp: type[T], v: Any, where: str) -> T:
    """``v`` (a JSON value) as ``tp``; any mismatch is a :class:`ManifestError`."""
    try:
        return _decode(tp, v, where)
    except _Bad as e:
        raise ManifestError(f"{str(e)}", REBUILD) from None


def _decode(tp: Any, v: Any, where: str) -> Any:
    if tp in _CUSTOM:
        return _CUSTOM[tp][1](v, where)
    if tp is Any:
        return v
    origin, args = get_origin(tp), get_args(tp)
    if origin in (Union, types.UnionType):
        if v is None and type(None) in args:
            return None
        errors: list[tuple[Any, _Bad]] = []
        for a in args:
            if a is type(None):
                continue
            try:
                return _decode(a, v, where)
            except _Bad as e:
                errors.append((a, e))
        # the alternative of the value's own JSON kind says best what is wrong inside it
        for a, e in errors:
            if len(errors) == 1 or _same_kind(a, v):
                raise e
        raise _Bad(f"{where}: expected {_type_name(tp)}, got {_fmt(v)}")
    if origin is Literal:
        if v not in args:
            raise _Bad(f"{where}: {_fmt(v)} is not one of {', '.join(map(repr, args))}")
        return v
    if tp is bool:
        if not isinstance(v, bool):
            raise _Bad(f"{where}: expected true/false, got {_fmt(v)}")
        return v
    if tp is int:
        if isinstance(v, bool) or not isinstance(v, numbers.Integral):
            raise _Bad(f"{where}: expected an integer, got {_fmt(v)}")
        return int(v)
    if tp is float:
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            raise _Bad(f"{where}: expected a number, got {_fmt(v)}")
        return v if type(v) in (int, float) else float(v)
    if tp is str:
        if not isinstance(v, str):
            raise _Bad(f"{where}: expected a string, got {_fmt(v)}")
        return v
    if origin in (tuple, list):
        if not isinstance(v, (list, tuple)):
            raise _Bad(f"{where}: expected a list, got {_fmt(v)}")
        item = args[0] if args else Any
        xs = [_decode(item, x, f"{where}[{i}]") for i, x in enumerate(v)]
        return tuple(xs) if origin is tuple else xs
    if origin is dict:
        if not isinstance(v, dict):
            raise _Bad(f"{where}: expected an object, got {_fmt(v)}")
        val = args[1] if args else Any
        return {str(k): _decode(val, x, f"{where}.{k}") for k, x in v.items()}
    if dataclasses.is_dataclass(tp):
        return _decode_dataclass(tp, v, where)
    raise TypeError(f"no manifest decoding for {_type_name(tp)}")


def _same_kind(tp: Any, v: Any) -> bool:
    """Whether the JSON value ``v`` is the kind of value ``tp`` decodes (object, list)."""
    origin = get_origin(tp)
    if isinstance(v, dict):
        return origin is dict or dataclasses.is_dataclass(tp) or tp in _CUSTOM
    if isinstance(v, list):
        return origin in (tuple, list)
    return False


def _decode_dataclass(cls: type, v: Any, where: str) -> Any:
    if not isinstance(v, dict):
        raise _Bad(f"{where}: expected an object, got {_fmt(v)}")
    hints = _hints(cls)
    kw: dict[str, Any] = {}
    flat = None
    for f in fields(cls):
        if f.metadata.get("flat"):
            flat = f.name
            continue
        if f.name not in v:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise _Bad(f"{where}: field {f.name!r} is missing")
            continue
        at = f"{where}: section {f.name!r}" if cls is Manifest else f"{where}.{f.name}"
        kw[f.name] = _decode(hints[f.name], v[f.name], at)
    unknown = sorted(set(v) - {f.name for f in fields(cls)})
    if flat is not None:
        kw[flat] = {k: v[k] for k in unknown}
    elif unknown:
        raise _Bad(f"{where}: unknown field(s) {', '.join(map(repr, unknown))} (written by "
                   "another edgepool version?)")
    try:
        return cls(**kw)
    except (ConfigError, TypeError, ValueError) as e:
        raise _Bad(f"{where}: {e}") from None


# --------------------------------------------------------------------------- reading files
def read_manifest(build_dir: Path | str) -> Manifest:
    """Read and parse a build directory's ``manifest.json`` (typed errors)."""
    p = Path(build_dir) / MANIFEST
    if not p.exists():
        raise ManifestError(f"{str(build_dir)!r} is not a build directory (no {MANIFEST})",
                            "create one with `edgepool build MODEL --target T -o DIR`")
    try:
        d = json.loads(p.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ManifestError(f"{p} is corrupt: {e}", "rebuild the directory") from None
    if isinstance(d, dict):
        for key in ("target", "stages", "format"):
            if key not in d:
                raise ManifestError(f"{p} lacks {key!r}: not written by this edgepool version",
                                    "rebuild the directory")
    return Manifest.from_dict(d, str(p))


def load_manifest(build_dir: Path | str) -> Manifest:
    """Alias of :func:`read_manifest` (the name the executors use)."""
    return read_manifest(build_dir)


def read_accelerator_manifest(path: Path | str) -> Manifest:
    """``manifest.json`` of a build or bundle directory, checked for what the driver needs."""
    p = Path(path) / MANIFEST
    if not Path(path).is_dir():
        raise ManifestError(f"{str(path)!r} is not a directory",
                            "pass a build directory (edgepool build -o DIR) or an unzipped "
                            "bundle")
    if not p.exists():
        raise ManifestError(f"{str(path)!r} is not a build or bundle directory (no {MANIFEST})",
                            "build one with `edgepool build MODEL --target ultra96 -o DIR`")
    try:
        d = json.loads(p.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ManifestError(f"{p} is corrupt: {e}", "rebuild or re-copy the bundle") from None
    if not isinstance(d, dict):
        raise ManifestError(f"{p} is not a JSON object", "rebuild or re-copy the bundle")
    for key in ("format", "target", "model", "host", "program"):
        if key not in d:
            raise ManifestError(f"{p} lacks {key!r}: not an accelerator build (the 'lower' stage "
                                "did not run?)", "rebuild with `edgepool build ... --target "
                                "ultra96`")
    m = Manifest.from_dict(d, str(p))
    assert m.target is not None
    if m.target.kind != "fpga":
        raise ManifestError(f"{p} was built for {m.target.name!r}, a CPU target",
                            "the PYNQ driver runs FPGA builds; use the NEON runtime for CPU ones")
    if m.cpu_layers:
        raise ManifestError(f"{p}: the model has layers on the CPU "
                            f"({', '.join(m.cpu_layers)}), which this driver "
                            "does not run", "run it through the NEON build (edgepool build "
                            "--target cortex-a53) or make every layer accelerator-lowerable")
    return m


def family_of(manifest: Manifest | dict[str, Any]) -> str:
    """PS family (``zynquplus`` / ``zynq``) of the build's part."""
    return Manifest.coerce(manifest).family


def regmap_of(manifest: Manifest | dict[str, Any]) -> dict[str, Any]:
    """The validated register map: ``manifest.regmap`` or the default for the build."""
    return Manifest.coerce(manifest).regmap_of()


def overlay_params(manifest: Manifest | dict[str, Any]) -> OverlayParams:
    """Overlay capacities from the build's HLS configuration."""
    return Manifest.coerce(manifest).overlay_params()


def read_program(build_dir: Path | str, section: ProgramSection | None = None) -> HwProgram:
    """The accelerator program stored in a build directory (``program.json`` + ``.bin``)."""
    build_dir = Path(build_dir)
    file, weights = ((section.file, section.weights) if section is not None
                     else ("program.json", "program.bin"))
    try:
        desc = json.loads((build_dir / file).read_text())
        blob = (build_dir / weights).read_bytes()
    except (OSError, json.JSONDecodeError) as e:
        raise ManifestError(f"{build_dir}: {file}/{weights} missing or corrupt ({e})",
                            "rebuild the directory") from None
    try:
        return program_from_json(desc, blob)
    except EdgepoolError:
        raise
    except (KeyError, TypeError, ValueError, IndexError) as e:
        raise ManifestError(f"{build_dir}/{file} is malformed ({e!r})",
                            "rebuild the directory") from None


def load_program(build_dir: Path | str) -> tuple[HwProgram, HostSplit]:
    """The accelerator program and host split stored in a build directory."""
    m = read_manifest(build_dir)
    host = m.section("host")
    return read_program(build_dir, m.program), host
