# SPDX-License-Identifier: Apache-2.0
"""A fabric-only build of a model the accelerator cannot run whole (residual Adds, depthwise
convolutions, float heads) is refused with a typed error naming every offending node, why, and
the CPU target that runs it — and writes nothing. (Heterogeneous ultra96 builds, which place
these layers on the Cortex-A53, change this: update the test with them.)"""

from __future__ import annotations

import pytest

from edgepool.build import build
from edgepool.errors import UnsupportedOpError
from edgepool.toolchain import REPO_ROOT

MODELS = REPO_ROOT / "models"


@pytest.mark.parametrize("model,expect", [
    ("resnet-mnist", ["op Add", "residual Add joins two streams", "Requant"]),
    ("dwsep-mnist", ["depthwise convolution (groups=16)", "groups=64"]),
])
def test_fabric_only_build_refuses_clearly(tmp_path, model, expect):
    out = tmp_path / "out"
    with pytest.raises(UnsupportedOpError) as ei:
        build(MODELS / model / f"{model}.onnx", "ultra96", out)
    msg = str(ei.value)
    for e in expect:
        assert e in msg, msg
    assert "cortex-a53" in msg
    assert not out.exists()
