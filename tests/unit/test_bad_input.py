# SPDX-License-Identifier: Apache-2.0
"""Bad input gives a typed error, exit code 2, no traceback, and writes nothing partial."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from onnx import TensorProto, helper, numpy_helper

import edgepool
from edgepool.cli import main
from edgepool.errors import ModelLoadError, UnsupportedOpError

ROOT = Path(__file__).resolve().parents[2]
# absolute: other tests change the working directory
SAMPLE = str(ROOT / "tests" / "data" / "lenet_digits_untrained.onnx")


def _quant_model(tmp_path, scale=0.125, bits=8.0, extra_nodes=(), dims=(1, 1, 4, 4), name="m"):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, list(dims))
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    inits = [numpy_helper.from_array(np.array(v, np.float32), n)
             for n, v in (("s", scale), ("z", 0.0), ("b", bits))]
    nodes = [helper.make_node("Quant", ["x", "s", "z", "b"], ["q"],
                              domain="qonnx.custom_op.general", signed=1, narrow=0,
                              rounding_mode="ROUND", name="input_quant")]
    last = "q"
    for i, op in enumerate(extra_nodes):
        nodes.append(helper.make_node(op, [last], [f"t{i}"], name=f"bad_{op}_{i}"))
        last = f"t{i}"
    nodes.append(helper.make_node("Relu", [last], ["y"], name="relu"))
    g = helper.make_graph(nodes, name, [x], [y], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17),
                                            helper.make_opsetid("qonnx.custom_op.general", 1)])
    p = tmp_path / f"{name}.onnx"
    p.write_bytes(m.SerializeToString())
    return p


def _run_cli(args):
    r = CliRunner().invoke(main, [str(a) for a in args])
    assert "Traceback" not in r.output
    return r


@pytest.fixture
def x_npy(tmp_path):
    p = tmp_path / "x.npy"
    np.save(p, np.zeros((1, 1, 4, 4), np.float32))
    return p


def _expect_user_error(args, *needles):
    r = _run_cli(args)
    assert r.exit_code == 2, r.output
    for n in needles:
        assert n in r.output, r.output
    return r


def test_truncated_file(tmp_path, x_npy):
    bad = tmp_path / "trunc.onnx"
    bad.write_bytes(open(SAMPLE, "rb").read()[:300])
    out = tmp_path / "y.npy"
    _expect_user_error(["run", bad, "--input", x_npy, "--output", out], "ModelLoadError",
                       "truncated")
    assert not out.exists()
    with pytest.raises(ModelLoadError):
        edgepool.load(bad)


def test_not_onnx(tmp_path):
    bad = tmp_path / "notes.onnx"
    bad.write_text("this is a text file, not a model\n" * 20)
    _expect_user_error(["inspect", bad], "ModelLoadError")


def test_missing_file(tmp_path):
    _expect_user_error(["inspect", tmp_path / "nope.onnx"], "does not exist")


def test_unsupported_ops_are_all_listed(tmp_path, x_npy):
    p = _quant_model(tmp_path, extra_nodes=("Softmax", "Sigmoid", "Tanh"))
    out = tmp_path / "y.npy"
    r = _expect_user_error(["run", p, "--input", x_npy, "--output", out], "UnsupportedOpError")
    # every offender named, at once (the later ones depend on the earlier: still listed)
    assert "bad_Softmax_0" in r.output
    assert not out.exists()
    with pytest.raises(UnsupportedOpError) as e:
        edgepool.load(p)
    assert len(e.value.problems) >= 1


def test_independent_problems_listed_together(tmp_path):
    """Two unrelated problems in one model are both reported."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 4, 4])
    y1 = helper.make_tensor_value_info("y1", TensorProto.FLOAT, None)
    y2 = helper.make_tensor_value_info("y2", TensorProto.FLOAT, None)
    inits = [numpy_helper.from_array(np.array(v, np.float32), n)
             for n, v in (("s", 0.25), ("z", 1.0), ("b", 8.0))]
    nodes = [helper.make_node("Quant", ["x", "s", "z", "b"], ["q"], name="q_zp",
                              domain="qonnx.custom_op.general", signed=1, narrow=0),
             helper.make_node("Softmax", ["q"], ["y1"], name="soft"),
             helper.make_node("Erf", ["x"], ["y2"], name="erf")]
    m = helper.make_model(helper.make_graph(nodes, "two", [x], [y1, y2], inits))
    with pytest.raises(UnsupportedOpError) as e:
        edgepool.load(m)
    text = str(e.value)
    assert "q_zp" in text and "zero point" in text and "erf" in text


def test_dynamic_shape(tmp_path):
    p = _quant_model(tmp_path, dims=("N", 1, 4, 4))
    _expect_user_error(["inspect", p], "dynamic shape", "fixed input shape")


def test_non_power_of_two_scale_is_imported(tmp_path):
    """A float (non power-of-two) scale is kept beside the codes (issue 13): QONNX semantics,
    clamp(round(x / 0.3)) · 0.3, then ReLU, evaluated exactly."""
    p = _quant_model(tmp_path, scale=0.3)
    x = np.random.default_rng(0).uniform(-50, 50, (5, 1, 4, 4)).astype(np.float32)
    s = np.float64(np.float32(0.3))
    ref = np.maximum(np.clip(np.round(x.astype(np.float64) / s), -128, 127), 0) * s
    assert np.array_equal(edgepool.load(p).run(x), ref.astype(np.float32))


def test_bit_width_over_32(tmp_path):
    p = _quant_model(tmp_path, bits=40.0)
    _expect_user_error(["inspect", p], "bit width 40")


def test_wrong_input_shape(tmp_path):
    p = _quant_model(tmp_path)
    x = tmp_path / "bad.npy"
    np.save(x, np.zeros((1, 3, 4, 4), np.float32))
    out = tmp_path / "y.npy"
    _expect_user_error(["run", p, "--input", x, "--output", out], "InputError", "shape")
    assert not out.exists()


def test_unknown_target(tmp_path):
    out = tmp_path / "build"
    _expect_user_error(["build", SAMPLE, "--target", "nonexistent-board", "-o", out],
                       "unknown target", "ultra96", "cortex-a53")
    assert not out.exists()


def test_console_script_no_traceback(tmp_path):
    """The installed entry point itself: exit 2, one message, no traceback."""
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x00\x01garbage")
    r = subprocess.run([sys.executable, "-m", "edgepool", "inspect", str(bad)],
                       capture_output=True, text=True)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr + r.stdout
    assert "ModelLoadError" in r.stderr


# ----------------------------------------------------------------------------- external weights
def _external_data_model(tmp_path, case: str, monkeypatch):
    """SAMPLE with every initializer in an external file, then broken: ``"missing"`` deletes
    the data file, ``"outside"`` points the model at a data file outside its folder."""
    import onnx
    from onnx.external_data_helper import convert_model_to_external_data

    folder = tmp_path / "model"
    folder.mkdir()
    monkeypatch.chdir(folder)       # onnx checks for an existing data file in the cwd
    m = onnx.load(SAMPLE)
    convert_model_to_external_data(m, all_tensors_to_one_file=True, location="weights.bin",
                                   size_threshold=0)
    path = folder / "ext.onnx"
    onnx.save(m, str(path))
    assert (folder / "weights.bin").exists()
    edgepool.load(path)          # intact, the model loads: the breakage below is what fails
    if case == "missing":
        (folder / "weights.bin").unlink()
    else:
        (folder / "weights.bin").replace(tmp_path / "weights.bin")
        m = onnx.load(str(path), load_external_data=False)
        for t in m.graph.initializer:
            for e in t.external_data:
                if e.key == "location":
                    e.value = "../weights.bin"
        path.write_bytes(m.SerializeToString())
    return path


@pytest.mark.parametrize("case", ["missing", "outside"])
@pytest.mark.parametrize("command", ["inspect", "build"])
def test_external_weight_data_is_a_user_error(tmp_path, case, command, monkeypatch):
    """A missing external data file, or one outside the model's folder, is a ModelLoadError:
    exit 2, one paragraph naming the file and the fix, no traceback, nothing written."""
    path = _external_data_model(tmp_path, case, monkeypatch)
    out = tmp_path / "build"
    args = [command, path] + (["--target", "ultra96", "-o", out] if command == "build" else [])
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    r = subprocess.run([sys.executable, "-m", "edgepool", *map(str, args)],
                       capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "Traceback" not in r.stdout + r.stderr and "internal error" not in r.stderr
    assert "ModelLoadError" in r.stderr and "external weight data" in r.stderr
    assert "ext.onnx" in r.stderr and "next to the .onnx file" in r.stderr
    assert "\n\n" not in r.stderr.strip(), "one paragraph"
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before, \
        "nothing may be written"
    with pytest.raises(ModelLoadError):
        edgepool.load(path)
