# SPDX-License-Identifier: Apache-2.0
"""The ``edgepool`` command: a thin layer over the library.

Exit codes: 0 success, 2 user error (one paragraph, no traceback unless ``--debug``),
1 internal error.
"""

from __future__ import annotations

import functools
import sys
import traceback
from pathlib import Path

import click
import numpy as np

from .build import build as do_build
from .build import check_target
from .build.stages import CPU_RUNTIMES
from .config import BuildConfig
from .dse.run import explore_cli
from .errors import ConfigError, EdgepoolError, InputError
from .ir.ops import OPS
from .passes.pipelines import load
from .runtime.executors import run_build, simulate_build
from .targets import Board, get_target
from .tvm.placement import place, segments_table

_DEBUG = {"on": False}


def _console():
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def handle_errors(fn):
    """Turn EdgepoolError into a clean message and exit 2; other errors into exit 1."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except EdgepoolError as e:
            if _DEBUG["on"]:
                traceback.print_exc()
            _console().print(f"[bold red]error:[/] {type(e).__name__}: {e}", markup=True,
                             soft_wrap=True)
            sys.exit(e.exit_code)
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit):
            raise
        except KeyboardInterrupt:
            _console().print("interrupted")
            sys.exit(130)
        except Exception as e:  # noqa: BLE001 - last line of defence
            if _DEBUG["on"]:
                traceback.print_exc()
            _console().print(f"[bold red]internal error:[/] {type(e).__name__}: {e}\n"
                             "  this is a bug in edgepool; rerun with --debug for the traceback "
                             "and report it")
            sys.exit(1)
    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks for every error.")
@click.version_option(package_name="edgepool")
def main(debug: bool) -> None:
    """edgepool: quantized CNNs from Brevitas QAT to ARM NEON and Zynq HLS, bit-exact.

    \b
    edgepool train lenet-digits --bits 8 -o out/
    edgepool inspect out/lenet-digits.onnx
    edgepool run out/lenet-digits.onnx --input x.npy --output y.npy
    edgepool build out/lenet-digits.onnx --target ultra96 -o build/
    """
    _DEBUG["on"] = debug
    if not debug:
        import warnings

        # third-party import-time chatter (brevitas' optional accelerators, torch.onnx)
        warnings.filterwarnings("ignore", message=".*fast_hadamard_transform.*")
        warnings.filterwarnings("ignore", category=DeprecationWarning)


# --------------------------------------------------------------------------- I/O helpers
def read_inputs(path: Path):
    """``.npy`` → array; ``.npz`` → dict name → array (a lone array named ``x`` is the array)."""
    if not path.exists():
        raise InputError(f"input file {str(path)!r} does not exist")
    try:
        data = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as e:
        raise InputError(f"cannot read {str(path)!r} as .npy/.npz: {e}",
                         "save inputs with numpy.save (one input) or numpy.savez (several)"
                         ) from None
    if isinstance(data, np.ndarray):
        return data
    return {k: data[k] for k in data.files}


def write_outputs(path: Path, outputs: dict[str, np.ndarray]) -> None:
    """One output → ``.npy``; several → ``.npz``. Written atomically (temp file + rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    if path.suffix == ".npz":
        with open(tmp, "wb") as f:
            np.savez(f, **outputs)
    else:
        if len(outputs) != 1:
            raise InputError(f"the model has {len(outputs)} outputs; write them to an .npz file")
        with open(tmp, "wb") as f:
            np.save(f, next(iter(outputs.values())))
    tmp.replace(path)


# --------------------------------------------------------------------------- commands
@main.command()
@click.argument("name", required=False)
@click.option("--arch", default=None,
              help="A Brevitas bnn_pynq MLP instead of NAME: tfc_1w1a, tfc_1w2a, tfc_2w2a, "
                   "sfc_*, lfc_1w1a, lfc_1w2a (its own bit widths; trained on the MNIST subset).")
@click.option("--bits", type=click.Choice(["4", "8", "16"]), default="8", show_default=True,
              help="Fixed-point word length (16 = Q2.14).")
@click.option("-o", "--out", "out_dir", type=click.Path(path_type=Path), default=Path("out"),
              show_default=True, help="Output directory.")
@click.option("--epochs", type=int, default=None, help="Override the model's default epochs.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--patience", type=int, default=None,
              help="Stop after this many epochs without a better validation accuracy "
                   "(default: the model's; none = the whole schedule).")
@click.option("--per-channel", is_flag=True,
              help="Per-channel power-of-two weight scales (4 or 8 bits; the last layer stays "
                   "per tensor); artifacts suffixed -w<bits>.pc.")
@handle_errors
def train(name: str | None, arch: str | None, bits: str, out_dir: Path, epochs: int | None,
          seed: int, patience: int | None, per_channel: bool) -> None:
    """Quantization-aware training of a registered model (lenet-digits, lenet-mnist,
    resnet-mnist, dwsep-mnist, allconv-mnist).

    The weights kept are those of the epoch with the best accuracy on a validation split carved
    from the training data; the test set only reports the selected model's accuracy.
    Writes NAME.onnx (QONNX), test.npz, the state dict, metrics.json and a training-curve PNG.
    """
    from .quant.models import get_model_info
    from .quant.trainer import train as do_train

    if (name is None) == (arch is None):
        raise ConfigError("give a model NAME or --arch ARCH (not both)",
                          "e.g. edgepool train lenet-mnist, edgepool train --arch tfc_1w1a")
    if arch is not None:
        if not get_model_info(arch).bnn_pynq:
            raise ConfigError(f"--arch {arch!r} is not a bnn_pynq MLP",
                              "tfc_1w1a, tfc_1w2a, tfc_2w2a, sfc_*, lfc_1w1a, lfc_1w2a")
        name = arch

    r = do_train(name, int(bits), out_dir, epochs=epochs, seed=seed, patience=patience,
                 per_channel=per_channel)
    width = name.split("_")[1] if arch else f"{r.bits} bits"
    click.echo(f"trained {r.name} at {width} in {r.seconds:.0f} s, kept epoch "
               f"{r.best_epoch} of {r.epochs_run}: validation accuracy {r.val_acc:.2%}, test "
               f"accuracy {r.test_acc:.2%}"
               + ("" if r.int_test_acc is None else f" (integer model {r.int_test_acc:.2%})"))
    for label, p in (("onnx", r.onnx), ("test set", r.test_set), ("metrics", r.metrics),
                     ("curve", r.curve)):
        click.echo(f"  {label:9s} {p}")


@main.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.option("--target", default=None, help="Also check lowering to this target.")
@click.option("--place", "place_pins", multiple=True, metavar="NAME=cpu|fabric",
              help="Pin a layer (repeatable; boards): show the placement it gives.")
@handle_errors
def inspect(model: Path, target: str | None, place_pins: tuple[str, ...]) -> None:
    """Layers, shapes, fixed-point formats, MACs and the support check of MODEL."""
    from rich.console import Console
    from rich.table import Table


    g = load(model)
    t = Table(title=f"{g.name}  ({model})", show_lines=False)
    for col in ("#", "node", "op", "output", "type", "params", "MACs"):
        t.add_column(col, justify="right" if col in ("#", "params", "MACs") else "left")
    total_macs = total_params = 0
    for i, n in enumerate(g.nodes):
        ins = [g.values[x] for x in n.inputs]
        outs = [g.values[x] for x in n.outputs]
        macs = OPS[n.op].macs(n, ins, outs)
        params = sum(g.values[x].size for x in n.inputs if g.is_const(x))
        total_macs += macs
        total_params += params
        extra = ""
        if n.op == "Pool":
            a = {**OPS["Pool"].attrs, **n.attrs}
            extra = (f" {a['kind']} global" if a["global_"] else
                     f" {a['kind']} {a['kernel'][0]}x{a['kernel'][1]}/s{a['strides'][0]}")
        elif n.op == "Requant" and n.attr("relu"):
            extra = " +relu"
        elif n.op == "Threshold":
            # MAC-free: comparisons per element (the table's width)
            extra = f" {OPS[n.op].compares(n, ins, outs) // max(outs[0].size, 1)} cmp"
        t.add_row(str(i), n.name[-40:], n.op + extra,
                  "x".join(map(str, outs[0].shape)), str(outs[0].type),
                  f"{params:,}" if params else "", f"{macs:,}" if macs else "")
    con = Console()
    con.print(t)
    ins = ", ".join(f"{v.name} {v.type}{list(v.shape)}" for v in g.input_values())
    outs = ", ".join(f"{v.name} {v.type}{list(v.shape)}" for v in g.output_values())
    con.print(f"inputs: {ins}\noutputs: {outs}")
    con.print(f"total: {total_params:,} parameters, {total_macs:,} MACs "
              f"({2 * total_macs / 1e6:.2f} MOP per image)")
    quantized = any(not v.type.is_float for v in g.values.values())
    con.print("support check: [green]all nodes supported[/] "
              f"({'fixed point' if quantized else 'float'} graph)")
    if target:

        con.print(check_target(g, target))
        _print_placement(con, g, target, place_pins)


def _print_placement(con, g, target: str, pins: tuple[str, ...]) -> None:
    """The per-layer fabric / CPU placement of ``g`` on a board (estimated)."""
    tgt = get_target(target)
    if not isinstance(tgt, Board):
        if pins:
            raise ConfigError(f"--place needs a board target, not {target}",
                              "use --target ultra96 | zcu104 | pynq-z2")
        return
    p = place(g, tgt, pins, cpu_available=tgt.cpu in CPU_RUNTIMES, require_fabric=True)
    click.echo(f"\nplacement on {tgt.name} (estimated):")
    click.echo(p.table())
    click.echo(segments_table(p.to_dict()))


@main.command()
@click.argument("model_or_build", type=click.Path(path_type=Path))
@click.option("--input", "input_path", type=click.Path(path_type=Path), required=True,
              help=".npy (one input) or .npz (name → array).")
@click.option("--output", "output_path", type=click.Path(path_type=Path), default=None,
              help=".npy or .npz for the outputs (default: print a summary only).")
@click.option("--backend", type=click.Choice(["reference", "neon", "csim", "rtlsim", "pynq"]),
              default="reference", show_default=True,
              help="Where to run: golden interpreter, or a build directory's NEON library, "
                   "HLS C-simulation, RTL simulation, or PYNQ (board or simulated device).")
@handle_errors
def run(model_or_build: Path, input_path: Path, output_path: Path | None, backend: str) -> None:
    """Run a model (.onnx) or a build directory on inputs."""
    inputs = read_inputs(input_path)
    if model_or_build.is_dir():

        outputs = run_build(model_or_build, inputs, backend)
    else:
        if backend != "reference":
            raise InputError(f"backend {backend!r} runs a build directory, not a model file",
                             f"first: edgepool build {model_or_build} --target <t> -o OUT; then "
                             f"edgepool run OUT --backend {backend} ...")

        g = load(model_or_build)
        outputs = g.run(inputs, as_dict=True)
    for name, y in outputs.items():
        msg = f"{name}: {y.dtype}{list(y.shape)}"
        if y.ndim == 2 and y.shape[1] > 1:
            msg += f"  argmax {np.argmax(y, axis=1)[:16].tolist()}"
        click.echo(msg)
    if output_path is not None:
        write_outputs(output_path, outputs)
        click.echo(f"wrote {output_path}")


@main.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.option("--target", "-t", required=True, help="Board (ultra96, zcu104, pynq-z2) or CPU "
              "(cortex-a53, x86).")
@click.option("-o", "--out", "out_dir", type=click.Path(path_type=Path), required=True,
              help="Build directory to create.")
@click.option("--bits", type=int, default=None, help="Word length for the exploration "
              "(default: the model's own).")
@click.option("--from", "from_stage", default=None, help="Resume from this stage.")
@click.option("--to", "to_stage", default=None, help="Stop after this stage.")
@click.option("--force", is_flag=True, help="Replace an existing build directory.")
@click.option("--style", type=click.Choice(["auto", "dataflow", "overlay"]), default="auto",
              show_default=True, help="Accelerator architecture (auto: chosen by exploration).")
@click.option("--clock", "clock_mhz", type=float, default=None,
              help="Fabric clock in MHz (default: chosen by exploration).")
@click.option("--margin", type=float, default=0.85, show_default=True,
              help="Fraction of each FPGA resource a design may use.")
@click.option("--jobs", "-j", type=int, default=0, help="Exploration workers (0 = all cores).")
@click.option("--engine", type=click.Choice(["auto", "rtl", "hls"]), default="auto",
              show_default=True, help="Accelerator IP in the bitstream: the cocotb-verified "
              "SystemVerilog (rtl), the Vitis HLS export (hls), or auto = RTL wherever it "
              "supports the model, else HLS.")
@click.option("--synth", is_flag=True, help="Run Yosys synth_xilinx on the generated RTL IP "
              "and report LUT/FF/DSP/BRAM in report.md (slow: tens of minutes).")
@click.option("--place", "place_pins", multiple=True, metavar="NAME=cpu|fabric",
              help="Pin a layer to the fabric or the CPU (repeatable; boards).")
@handle_errors
def build(model: Path, target: str, out_dir: Path, bits: int | None, from_stage: str | None,
          to_stage: str | None, force: bool, style: str, clock_mhz: float | None, margin: float,
          jobs: int, engine: str, synth: bool, place_pins: tuple[str, ...]) -> None:
    """Compile MODEL for TARGET into a complete build directory."""

    cfg = BuildConfig(target=target, style=style, clock_mhz=clock_mhz, margin=margin, jobs=jobs,
                      engine=engine, synth=synth, place=tuple(place_pins))
    if from_stage and cfg == BuildConfig(target=target):
        cfg = None                        # resume with the settings the build recorded
    result = do_build(model, target, out_dir, bits=bits, from_stage=from_stage,
                      to_stage=to_stage, force=force, config=cfg,
                      progress=lambda s: click.echo(f"  stage {s} …", err=True))
    click.echo(result.summary())


@main.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.option("--target", "-t", default="ultra96", show_default=True)
@click.option("-o", "--out", "out_dir", type=click.Path(path_type=Path), default=None,
              help="Where to write the Pareto table and plot (default: out/dse-<model>).")
@click.option("--jobs", "-j", type=int, default=0, help="Worker processes (0 = all cores).")
@handle_errors
def dse(model: Path, target: str, out_dir: Path | None, jobs: int) -> None:
    """Design-space exploration of the HLS accelerator for MODEL on a board."""

    explore_cli(model, target, out_dir, jobs)


@main.command()
@click.argument("build_dir", type=click.Path(path_type=Path))
@click.option("--images", "-n", type=int, default=10, show_default=True)
@click.option("--simulator", type=click.Choice(["verilator", "icarus"]), default="verilator")
@handle_errors
def sim(build_dir: Path, images: int, simulator: str) -> None:
    """RTL simulation (cocotb) of a build directory's datapath against the golden model."""

    click.echo(simulate_build(build_dir, images, simulator))


@main.command()
@handle_errors
def demo() -> None:
    """The main job on the shipped default model: load, verify, build, run every backend here."""
    from .demo import run_demo

    run_demo()
