# SPDX-License-Identifier: Apache-2.0
"""The one cached-build helper (edgepool.toolchain.cached_build / content_key): its key follows
the content, concurrent processes build a key once, a failure leaves nothing, other keys'
entries are never touched, and one environment variable moves the whole cache."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from edgepool import toolchain

C_SOURCE = "int answer(void) { return 42; }\n"

# Run by two processes at once: both wait for the "go" file, then build the same key with a
# real gcc compile that takes at least 0.5 s (so the second arrives while the first builds);
# every build appends one line to builds.log.
WORKER = textwrap.dedent("""
    import os, subprocess, sys, time
    from pathlib import Path
    from edgepool import toolchain

    work = Path(sys.argv[1])
    src = work / "answer.c"
    key = toolchain.content_key(files=[src], flags=["-O2", "-shared"], tools=["gcc"])

    def build(tmp):
        with open(work / "builds.log", "a") as f:
            f.write(f"{os.getpid()}\\n")
        time.sleep(0.5)
        subprocess.run(["gcc", "-O2", "-shared", "-fPIC", str(src), "-o",
                        str(tmp / "libanswer.so")], check=True)

    while not (work / "go").exists():
        time.sleep(0.01)
    print(toolchain.cached_build("test", key, build, root=work / "cache"))
""")


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_key_follows_content_not_location(tmp_path: Path) -> None:
    a = _write(tmp_path / "a" / "src" / "k.c", C_SOURCE)
    b = _write(tmp_path / "b" / "src" / "k.c", C_SOURCE)
    key = toolchain.content_key(files=[a], base=tmp_path / "a", flags=["-O2"], tools=["gcc"])
    # the same sources in another folder (another build directory) share the entry
    assert toolchain.content_key(files=[b], base=tmp_path / "b", flags=["-O2"],
                                 tools=["gcc"]) == key
    # a changed source, a renamed file, other flags, another tool: another key
    b.write_text(C_SOURCE.replace("42", "43"))
    assert toolchain.content_key(files=[b], base=tmp_path / "b", flags=["-O2"],
                                 tools=["gcc"]) != key
    c = _write(tmp_path / "a" / "src" / "k2.c", C_SOURCE)
    assert toolchain.content_key(files=[c], base=tmp_path / "a", flags=["-O2"],
                                 tools=["gcc"]) != key
    assert toolchain.content_key(files=[a], base=tmp_path / "a", flags=["-O1"],
                                 tools=["gcc"]) != key
    assert toolchain.content_key(files=[a], base=tmp_path / "a", flags=["-O2"],
                                 tools=["g++"]) != key
    # fields are length-prefixed: moving text between two fields changes the key
    assert toolchain.content_key(texts=["ab", "c"]) != toolchain.content_key(texts=["a", "bc"])
    assert toolchain.content_key(texts=["-O2"]) != toolchain.content_key(flags=["-O2"])


def test_two_processes_build_one_artifact(tmp_path: Path) -> None:
    _write(tmp_path / "answer.c", C_SOURCE)
    script = _write(tmp_path / "worker.py", WORKER)
    env = dict(os.environ, PYTHONPATH=str(toolchain.REPO_ROOT))
    procs = [subprocess.Popen([sys.executable, str(script), str(tmp_path)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    (tmp_path / "go").touch()
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        outs.append(out.strip())
    assert outs[0] == outs[1]                                  # the same entry for both
    entry = Path(outs[0])
    assert entry.parent == tmp_path / "cache" / "test"
    assert len((tmp_path / "builds.log").read_text().split()) == 1   # built once
    assert sorted(p.name for p in entry.iterdir()) == ["libanswer.so"]
    # nothing else is left: the entry and its lock file, no temporary folder
    assert sorted(p.name for p in entry.parent.iterdir()) == [entry.name, entry.name + ".lock"]
    # and it is a working library
    import ctypes

    assert ctypes.CDLL(str(entry / "libanswer.so")).answer() == 42


def test_failed_build_leaves_nothing_and_retries(tmp_path: Path) -> None:
    root = tmp_path / "cache"

    def broken(tmp: Path) -> None:
        (tmp / "half-written").write_text("x")
        raise RuntimeError("compiler failed")

    with pytest.raises(RuntimeError, match="compiler failed"):
        toolchain.cached_build("k", "abc", broken, root=root)
    assert sorted(p.name for p in (root / "k").iterdir()) == ["abc.lock"]
    entry = toolchain.cached_build("k", "abc", lambda t: (t / "out").write_text("ok"), root=root)
    assert (entry / "out").read_text() == "ok"


def test_other_keys_are_never_touched(tmp_path: Path) -> None:
    root = tmp_path / "cache"
    a = toolchain.cached_build("k", "aaa", lambda t: (t / "out").write_text("a"), root=root)
    # the temporary folder of a builder of key bbb that was killed mid-build, and one of aaa
    (root / "k" / ".bbb.dead.tmp").mkdir()
    (root / "k" / ".aaa.dead.tmp").mkdir()
    b = toolchain.cached_build("k", "bbb", lambda t: (t / "out").write_text("b"), root=root)
    assert (a / "out").read_text() == "a" and (b / "out").read_text() == "b"
    assert not (root / "k" / ".bbb.dead.tmp").exists()          # its own leftover: removed
    assert (root / "k" / ".aaa.dead.tmp").exists()              # another key's: untouched
    # a present entry is returned as is, without building
    assert toolchain.cached_build("k", "aaa", lambda t: pytest.fail("rebuilt"), root=root) == a


def test_one_variable_moves_the_cache(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(toolchain.CACHE_ENV, str(tmp_path / "c"))
    assert toolchain.cache_root() == tmp_path / "c"
    entry = toolchain.cached_build("k", "key1", lambda t: (t / "x").write_text("1"))
    assert entry == tmp_path / "c" / "k" / "key1"
    monkeypatch.delenv(toolchain.CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert toolchain.cache_root() == tmp_path / "xdg" / "edgepool"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert toolchain.cache_root() == Path.home() / ".cache" / "edgepool"


def test_every_compiled_artifact_uses_the_one_cache(tmp_path: Path, monkeypatch) -> None:
    """The csim testbench compiler (the cheapest of the five users to run here) lands in
    ``$EDGEPOOL_CACHE/csim/<key>/``; no other cache variable remains in the sources."""
    monkeypatch.setenv(toolchain.CACHE_ENV, str(tmp_path / "c"))
    sys.path.insert(0, str(toolchain.REPO_ROOT / "tests" / "hls"))
    try:
        from hls_csim import compile_tb
    finally:
        sys.path.pop(0)
    binary = compile_tb("int main() { return 0; }\n", "trivial")
    assert binary.parent.parent == tmp_path / "c" / "csim" and binary.name == "tb"
    assert subprocess.run([str(binary)]).returncode == 0
    old = ("EDGEPOOL_CSIM_CACHE", "EDGEPOOL_CPU_CACHE", "EDGEPOOL_NEON_BUILD",
           "EDGEPOOL_RTLSIM_CACHE")
    for p in [*(toolchain.REPO_ROOT / "edgepool").rglob("*.py"),
              *(toolchain.REPO_ROOT / "tests").rglob("*.py")]:
        if p.name != Path(__file__).name:
            text = p.read_text()
            assert not any(v in text for v in old), p
