# SPDX-License-Identifier: Apache-2.0
"""Reading an ONNX file, with a typed error for every way it can fail (the importer and the IR
checkpoints both read through :func:`load_model`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..errors import ModelLoadError


def load_model(model: str | os.PathLike | Any):
    """Read an ONNX file (or take an ``onnx.ModelProto``); typed errors for unreadable input."""
    import onnx
    from google.protobuf.message import DecodeError

    if isinstance(model, onnx.ModelProto):
        return model
    path = Path(model)
    if not path.exists():
        raise ModelLoadError(f"model file {str(path)!r} does not exist")
    if path.is_dir():
        raise ModelLoadError(f"{str(path)!r} is a directory, not an ONNX file",
                             "pass the .onnx file (a build directory works with `edgepool run`)")
    try:
        proto = onnx.load(str(path), load_external_data=True)
    except onnx.checker.ValidationError as e:
        # external weight data missing, not a regular file, or pointing outside the folder
        raise ModelLoadError(f"{str(path)!r}: its external weight data cannot be read "
                             f"({str(e)[:300]})",
                             "keep the external data file(s) next to the .onnx file, inside "
                             "its folder, or re-export with the weights embedded") from None
    except (DecodeError, ValueError, RuntimeError, OSError) as e:
        raise ModelLoadError(f"{str(path)!r} is not a readable ONNX model ({type(e).__name__}: "
                             f"{str(e)[:200]})",
                             "is the file truncated or of another format? re-export it") from None
    if not proto.graph.node and not proto.graph.output:
        raise ModelLoadError(f"{str(path)!r} holds no ONNX graph",
                             "is the file truncated or of another format? re-export it")
    return proto
