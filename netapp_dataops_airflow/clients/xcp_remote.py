"""The shell scripts the XCP client runs on the XCP host: launch detached, status of many runs, kill.

Each run lives in a run directory (``<run_root>/<run id>``, mode 700) on the XCP host:

=============  ===========================================================================
file           written by
=============  ===========================================================================
``command``    the launcher: the quoted xcp command line, to recognise the run on adoption
``operation``  the launcher: ``copy``, ``sync``, ... (two syncs must not run at once)
``pid``        the run's shell, atomically (``pid.tmp`` then ``mv``); it leads its own session,
               so the pid is also the process group id
``stdout``     xcp's standard output; ``stderr``: its progress lines and summary block
``exit_code``  the run's shell when xcp ends, atomically (``exit_code.tmp`` then ``mv``)
=============  ===========================================================================

The run is started with ``setsid`` and every stream redirected, so it survives the SSH connection
dropping, the worker ending and the triggerer restarting. ``mkdir`` of the run directory is the
atomic "is it mine to start?" test: a retry that finds the directory adopts the run in it. Every
value put into a script is quoted with :func:`shlex.quote`.
"""

from __future__ import annotations

import base64
import shlex
from collections.abc import Sequence
from dataclasses import dataclass

from netapp_dataops_airflow.clients.xcp_argv import quoted

# The run's shell: remembers its pid, runs xcp with every stream redirected, writes the exit
# status atomically. TERM is trapped (not ignored, so xcp still gets it) to record xcp's status.
_RUN = (
    "trap : TERM INT; echo $$ > pid.tmp && mv pid.tmp pid; "
    '"$@" > stdout 2> stderr < /dev/null; echo $? > exit_code.tmp && mv exit_code.tmp exit_code'
)
# Lines of the launcher's answer.
STARTED, EXISTS, SYNC_BUSY = "started", "exists", "sync-busy"


def launch_script(run_root: str, run_id: str, argv: Sequence[str], operation: str) -> str:
    """Start ``argv`` detached in ``run_root/run_id``, or say that the run directory exists."""
    root, run = shlex.quote(run_root), shlex.quote(run_id)
    command = quoted(argv)
    sync_check = ""
    if operation == "sync":
        # XCP does not support two syncs on a host: refuse while another run here is a live sync.
        sync_check = (
            'for other in "$root"/*/; do other=${other%/}; '
            '[ "$other" = "$run" ] && continue; '
            '[ -f "$other/operation" ] && [ "$(cat "$other/operation")" = sync ] || continue; '
            '[ -f "$other/exit_code" ] && continue; '
            'p=$(cat "$other/pid" 2>/dev/null) && kill -0 "$p" 2>/dev/null && '
            f'{{ rmdir "$run"; echo "{SYNC_BUSY} ${{other##*/}}"; exit 0; }}; '
            "done\n"
        )
    return (
        "umask 077\n"
        f'root={root}; run="$root"/{run}\n'
        'mkdir -p "$root" || exit 90\n'
        'if ! mkdir "$run" 2>/dev/null; then\n'
        f'  echo {EXISTS}; cat "$run/command" 2>/dev/null; exit 0\n'
        "fi\n"
        f"{sync_check}"
        f'printf "%s\\n" {shlex.quote(command)} > "$run/command"\n'
        f'printf "%s\\n" {shlex.quote(operation)} > "$run/operation"\n'
        'cd "$run" || exit 91\n'
        f"setsid sh -c {shlex.quote(_RUN)} xcp-run {command} < /dev/null > /dev/null 2>&1 &\n"
        "n=0; while [ ! -s pid ] && [ $n -lt 200 ]; do sleep 0.05; n=$((n+1)); done\n"
        f'echo "{STARTED} $(cat pid 2>/dev/null)"\n'
    )


def status_script(run_dirs: Sequence[str], *, running_tail: int, ended_tail: int) -> str:
    """One line per run: ``<n> <state> <pid> <exit code> <base64 of the end of stderr>``.

    A running run sends ``running_tail`` bytes (its last progress line is in there), an ended one
    ``ended_tail`` (its summary block and error lines): a host with hundreds of long runs is not
    asked for all their logs at every poll.

    ``state``: ``exited`` (exit code written), ``running``, ``lost`` (the directory is there but
    the process is gone without an exit code: killed, or the host rebooted), ``missing``.
    """
    runs = " ".join(shlex.quote(run) for run in run_dirs)
    return (
        "n=0\n"
        f"for run in {runs}; do\n"
        # Builtins where possible: hundreds of runs per poll must not cost thousands of processes.
        "  pid=''; code=''; state=missing\n"
        '  [ -f "$run/pid" ] && read -r pid < "$run/pid"\n'
        '  if [ -f "$run/exit_code" ]; then state=exited\n'
        # A zombie answers kill -0: where PID 1 is slow to reap (containers), a killed run would
        # look alive forever. /proc/<pid>/stat's third field is Z then.
        '  elif [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null'
        ' && ! { read -r _ _ st _ < "/proc/$pid/stat" && [ "$st" = Z ]; } 2>/dev/null; then state=running\n'
        '  elif [ -f "$run/exit_code" ]; then state=exited\n'  # it ended between the two looks
        '  elif [ -d "$run" ]; then state=lost; fi\n'
        '  [ $state = exited ] && read -r code < "$run/exit_code"\n'
        f"  size={int(running_tail)}; [ $state = running ] || size={int(ended_tail)}\n"
        '  printf "%s %s %s %s " "$n" "$state" "${pid:--}" "${code:--}"\n'
        '  [ -s "$run/stderr" ] && tail -c "$size" "$run/stderr" | base64 -w 0\n'
        "  echo\n"
        "  n=$((n+1))\n"
        "done\n"
    )


def kill_script(run_dir: str, grace: float) -> str:
    """TERM the run's process group, then KILL it after ``grace`` seconds; print what happened."""
    steps = max(1, int(grace * 10))
    return (
        f"run={shlex.quote(run_dir)}\n"
        'pid=$(cat "$run/pid" 2>/dev/null) || { echo not-started; exit 0; }\n'
        'case $pid in ""|*[!0-9]*) echo bad-pid; exit 0;; esac\n'
        '[ "$pid" -gt 1 ] || { echo bad-pid; exit 0; }\n'
        # "kill -TERM -<pgid>": dash, the usual /bin/sh, refuses "kill -s TERM -- -<pgid>".
        'kill -TERM "-$pid" 2>/dev/null || { echo gone; exit 0; }\n'
        f'n=0; while kill -0 "-$pid" 2>/dev/null && [ $n -lt {steps} ]; do sleep 0.1; n=$((n+1)); done\n'
        'if kill -0 "-$pid" 2>/dev/null; then kill -KILL "-$pid"; echo killed;\n'
        "else echo terminated; fi\n"
    )


@dataclass(frozen=True)
class RunStatus:
    """What the status script saw of one run."""

    state: str
    pid: int | None
    exit_code: int | None
    stderr_tail: str

    @property
    def over(self) -> bool:
        """Whether the run has ended (with or without an exit code)."""
        return self.state in ("exited", "lost")


def parse_status(output: str, run_dirs: Sequence[str]) -> dict[str, RunStatus]:
    """Read the status script's lines back into a status per run directory."""
    found: dict[str, RunStatus] = {}
    for line in output.splitlines():
        parts = line.split(" ")
        if len(parts) != 5 or not parts[0].isdigit() or int(parts[0]) >= len(run_dirs):
            continue
        number, state, pid, code, tail = parts
        text = "" if tail in ("", "-") else base64.b64decode(tail).decode("utf-8", "replace")
        found[run_dirs[int(number)]] = RunStatus(
            state=state,
            pid=int(pid) if pid.isdigit() else None,
            exit_code=int(code) if code.lstrip("-").isdigit() and code != "-" else None,
            stderr_tail=text,
        )
    return found
