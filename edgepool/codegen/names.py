# SPDX-License-Identifier: Apache-2.0
"""Sanitized names: model and layer names from an ONNX file never reach C++, Tcl or a path.

* :func:`c_ident` maps any string to ``[A-Za-z_][A-Za-z0-9_]*``; whenever the mapping changed
  the text (or the result would be a C++ keyword or a reserved identifier), a hash of the
  original is appended, so that two different names never collapse onto one identifier.
* :class:`IdentTable` hands out identifiers that are unique within one generated design.
* :func:`tcl_word` / :func:`check_safe` guard every value interpolated into Tcl, shell or a
  path: only ``[A-Za-z0-9_.:/+-]`` is accepted, anything else raises (generated text never
  needs quoting, so there is nothing to escape and nothing to get wrong).
* :func:`comment_text` reduces free text to characters that are safe inside a ``//`` or ``#``
  comment (no newline can end the comment early).
"""

from __future__ import annotations

import hashlib
import re

from ..errors import ConfigError

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SAFE = re.compile(r"[A-Za-z0-9_.:/+-]+")

#: C++ keywords and alternative tokens, plus names the generated code itself uses
RESERVED = frozenset("""
alignas alignof and and_eq asm auto bitand bitor bool break case catch char char8_t char16_t
char32_t class compl concept const consteval constexpr constinit const_cast continue co_await
co_return co_yield decltype default delete do double dynamic_cast else enum explicit export
extern false float for friend goto if inline int long mutable namespace new noexcept not not_eq
nullptr operator or or_eq private protected public register reinterpret_cast requires return
short signed sizeof static static_assert static_cast struct switch template this thread_local
throw true try typedef typeid typename union unsigned using virtual void volatile wchar_t while
xor xor_eq main edgepool hls std tb ap_int ap_uint edgepool_top in out
""".split())

MAX_LEN = 40


def name_hash(text: str, n: int = 8) -> str:
    """Short stable hash of ``text`` (hex)."""
    return hashlib.sha256(str(text).encode("utf-8", "surrogatepass")).hexdigest()[:n]


def c_ident(name: str, prefix: str = "n", max_len: int = MAX_LEN) -> str:
    """A C/C++/Tcl/file-safe identifier for ``name``: ``[A-Za-z_][A-Za-z0-9_]*``.

    A name that already is a short, non-reserved identifier (and does not start with ``_``,
    which C++ reserves in part) is kept as it is; any other gets its characters outside
    ``[A-Za-z0-9_]`` replaced (runs collapse to one ``_``), is truncated, and receives the suffix
    ``_<8 hex digits of sha256(name)>``. ``prefix`` starts identifiers that would start with a
    digit or be empty.
    """
    text = str(name)
    if _IDENT.fullmatch(text) and not text.startswith("_") and text not in RESERVED \
            and len(text) <= max_len:
        return text
    core = re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_")
    if not core or core[0].isdigit():
        core = f"{prefix}_{core}" if core else prefix
    return f"{core[:max_len - 9]}_{name_hash(text)}"


class IdentTable:
    """Unique identifiers for the names of one design (a name always maps to the same one)."""

    def __init__(self, reserved: frozenset[str] | set[str] = frozenset()) -> None:
        self._by_name: dict[str, str] = {}
        self._used: set[str] = set(reserved) | set(RESERVED)

    def get(self, name: str, prefix: str = "n") -> str:
        """The identifier of ``name`` (allocated on first use)."""
        if name in self._by_name:
            return self._by_name[name]
        base = c_ident(name, prefix)
        ident, k = base, 2
        while ident in self._used:
            ident = f"{base}_{k}"
            k += 1
        self._used.add(ident)
        self._by_name[name] = ident
        return ident

    def claim(self, ident: str) -> str:
        """Reserve a generated identifier (raises if it is taken or not an identifier)."""
        check_ident(ident)
        if ident in self._used:
            raise ConfigError(f"generated identifier {ident!r} collides",
                              "this is an edgepool bug: report it")
        self._used.add(ident)
        return ident


def check_ident(text: str) -> str:
    """``text`` if it is an identifier, else :class:`ConfigError`."""
    if not isinstance(text, str) or not _IDENT.fullmatch(text):
        raise ConfigError(f"{text!r} is not a C identifier", "this is an edgepool bug")
    return text


def check_safe(text: str) -> str:
    """``text`` if it only holds ``[A-Za-z0-9_.:/+-]`` (a Tcl word, shell word and path piece
    that needs no quoting and cannot start a command substitution), else :class:`ConfigError`."""
    s = str(text)
    if not _SAFE.fullmatch(s) or s.startswith("-") or ".." in s.split("/"):
        raise ConfigError(f"{s!r} is not safe to put into generated Tcl / shell text",
                          "use names made of letters, digits and _ . : / + -")
    return s


def tcl_word(text: str) -> str:
    """A Tcl word: :func:`check_safe` text (braces are never needed)."""
    return check_safe(text)


def comment_text(text: str, max_len: int = 64) -> str:
    """``text`` reduced to ``[A-Za-z0-9_.+-]`` for a comment (no newline, no ``*/``)."""
    return re.sub(r"[^A-Za-z0-9_.+-]", "_", str(text))[:max_len]


_PLAIN_PIECE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+-]*")


def path_piece(name: str, max_len: int = 64) -> str:
    """A file-name piece for ``name`` that needs no quoting in shell or Tcl: the name itself
    when it is made of ``[A-Za-z0-9_.+-]`` (not starting with ``.``, ``-`` or ``+``, at most
    ``max_len`` characters), else :func:`c_ident` of it (which carries a hash of the name)."""
    text = str(name)
    if _PLAIN_PIECE.fullmatch(text) and len(text) <= max_len:
        return text
    return c_ident(text, prefix="model")


def file_stem(name: str) -> str:
    """A file-name stem for a model name (an identifier: no separator, no dot-dot)."""
    return c_ident(name, prefix="model")
