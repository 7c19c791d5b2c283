# SPDX-License-Identifier: Apache-2.0
"""Training is deterministic and writes every artifact."""

from __future__ import annotations

import json

import numpy as np
import torch

from edgepool.quant.trainer import train


def test_one_epoch_twice_is_identical(tmp_path) -> None:
    a = train("lenet-digits", 8, tmp_path / "a", epochs=1, seed=3, progress=False, export=False)
    b = train("lenet-digits", 8, tmp_path / "b", epochs=1, seed=3, progress=False, export=True)
    sa = torch.load(a.state_dict, weights_only=True)
    sb = torch.load(b.state_dict, weights_only=True)
    assert sa.keys() == sb.keys()
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k
    assert a.test_acc == b.test_acc and a.int_test_acc == b.int_test_acc
    ma, mb = (json.loads(r.metrics.read_text()) for r in (a, b))
    assert ma["history"] == mb["history"]
    assert b.onnx is not None and b.onnx.exists() and a.curve.exists()
    with np.load(a.test_set) as ta, np.load(b.test_set) as tb:
        np.testing.assert_array_equal(ta["x"], tb["x"])
        np.testing.assert_array_equal(ta["y"], tb["y"])
