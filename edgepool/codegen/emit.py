# SPDX-License-Identifier: Apache-2.0
"""The one text emitter of edgepool: every generated source — HLS C++ (``templates/hls``),
Vivado Tcl and shell (``templates/vendor``), SystemVerilog (``templates/rtl``) and the NEON
glue C (``templates/neon``) — is rendered from a context of numbers, booleans and checked
identifiers through :func:`env`, one Jinja2 environment with

* ``StrictUndefined``: a variable missing from a context is an error, never an empty string;
* a ``finalize`` hook (:func:`finalize`) that refuses any interpolated string holding a
  newline, a comment token or a character outside a small C / Verilog-safe set (a stricter one,
  without brackets, braces, quotes or ``$``, in Tcl, shell and Yosys scripts and the
  bundle README, whose lines are commands to paste), so that text from a
  model file cannot reach the output even if a context forgot to sanitize it (the contexts map
  every name through :mod:`edgepool.codegen.names` first; this is the second line of defence);
* no autoescaping (the outputs are not HTML); the output of a macro of these templates is
  ``Markup`` and passes ``finalize`` unchanged (its own interpolations were checked).

Filters: ``braced`` (a checked Tcl word in braces), ``cbool`` (``true`` / ``false``), ``ctor``
(``T(v)`` / ``T("v")``), ``cstr`` (any text as a C string literal, :func:`c_string`: the one
way arbitrary text such as an ONNX value name may enter generated code, escaped byte by byte).
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import jinja2
import markupsafe

from ..errors import ConfigError

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"

#: characters an interpolated string may hold (no newline, no backslash, no ``$`` or backtick)
SAFE_TEXT = re.compile(r"[A-Za-z0-9_ ,.:;<>()\"+\-*/=\[\]{}~!&|%#']*")
#: bytes a C string literal of :func:`c_string` keeps as they are
_C_STRING_PLAIN = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                            b"0123456789_ .,:+-=")


#: never interpolated: they would open or close a comment around generated code
COMMENT_TOKENS = ("/*", "*/", "//")
#: characters an interpolated string may hold in Tcl and shell scripts (no quoting, no
#: substitution: no brackets, braces, quotes, ``$``, ``;`` or ``#``)
SAFE_SCRIPT_TEXT = re.compile(r"[A-Za-z0-9_ ,.:/+\-=]*")
#: template name suffixes rendered with :data:`SAFE_SCRIPT_TEXT`
SCRIPT_SUFFIXES = (".tcl.j2", ".sh.j2", ".ys.j2", ".txt.j2")


@jinja2.pass_context
def finalize(context: Any, value: Any) -> Any:
    """Jinja ``finalize`` hook: macro output (``Markup``) and non-strings pass; a string must
    match :data:`SAFE_TEXT` (:data:`SAFE_SCRIPT_TEXT` in Tcl / shell templates) and hold no
    :data:`COMMENT_TOKENS`, else :class:`~edgepool.errors.ConfigError`."""
    if isinstance(value, markupsafe.Markup):          # output of a macro of these templates
        return value
    if isinstance(value, str):
        script = str(context.name or "").endswith(SCRIPT_SUFFIXES)
        if not (SAFE_SCRIPT_TEXT if script else SAFE_TEXT).fullmatch(value) or any(
                tok in value for tok in COMMENT_TOKENS):
            raise ConfigError(f"refusing to emit unsafe text {value!r} into generated "
                              f"{'script' if script else 'code'} ({context.name})",
                              "this is an edgepool bug: a name was not sanitized")
    return value


def c_string(text: str) -> markupsafe.Markup:
    """A C string literal holding exactly the UTF-8 bytes of ``text``: letters, digits and
    ``_ .,:+-=`` as they are, every other byte as a three-digit octal escape (so no quote,
    backslash, newline, ``*/``, ``??`` trigraph or non-ASCII byte appears raw, and an escape is
    never extended by a following digit)."""
    data = str(text).encode("utf-8", "surrogatepass")
    body = "".join(chr(b) if b in _C_STRING_PLAIN else f"\\{b:03o}" for b in data)
    return markupsafe.Markup(f'"{body}"')


def tcl_braced(value: Any) -> markupsafe.Markup:
    """``{value}``: a Tcl word in braces; ``value`` must be :data:`SAFE_SCRIPT_TEXT`."""
    text = str(value)
    if not SAFE_SCRIPT_TEXT.fullmatch(text):
        raise ConfigError(f"refusing to emit unsafe text {text!r} into a Tcl script",
                          "this is an edgepool bug: a name was not sanitized")
    return markupsafe.Markup("{" + text + "}")


def _cbool(v: bool) -> str:
    return "true" if v else "false"


def _ctor(v: str, ctype: str, quoted: bool) -> str:
    return f'{ctype}("{v}")' if quoted else f"{ctype}({v})"


@functools.cache
def env() -> jinja2.Environment:
    """The Jinja2 environment of every template under ``edgepool/codegen/templates``."""
    e = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
                           undefined=jinja2.StrictUndefined, autoescape=False,
                           keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True,
                           finalize=finalize)
    e.filters["cbool"] = _cbool
    e.filters["ctor"] = _ctor
    e.filters["cstr"] = c_string
    e.filters["braced"] = tcl_braced
    return e


def render(template: str, **ctx: Any) -> str:
    """Render ``templates/<template>`` (e.g. ``"hls/overlay_top.cpp.j2"``) with ``ctx``."""
    return env().get_template(template).render(**ctx)


def macro(template: str, name: str) -> Any:
    """The macro ``name`` of ``templates/<template>`` (callable; returns ``Markup``)."""
    return getattr(env().get_template(template).module, name)
