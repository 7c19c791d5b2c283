# SPDX-License-Identifier: Apache-2.0
"""``edgepool build … --target cortex-a53 | x86`` end to end: the build directory, and its
runner (qemu-aarch64 for cortex-a53) reproducing the golden interpreter exactly on the shipped
models' whole test sets. Missing tools fail (ToolchainError), they are never skipped."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

import edgepool
from edgepool.build import build
from edgepool.cli import main as cli
from edgepool.runtime.executors import run_build
from edgepool.toolchain import REPO_ROOT

pytestmark = pytest.mark.tvm
MODELS = REPO_ROOT / "models"


def _build(tmp_path_factory, model: str, target: str):
    out = tmp_path_factory.mktemp(f"{model}-{target}") / "out"
    res = build(MODELS / model / f"{model}.onnx", target, out)
    return out, res


@pytest.fixture(scope="module")
def digits_a53(tmp_path_factory):
    return _build(tmp_path_factory, "lenet-digits", "cortex-a53")


def _whole_test_set(out, model: str, n: int) -> None:
    d = np.load(MODELS / model / "test.npz")
    x = d["x"]
    assert len(x) == n
    got = run_build(out, x, backend="neon")
    want = edgepool.load(MODELS / model / f"{model}.onnx").run(x)
    assert list(got) == ["logits"]
    assert got["logits"].dtype == want.dtype and got["logits"].shape == want.shape
    assert np.array_equal(got["logits"], want), np.argwhere(got["logits"] != want)[:5]


@pytest.mark.aarch64
def test_cortex_a53_lenet_digits_test_set(digits_a53):
    out, _ = digits_a53
    _whole_test_set(out, "lenet-digits", 360)


@pytest.mark.aarch64
def test_cortex_a53_lenet_mnist_test_set(tmp_path_factory):
    out, res = _build(tmp_path_factory, "lenet-mnist", "cortex-a53")
    assert res.manifest["cpu"]["offloaded"]["composites"] == 5
    _whole_test_set(out, "lenet-mnist", 1000)


@pytest.mark.aarch64
def test_cortex_a53_build_directory(digits_a53):
    out, res = digits_a53
    m = json.loads((out / "manifest.json").read_text())
    cpu = m["cpu"]
    assert m["stages"] == ["import", "cpu", "report"]
    assert cpu["triple"] == "aarch64-linux-gnu" and cpu["library"] == "model_aarch64-linux-gnu.so"
    for f in ("edgepool_neon_gen.c", "model_io.h", "model_aarch64-linux-gnu.so", "runner",
              "runner.cc", "lib/libtvm_runtime.so", "lib/libtvm_ffi.so"):
        assert (out / "cpu" / f).is_file(), f
        assert "cpu/" + f in cpu["files"]
    assert (out / "cpu" / "model_aarch64-linux-gnu.so").read_bytes()[:5] == b"\x7fELF\x02"
    # ELF e_machine 183 = AArch64
    assert int.from_bytes((out / "cpu" / "runner").read_bytes()[18:20], "little") == 183
    assert cpu["offloaded"]["composites"] == 4 and cpu["offloaded"]["external_functions"] == 2
    assert cpu["tvm_compiled"]["ops"] == sum(cpu["tvm_compiled"]["by_op"].values())
    assert "scp" in cpu["how_to_run"] and "./runner" in cpu["how_to_run"]
    # the fixed-point types of the model's quantized input and its accumulator output
    g = edgepool.load(MODELS / "lenet-digits" / "lenet-digits.onnx")
    t_in, t_out = ([str(g.values[n.outputs[0] if n.op == "Quant" else n.inputs[0]].type)
                    for n in g.nodes if n.op == op][0] for op in ("Quant", "Dequant"))
    assert t_in == "i8.6" and t_out.startswith("i22.")
    io = (out / "cpu" / "model_io.h").read_text()
    assert '"input"' in io and "{1, 1, 8, 8}" in io and f'"{t_in}"' in io and f'"{t_out}"' in io
    assert cpu["io"]["outputs"][0]["fixed_point"] == t_out


@pytest.mark.aarch64
def test_cortex_a53_deterministic(digits_a53, tmp_path_factory, monkeypatch):
    """A rebuild (compiled afresh into an empty cache) gives identical generated files and
    library."""
    from edgepool import toolchain

    out, _ = digits_a53
    monkeypatch.setenv(toolchain.CACHE_ENV, str(tmp_path_factory.mktemp("empty-cache")))
    out2, _ = _build(tmp_path_factory, "lenet-digits", "cortex-a53")
    for f in ("edgepool_neon_gen.c", "model_io.h", "relax.txt", "model_aarch64-linux-gnu.so"):
        assert (out / "cpu" / f).read_bytes() == (out2 / "cpu" / f).read_bytes(), f


def test_x86_lenet_digits(tmp_path_factory):
    out, res = _build(tmp_path_factory, "lenet-digits", "x86")
    assert res.manifest["cpu"]["triple"] == "x86_64-linux-gnu"
    assert int.from_bytes((out / "cpu" / "runner").read_bytes()[18:20], "little") == 62
    _whole_test_set(out, "lenet-digits", 360)


@pytest.mark.aarch64
def test_cli_run_neon_backend(digits_a53, tmp_path):
    out, _ = digits_a53
    x = np.load(MODELS / "lenet-digits" / "test.npz")["x"][:7]
    np.save(tmp_path / "x.npy", x)
    res = CliRunner().invoke(cli, ["run", str(out), "--input", str(tmp_path / "x.npy"),
                                   "--backend", "neon", "--output", str(tmp_path / "y.npz")])
    assert res.exit_code == 0, res.output
    y = np.load(tmp_path / "y.npz")["logits"]
    want = edgepool.load(MODELS / "lenet-digits" / "lenet-digits.onnx").run(x)
    assert np.array_equal(y, want)
    assert "argmax" in res.output or "logits" in res.output


@pytest.mark.aarch64
def test_runner_timing_and_rss(digits_a53):
    """The runner's timing loop and peak-RSS report (no wall-clock bound asserted)."""
    from edgepool.tvm.runner import run_runner

    out, res = digits_a53
    x = np.load(MODELS / "lenet-digits" / "test.npz")["x"][:3]
    raw, stats = run_runner(out / "cpu", "aarch64-linux-gnu", res.manifest["cpu"]["library"],
                            x.tobytes(), repeat=2)
    assert stats["images"] == 3 and stats["repeat"] == 2
    assert stats["us_per_image"] > 0 and stats["max_rss_kb"] > 0
    want = edgepool.load(MODELS / "lenet-digits" / "lenet-digits.onnx").run(x)
    assert np.array_equal(np.frombuffer(raw, np.float32).reshape(3, 10), want)


def test_reference_backend_on_cpu_build(digits_a53):
    """``--backend reference`` on a CPU build runs the build's IR checkpoint (golden model)."""
    x = np.load(MODELS / "lenet-digits" / "test.npz")["x"][:9]
    out = run_build(digits_a53[0], x, "reference")
    assert np.array_equal(next(iter(out.values())), edgepool.load(
        MODELS / "lenet-digits" / "lenet-digits.onnx").run(x))


# ---- the residual, depthwise-separable and All-Conv models: skip Adds with requantization,
# depthwise convolutions, global-average heads (integer → Quant, and the float head)
NEW_MODELS = ["resnet-mnist", "dwsep-mnist", "allconv-mnist"]


@pytest.mark.aarch64
@pytest.mark.parametrize("model", NEW_MODELS)
def test_cortex_a53_new_models_test_set(tmp_path_factory, model):
    """Every layer of these models runs on the CPU build (NEON where a kernel exists, TVM LLVM
    for the rest: Add, global average, depthwise), bit-exact on the whole test set under
    qemu-aarch64."""
    out, res = _build(tmp_path_factory, model, "cortex-a53")
    cpu = res.manifest["cpu"]
    assert cpu["offloaded"]["composites"] >= 1
    assert cpu["tvm_compiled"]["ops"] == sum(cpu["tvm_compiled"]["by_op"].values())
    _whole_test_set(out, model, 1000)


@pytest.mark.parametrize("model", NEW_MODELS)
def test_x86_new_models(tmp_path_factory, model):
    out, _ = _build(tmp_path_factory, model, "x86")
    _whole_test_set(out, model, 1000)
