# SPDX-License-Identifier: Apache-2.0
"""`make demo` end to end: every backend this machine has equals the golden interpreter."""

import pytest

from edgepool.demo import run_demo


@pytest.mark.slow
@pytest.mark.csim
@pytest.mark.rtlsim
@pytest.mark.aarch64
@pytest.mark.tvm
def test_demo_end_to_end(tmp_path, monkeypatch):
    monkeypatch.setenv("EDGEPOOL_PYNQ_SIM", "csim")
    rows = run_demo(out_root=tmp_path, rtl_images=8)
    results = {level: result for level, _, result in rows}
    for level in ("Brevitas QAT model", "ultra96 / reference", "ultra96 / csim",
                  "ultra96 / rtlsim", "ultra96 / pynq driver on simulated device (csim)",
                  "ultra96 / pynq driver on simulated device (RTL IP via AXI)",
                  "cortex-a53 / neon (qemu)"):
        assert results[level] == "bit-exact", (level, results)
    assert float(results["interpreter"].split()[-1].rstrip("%")) >= 95.0
    assert (tmp_path / "lenet-digits-ultra96" / "bundle").is_dir()
    assert results["accelerator engine in the bitstream (ultra96)"].startswith("auto: the RTL")
