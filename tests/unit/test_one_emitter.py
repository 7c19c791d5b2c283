# SPDX-License-Identifier: Apache-2.0
"""One emitter: every template lives under edgepool/codegen/templates and is rendered by the
one Jinja environment of edgepool.codegen.emit (StrictUndefined + the sanitizing finalize);
no other module builds an environment; finalize refuses hostile text; the cstr filter keeps any
text byte-exact inside a C string literal."""

from __future__ import annotations

import subprocess
from pathlib import Path

import jinja2
import pytest
from hostile import HOSTILE, unsafe_fragments

import edgepool
from edgepool import toolchain
from edgepool.codegen import emit
from edgepool.errors import ConfigError

PKG = Path(edgepool.__file__).parent


def test_one_environment_holds_every_template() -> None:
    builders = [p.relative_to(PKG).as_posix() for p in PKG.rglob("*.py")
                if "jinja2.Environment(" in p.read_text() or "Template(" in p.read_text()]
    assert builders == ["codegen/emit.py"]
    templates = sorted(p.relative_to(PKG).as_posix() for p in PKG.rglob("*.j2"))
    assert templates and all(t.startswith("codegen/templates/") for t in templates)
    e = emit.env()
    assert e.undefined is jinja2.StrictUndefined and e.finalize is emit.finalize
    listed = {f"codegen/templates/{t}" for t in e.list_templates()}
    assert listed == set(templates)
    for t in e.list_templates():
        e.get_template(t)                                  # every template parses


RUN_HLS = dict(style="dataflow", model_label="m", board="b", part="p", clock_mhz="100",
               period_ns="10.000", project="prj", top="t", sources=["a.cpp"], tb_files=["x.bin"])


@pytest.mark.parametrize("name", HOSTILE)
def test_finalize_refuses_hostile_text(name: str) -> None:
    e = emit.env()
    e.get_template("hls/run_hls.tcl.j2").render(**RUN_HLS)
    for key in ("model_label", "top", "part"):          # Tcl: no quoting, no substitution
        with pytest.raises(ConfigError):
            e.get_template("hls/run_hls.tcl.j2").render(**dict(RUN_HLS, **{key: name}))
    # C / C++ / SystemVerilog need quotes and brackets; everything else is refused there
    plain = name in ('q"uote\'s', "[exec rm -rf ~]")
    if not plain:
        with pytest.raises(ConfigError):
            e.get_template("hls/dataflow_top.h.j2").render(config_header="c.h", ns=name,
                                                            top="t")
    with pytest.raises(jinja2.UndefinedError):
        e.get_template("hls/dataflow_top.h.j2").render(config_header="c.h", top="t")


def test_cstr_is_byte_exact_and_inert(tmp_path: Path) -> None:
    lits = [emit.c_string(n) for n in HOSTILE]
    assert all(unsafe_fragments(str(s)[1:-1]) == [] for s in lits)
    src = "#include <stdio.h>\nint main(void) {\n" + "".join(
        f'    fputs({s}, stdout); putchar(0);\n' for s in lits) + "    return 0;\n}\n"
    (tmp_path / "t.c").write_text(src)
    cc = toolchain.require("gcc")
    subprocess.run([cc, "-std=c11", "-Wall", "-Werror", "-trigraphs", "t.c", "-o", "t"],
                   cwd=tmp_path, check=True)
    out = subprocess.run([str(tmp_path / "t")], capture_output=True, check=True).stdout
    assert out == b"".join(n.encode() + b"\0" for n in HOSTILE)


@pytest.mark.parametrize("name", HOSTILE)
def test_bundle_readme_and_zip_name_of_a_hostile_model(name: str) -> None:
    """The bundle's README holds shell lines to paste (scp, unzip, cd): a hostile model name
    reaches neither them nor the zip's file name."""
    import re

    from edgepool.accel.manifest import Manifest, ModelSection, TargetSection
    from edgepool.runtime.bundle import _readme, bundle_name

    def manifest(model: str, pynq_board: str | None = "Ultra96") -> Manifest:
        return Manifest(target=TargetSection("ultra96", "fpga", pynq_board=pynq_board),
                        model=ModelSection(model, "model.onnx", (), ()))

    m = manifest(name)
    zipname = bundle_name(m)
    assert re.fullmatch(r"edgepool_[A-Za-z0-9_]+_[0-9a-f]{8}_ultra96\.zip", zipname), zipname
    for has_bit in (True, False):
        text = _readme(m, zipname, has_bit)
        assert unsafe_fragments(text) == []
        assert f"scp {zipname} xilinx@" in text and f"-d {zipname[:-4]}\n" in text
    plain = manifest("lenet-digits", None)
    assert bundle_name(plain) == "edgepool_lenet-digits_ultra96.zip"
