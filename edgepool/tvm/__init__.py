# SPDX-License-Identifier: Apache-2.0
"""Single-operator TVM (LLVM) builders used as a baseline by the NEON benchmarks."""
