# SPDX-License-Identifier: Apache-2.0
"""Typed errors. Every user-facing failure is an :class:`EdgepoolError`.

Each error names what is wrong and how to fix it; the CLI prints the message and exits with code 2
(no traceback unless ``--debug``).
"""

from __future__ import annotations


class EdgepoolError(Exception):
    """Base of all edgepool errors. ``hint`` says how to fix the problem."""

    exit_code = 2

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  hint: {self.hint}"


class ModelLoadError(EdgepoolError):
    """The model file could not be read (missing, truncated, not ONNX)."""


class UnsupportedOpError(EdgepoolError):
    """One or more nodes, attributes or types are not supported; ``problems`` lists all of them."""

    def __init__(self, problems: list[str], hint: str | None = None):
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(
            f"{len(self.problems)} unsupported construct(s) in the model:\n{lines}", hint)


class QuantizationError(EdgepoolError):
    """A quantization parameter is not representable in edgepool's fixed point
    (non-power-of-two scale, non-zero zero point, bit width out of range)."""


class ShapeError(EdgepoolError):
    """Shapes are inconsistent, dynamic, or do not match what a model expects."""


class VerifyError(EdgepoolError):
    """The IR graph violates an invariant (a bug in a pass, or a malformed import)."""


class InputError(EdgepoolError):
    """User-supplied input data is wrong (shape, dtype, missing name, unreadable file)."""


class ConfigError(EdgepoolError):
    """A build configuration or target name is invalid."""


class EngineUnsupportedError(ConfigError):
    """The requested accelerator engine (``--engine rtl``) cannot run this model; ``problems``
    names every layer and reason."""

    def __init__(self, engine: str, problems: list[str], hint: str | None = None):
        self.engine = engine
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"the {engine.upper()} engine cannot build this model "
                         f"({len(self.problems)} problem(s)):\n{lines}", hint)


class ResourceBudgetError(EdgepoolError):
    """No configuration fits the device's resources."""


class ToolchainError(EdgepoolError):
    """An external tool (compiler, simulator, vendor tool) is missing or failed."""


class ManifestError(EdgepoolError):
    """A build directory or its manifest.json is missing, corrupt or for another target."""


class PlacementError(EdgepoolError):
    """A layer cannot be placed where it was pinned (or the model cannot be split across the
    board's fabric and CPU); the message names the layer and the reason."""


class RewriteDivergedError(VerifyError):
    """A rewrite pass did not reach a fixed point: its rules keep rewriting without progress
    (they undo each other) or exceed a bound proportional to the graph's size."""
