# SPDX-License-Identifier: Apache-2.0
"""Stand-ins for the Xilinx tools, so the generated vendor scripts run up to the vendor
boundary: ``vivado`` and ``vitis_hls`` executables that run their ``-source`` / ``-f`` script in
``tclsh`` after a prelude in which every command Tcl does not know (``create_project``,
``ipx::*``, ``create_bd_cell``, ``launch_runs`` ...) is recorded instead of executed.

So a test runs the real ``build.sh`` (shell), which runs the real ``package_ip.tcl`` /
``bd.tcl`` / ``run_hls.tcl`` (Tcl, parsed and executed: syntax, variables, control flow, paths
from ``[info script]``), and reads back the vendor commands they issued, in order. A few stubs
have the side effect the real command has on the file system where the scripts depend on it:
``ipx::package_project -root_dir D`` and ``export_design`` create their IP directory,
``file copy`` of a Vivado output that does not exist is recorded instead of failing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tkinter
from dataclasses import dataclass
from pathlib import Path

TCLSH = shutil.which("tclsh")

#: the prelude sourced before the tool's script
PRELUDE = r"""
set ::stub_log [open $::env(STUB_LOG) a]
proc ::stub_record {tool args} {
    puts $::stub_log [list $tool {*}$args]
    flush $::stub_log
}
rename unknown ::_tcl_unknown
proc unknown {cmd args} {
    ::stub_record $::env(STUB_TOOL) $cmd {*}$args
    switch -glob -- $cmd {
        get_property {
            if {[lindex $args 0] eq "PROGRESS"} { return "100%" }
            return ""
        }
        get_board_parts { return "" }
        ipx::package_project {
            set i [lsearch -exact $args -root_dir]
            if {$i >= 0} { file mkdir [lindex $args [expr {$i + 1}]] }
            return ""
        }
        export_design {
            if {[info exists ::stub_project]} {
                file mkdir [file join $::stub_project solution1 impl ip]
            }
            return ""
        }
        open_project {
            set ::stub_project [file join [pwd] [lindex $args end]]
            return "stub:$cmd"
        }
        default { return "stub:$cmd" }
    }
}
rename file ::_tcl_file
proc file {sub args} {
    if {$sub eq "copy"} {
        set src [lindex $args end-1]
        if {$src eq "" || ![::_tcl_file exists $src]} {
            ::stub_record $::env(STUB_TOOL) file copy {*}$args
            return ""
        }
    }
    return [::_tcl_file $sub {*}$args]
}
"""

#: the stub executable (sh): finds the script argument and runs it in tclsh after the prelude
TOOL = r"""#!/bin/sh
# stub of {tool} (tests/stubtcl.py): run the script in tclsh, vendor commands recorded
script=""
while [ $# -gt 0 ]; do
    case "$1" in
        -source|-f) script="$2"; shift 2 ;;
        -log|-mode) shift 2 ;;
        *) shift ;;
    esac
done
echo "{tool} $script" >> "$STUB_LOG"
[ -n "$script" ] || exit 0
STUB_TOOL={tool} exec "{tclsh}" "$STUB_DIR/run.tcl" "$script"
"""

RUNNER = r"""
source [file join $::env(STUB_DIR) prelude.tcl]
set script [lindex $argv 0]
set argv {}
set argc 0
source $script
"""


@dataclass
class StubTools:
    """A directory of stub tools and the log they write."""

    dir: Path
    log: Path

    def env(self) -> dict[str, str]:
        """The environment that puts the stubs first on PATH."""
        return {**os.environ, "PATH": f"{self.dir}{os.pathsep}{os.environ.get('PATH', '')}",
                "STUB_LOG": str(self.log), "STUB_DIR": str(self.dir)}

    def calls(self) -> list[str]:
        """Every recorded line, in order (``<tool> <script>`` when a tool starts, then
        ``<tool> <command> <args...>`` as Tcl lists)."""
        return self.log.read_text().splitlines() if self.log.exists() else []

    def run(self, script: Path, cwd: Path | None = None) -> subprocess.CompletedProcess:
        """Run a shell script (``build.sh``) with the stubs on PATH."""
        return subprocess.run(["sh", str(script)], cwd=cwd or script.parent, env=self.env(),
                              capture_output=True, text=True, timeout=120)


def make_stub_tools(where: Path, tools: tuple[str, ...] = ("vivado", "vitis_hls")) -> StubTools:
    """Write the stub executables (``tools``) into ``where``; needs ``tclsh``."""
    if TCLSH is None:
        raise RuntimeError("tclsh is not installed (apt install tcl)")
    where.mkdir(parents=True, exist_ok=True)
    (where / "prelude.tcl").write_text(PRELUDE)
    (where / "run.tcl").write_text(RUNNER)
    for tool in tools:
        p = where / tool
        p.write_text(TOOL.format(tool=tool, tclsh=TCLSH))
        p.chmod(0o755)
    return StubTools(where, where / "calls.log")


class StubTcl:
    """An in-process Tcl interpreter (tkinter) where every vendor command is recorded instead of
    run: for one generated script; :func:`make_stub_tools` runs whole ``build.sh`` flows."""

    def __init__(self) -> None:
        self.tcl = tkinter.Tcl()
        self.tcl.eval("""
            set ::calls {}
            proc unknown {args} { lappend ::calls $args; return "" }
            proc exit {args} { lappend ::calls [list exit] }
            proc get_property {args} { lappend ::calls [concat get_property $args]; return 100% }
        """)

    def run(self, script: Path) -> list[list[str]]:
        self.tcl.eval(f"source {{{script}}}")
        n = int(self.tcl.eval("llength $::calls"))
        return [list(self.tcl.splitlist(self.tcl.eval(f"lindex $::calls {i}")))
                for i in range(n)]
