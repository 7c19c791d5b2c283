# SPDX-License-Identifier: Apache-2.0
"""The library built with -fsanitize=address,undefined runs a mixed example set cleanly (in a
subprocess: the ASan runtime must be preloaded into the interpreter)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from edgepool import toolchain
from edgepool.neon import bridge as N

pytestmark = pytest.mark.simde

SCRIPT = r"""
import sys
sys.path.insert(0, sys.argv[1])
import numpy as np
from hypothesis import given, settings, HealthCheck
from hypothesis import strategies as st
from edgepool.neon import bridge as N
from cases import (avg2_case, conv_case, conv_maxpool_case, fast_pool_case, fc_case,
                              global_case, pool_case, requant_case)
count = [0]
@settings(max_examples=120, deadline=None, database=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@given(st.one_of(pool_case("max", small=True), pool_case("avg", small=True), fast_pool_case(),
                 avg2_case(), global_case(), conv_case(small=True), conv_maxpool_case(small=True),
                 fc_case(), requant_case()))
def check(case):
    case.check(N.run_native([case.op], sanitize=True)[0])
    count[0] += 1
check()
# the Winograd conv: its in-place 8-channel loads near the input's end, partial tiles
import importlib.util
spec = importlib.util.spec_from_file_location("neon_tests", sys.argv[1] + "/__init__.py",
                                              submodule_search_locations=[sys.argv[1]])
sys.modules["neon_tests"] = importlib.util.module_from_spec(spec)
from neon_tests.rb_cases import wino_conv_case
@settings(max_examples=60, deadline=None, database=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@given(wino_conv_case(small=True))
def check_wino(case):
    case.check(N.run_native([case.op], sanitize=True)[0])
    count[0] += 1
check_wino()
print("CHECKED", count[0])
"""


def test_asan_ubsan_clean():
    gcc = toolchain.require("gcc")
    N.build_native(sanitize=True)
    libasan = subprocess.run([gcc, "-print-file-name=libasan.so"], capture_output=True,
                             text=True, check=True).stdout.strip()
    libubsan = subprocess.run([gcc, "-print-file-name=libubsan.so"], capture_output=True,
                              text=True, check=True).stdout.strip()
    env = dict(os.environ, LD_PRELOAD=f"{libasan}:{libubsan}",
               ASAN_OPTIONS="detect_leaks=0:abort_on_error=1",
               UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1")
    res = subprocess.run([sys.executable, "-c", SCRIPT, str(Path(__file__).parent)],
                         capture_output=True, text=True, env=env, cwd=toolchain.REPO_ROOT,
                         timeout=600)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-5000:]
    assert "runtime error" not in res.stderr and "AddressSanitizer" not in res.stderr
    checked = int(res.stdout.split("CHECKED")[-1])
    assert checked >= 60
