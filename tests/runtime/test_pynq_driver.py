# SPDX-License-Identifier: Apache-2.0
"""The PYNQ driver on the simulated device: bit-exact against the golden interpreter, through
pynq's own Overlay / allocate / MMIO / DMA classes; typed errors for bad use."""

from __future__ import annotations

import json

import numpy as np
import pynq
import pytest
from pynq.lib.dma import DMA

from edgepool.errors import InputError, ManifestError
from edgepool.runtime import executors
from edgepool.runtime import pynq_driver as D
from edgepool.runtime.simdevice import SimDevice


def test_whole_testset_exact_through_pynq_dma(lenet_build, testset):
    """The whole test set through the driver, with the build's HLS C++ (C-simulated, g++) as
    the accelerator behind the simulated device — not the reference model."""
    x, y, gold = testset
    acc = D.EdgepoolAccelerator(lenet_build, sim="csim")
    assert acc.device.model.kind == "csim"
    assert isinstance(acc.device, SimDevice) and isinstance(acc.device, pynq.Device)
    assert isinstance(acc.overlay, pynq.Overlay)
    assert isinstance(acc._dma_ip, DMA) and acc.dma_mode == "pynq"
    out = acc.predict(x)
    assert out.dtype == gold.dtype and np.array_equal(out, gold)
    assert acc.device.stats() == {"frames": 360, "dma_transfers": 361, "overlay_runs": 0}
    assert int(np.sum(out.argmax(1) == y)) == int(np.sum(gold.argmax(1) == y))
    # the PL clock the .hwh asks for was programmed through pynq.ps.Clocks
    want = acc.overlay.clock_dict[0]["frequency"]
    assert want and acc.device.pl_clock_mhz(0) == pytest.approx(want, rel=1e-4)
    acc.close()


def test_mmio_dma_path_exact_and_codes_match_reference(lenet_build, testset):
    x, _, gold = testset
    acc = D.EdgepoolAccelerator(lenet_build, sim="reference", dma="mmio")
    assert acc.dma_mode == "mmio"
    codes = executors.host_inputs(acc.manifest, x[:50])
    ref = executors.ReferenceExecutor(lenet_build, acc.manifest).run_codes(codes)
    got = acc.run_codes(codes)
    assert got.dtype == np.int64 and np.array_equal(got, ref)
    assert np.array_equal(acc.predict(x), gold)


def test_edgepool_run_backend_pynq(lenet_build, testset, monkeypatch):
    x, _, gold = testset
    monkeypatch.setenv("EDGEPOOL_PYNQ_SIM", "reference")
    out = executors.run_build(lenet_build, x[:40], backend="pynq")
    assert list(out) == ["logits"] and np.array_equal(out["logits"], gold[:40])


def test_batches_across_dma_chunks(lenet_build, testset):
    """Batches larger than one MM2S transfer are split; outputs stay in order."""
    x, _, gold = testset
    acc = D.EdgepoolAccelerator(lenet_build, sim="reference")
    acc.max_transfer = 3 * acc.frame_in + 5            # 3 frames per MM2S transfer
    assert np.array_equal(acc.predict(x[:20]), gold[:20])
    assert acc.device.stats()["dma_transfers"] == 7 + 20


def test_throughput_test_reports_percentiles(lenet_build, testset):
    acc = D.EdgepoolAccelerator(lenet_build, sim="reference")
    r = acc.throughput_test(20, testset[0])
    assert r.images == 20 and r.latency_ms.shape == (20,) and r.images_per_s > 0
    assert r.p50_ms <= r.p90_ms <= r.p99_ms
    assert acc.device.stats()["frames"] == 40


def test_non_coherent_buffers_need_flush(lenet_build):
    """The simulated PL sees host writes only after flush(), as on the board."""
    dev = SimDevice(lenet_build, D.read_accelerator_manifest(lenet_build))
    buf = pynq.allocate((16,), np.uint8, target=dev)
    buf[:] = np.arange(16, dtype=np.uint8)
    assert dev.memory.read(buf.physical_address, 16) == bytes(16)
    buf.flush()
    assert dev.memory.read(buf.physical_address, 16) == bytes(range(16))
    dev.memory.write(buf.physical_address, bytes([7]) * 16)
    assert int(buf[0]) == 0
    buf.invalidate()
    assert np.array_equal(buf, np.full(16, 7, np.uint8))


def test_dma_decode_error_is_typed(lenet_build):
    acc = D.EdgepoolAccelerator(lenet_build, sim="reference", dma="mmio")
    acc._mmio_transfer("MM2S", 0x0800_0000, 64)        # no buffer there
    with pytest.raises(D.AcceleratorError, match="decode error"):
        acc._mmio_wait("MM2S")


# ----------------------------------------------------------------------------- bad use
@pytest.fixture(scope="module")
def accel(lenet_build):
    return D.EdgepoolAccelerator(lenet_build, sim="reference")


@pytest.mark.parametrize("shape", [(2, 1, 8, 7), (2, 3, 8, 8), (8, 8), (2, 1, 1, 8, 8)])
def test_wrong_input_shape(accel, shape):
    with pytest.raises(InputError, match=r"the build expects \(1, 1, 8, 8\)"):
        accel.predict(np.zeros(shape, np.float32))


def test_wrong_input_dtype(accel):
    with pytest.raises(InputError, match="not numeric"):
        accel.predict(np.full((1, 1, 8, 8), "a"))
    with pytest.raises(InputError, match="codes must be integers"):
        accel.run_codes(np.zeros((1, 1, 8, 8), np.float32))
    with pytest.raises(InputError, match="out of range"):
        accel.run_codes(np.full((1, 1, 8, 8), 300, np.int64))


def test_missing_or_corrupt_manifest(build_copy, tmp_path):
    with pytest.raises(ManifestError, match="no manifest.json"):
        D.EdgepoolAccelerator(tmp_path, sim="reference")
    (build_copy / "manifest.json").write_text("{ not json")
    with pytest.raises(ManifestError, match="corrupt"):
        D.EdgepoolAccelerator(build_copy, sim="reference")
    (build_copy / "manifest.json").write_text(json.dumps({"format": 1, "target": {}}))
    with pytest.raises(ManifestError, match="lacks 'model'"):
        D.EdgepoolAccelerator(build_copy, sim="reference")


def test_missing_program(build_copy):
    (build_copy / "program.json").unlink()
    with pytest.raises(ManifestError, match="program.json missing or corrupt"):
        D.EdgepoolAccelerator(build_copy, sim="reference")


def test_shape_mismatch_between_manifest_and_program(build_copy):
    m = json.loads((build_copy / "manifest.json").read_text())
    m["model"]["inputs"][0]["shape"] = [1, 1, 16, 16]
    (build_copy / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(ManifestError, match="different builds"):
        D.EdgepoolAccelerator(build_copy, sim="reference")


def test_build_for_another_board(lenet_build):
    with pytest.raises(ManifestError, match=r"targets ultra96 .*'Ultra96'.* runs on 'Pynq-Z2'"):
        D.EdgepoolAccelerator(lenet_build, sim="reference", board="Pynq-Z2")
    # PYNQ's Ultra96-V2 image reports a longer name: accepted
    assert D.EdgepoolAccelerator(lenet_build, sim="reference", board="Ultra96V2").style \
        == "dataflow"


def test_no_bitstream_on_the_board(lenet_build):
    with pytest.raises(ManifestError, match="no bitstream"):
        D.EdgepoolAccelerator(lenet_build)


def test_cpu_layers_and_cpu_builds_rejected(build_copy):
    m = json.loads((build_copy / "manifest.json").read_text())
    (build_copy / "manifest.json").write_text(json.dumps(dict(m, partition={
        "cpu_layers": ["softmax"]})))
    with pytest.raises(ManifestError, match="NEON build"):
        D.EdgepoolAccelerator(build_copy, sim="reference")
    m["target"] = {"name": "cortex-a53", "kind": "cpu"}
    (build_copy / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(ManifestError, match="CPU target"):
        D.EdgepoolAccelerator(build_copy, sim="reference")


def test_bad_regmap_and_model(build_copy):
    from edgepool.accel import regmap as R

    m = json.loads((build_copy / "manifest.json").read_text())
    rm = R.default_regmap("dataflow")
    rm["dma"]["registers"]["S2MM_LENGTH"] = 0x5C
    (build_copy / "manifest.json").write_text(json.dumps(dict(m, regmap=rm)))
    with pytest.raises(ManifestError, match="S2MM_LENGTH at 92, the AXI DMA has it at 0x58"):
        D.EdgepoolAccelerator(build_copy, sim="reference")
    (build_copy / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(ManifestError, match="EDGEPOOL_PYNQ_SIM must be one of"):
        D.EdgepoolAccelerator(build_copy, sim="verilog")


@pytest.mark.slow
def test_csim_and_rtlsim_models_plug_in(lenet_build, testset):
    """csim/rtlsim accelerator models run the build's generated design (the build ran every
    stage, so both must construct and compute exactly)."""
    stages = D.read_accelerator_manifest(lenet_build).stages
    for kind, stage in (("csim", "hls"), ("rtlsim", "rtl")):
        assert stage in stages, f"the {stage} stage did not run"
        acc = D.EdgepoolAccelerator(lenet_build, sim=kind)
        assert np.array_equal(acc.predict(testset[0][:4]), testset[2][:4])


# ----------------------------------------------------------------------------- overlay style
def test_overlay_style_exact(build_copy, testset):
    x, _, gold = testset
    m = json.loads((build_copy / "manifest.json").read_text())
    m.pop("regmap", None)                      # the default overlay map of the config below
    m["config"] = {"hls": {"style": "overlay", "simd": 1, "pe": 2, "act_bits": 32, "w_bits": 8,
                           "acc_bits": 32, "dma_bits": 64}}
    (build_copy / "manifest.json").write_text(json.dumps(m))
    acc = D.EdgepoolAccelerator(build_copy, sim="reference")
    assert acc.style == "overlay"
    regs = acc.overlay.ip_dict["edgepool_0"]["registers"]
    assert {k: regs[k]["address_offset"] for k in ("CTRL", "ap_return", "desc", "n_layers",
                                                   "wmem", "bmem", "act_in", "act_out")} == \
        {"CTRL": 0, "ap_return": 0x10, "desc": 0x18, "n_layers": 0x24, "wmem": 0x2C,
         "bmem": 0x38, "act_in": 0x44, "act_out": 0x50}
    assert np.array_equal(acc.predict(x[:30]), gold[:30])
    assert acc.device.stats()["overlay_runs"] == 30
    # a descriptor the build did not plan makes the overlay reject it (ap_return = 1 + layer)
    acc._buffers["desc"][40 + 3] = 99
    acc._buffers["desc"].flush()
    with pytest.raises(D.AcceleratorError, match="descriptor 1"):
        acc.predict(x[:1])
