"""``/api/v1/namespaces/{ns}/pods/{name}/exec`` over WebSocket, with the channel.k8s.io framing.

Every frame starts with its channel: 0 stdin, 1 stdout, 2 stderr, 3 the error channel (a
metav1.Status when the command ends, v4 and later), 255 a channel close (v5). No process runs,
so only what Airflow's KubernetesPodOperator runs in its xcom sidecar is understood: reading
``/airflow/xcom/return.json`` (the pod's ``xcom`` annotation) and ``kill`` (which stops the
container: the sidecar traps SIGINT and exits 0). Anything else exits 127, "not found".
"""

from __future__ import annotations

import json
import re
import shlex

from aiohttp import WSMsgType, web

from . import kinds
from .errors import bad_request
from .kubelet import stop_container
from .meta import JSON, dig, metadata
from .models import KubernetesBackend
from .wire import go_bool
from .workloads import XCOM_SIDECAR, xcom_of

PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io")
STDIN, STDOUT, STDERR, ERROR = 0, 1, 2, 3
XCOM_FILE = "/airflow/xcom/return.json"
SIGINT_EXIT = 130


def _status(exit_code: int, command: list[str]) -> JSON:
    if exit_code == 0:
        return {"metadata": {}, "status": "Success"}
    return {
        "metadata": {},
        "status": "Failure",
        "message": "command terminated with non-zero exit code: error executing command "
        f"{command}, exit code {exit_code}",
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": str(exit_code)}]},
    }


def run_script(pod: JSON, script: str) -> tuple[str, str, int]:
    """Answer ``script`` as a shell in the sidecar would: its stdout, stderr and exit code."""
    if f"cat {XCOM_FILE}" in script:
        content = xcom_of(pod)
        if content:
            return content, "", 0
        empty = re.search(r"else echo (\S+);", script)
        if empty:
            return empty.group(1) + "\n", "", 0
        return "", f"cat: can't open '{XCOM_FILE}': No such file or directory\n", 1
    first = script.strip().split(" ", 1)[0] if script.strip() else ""
    return "", f"sh: {first}: not found (the simulator runs no commands)\n", 127


def _target(backend: KubernetesBackend, request: web.Request) -> tuple[JSON, str]:
    pod = backend.get(kinds.PODS, request.match_info["namespace"], request.match_info["name"])
    name = metadata(pod)["name"]
    names = [c["name"] for c in dig(pod, "spec", "containers") or []]
    container = request.query.get("container") or (names[0] if len(names) == 1 else "")
    if not container:
        raise bad_request(
            f"a container name must be specified for pod {name}, choose one of: [{' '.join(names)}]"
        )
    if container not in names:
        raise bad_request(f"container {container} is not valid for pod {name}")
    phase = dig(pod, "status", "phase")
    if phase in ("Succeeded", "Failed"):
        raise bad_request(f"cannot exec into a container in a completed pod; current phase is {phase}")
    clock = backend.pods.clock(pod, container)
    if clock is None or clock.finished is not None:
        raise bad_request(f'unable to upgrade connection: container not found ("{container}")')
    return pod, container


def add_exec_route(router: web.UrlDispatcher, backend: KubernetesBackend) -> None:
    """Serve the ``exec`` subresource of pods for ``backend``."""

    async def serve(request: web.Request) -> web.StreamResponse:
        pod, container = _target(backend, request)
        command = request.query.getall("command", [])
        if not command:
            raise bad_request("you must specify at least 1 command")
        socket = web.WebSocketResponse(protocols=PROTOCOLS)
        if not socket.can_prepare(request).ok:
            raise bad_request("Upgrade request required")
        await socket.prepare(request)
        for channel, wanted in ((STDOUT, "stdout"), (STDERR, "stderr")):
            if go_bool(request.query.get(wanted)):
                await socket.send_bytes(bytes([channel]))  # an empty frame opens a channel, as wsstream does
        await socket.send_bytes(bytes([ERROR]))
        exit_code = await _session(
            backend, socket, pod, container, command, go_bool(request.query.get("stdin"))
        )
        await socket.send_bytes(bytes([ERROR]) + json.dumps(_status(exit_code, command)).encode())
        await socket.close()
        return socket

    for method in ("GET", "POST"):
        router.add_route(method, "/api/v1/namespaces/{namespace}/pods/{name}/exec", serve)


async def _session(
    backend: KubernetesBackend,
    socket: web.WebSocketResponse,
    pod: JSON,
    container: str,
    command: list[str],
    stdin: bool,
) -> int:
    """Run ``command``, or a shell reading stdin line by line; return the exit code."""
    if command[:2] == ["/bin/sh", "-c"] or command[:2] == ["sh", "-c"]:
        return await _answer(socket, *run_script(pod, " ".join(command[2:])))
    if not stdin or command[0] not in ("/bin/sh", "sh", "bash", "/bin/bash"):
        return await _answer(socket, *run_script(pod, shlex.join(command)))
    buffered = ""
    async for message in socket:
        if message.type not in (WSMsgType.BINARY, WSMsgType.TEXT):
            break
        data = message.data if isinstance(message.data, bytes) else message.data.encode()
        if not data or data[0] != STDIN:
            continue
        buffered += data[1:].decode(errors="replace")
        while "\n" in buffered:
            line, buffered = buffered.split("\n", 1)
            if re.search(r"\bkill\b", line):
                # The kill reaches the container's main process (and this shell): the container stops.
                stop_container(backend, pod, container, 0 if container == XCOM_SIDECAR else SIGINT_EXIT)
                return SIGINT_EXIT
            await _answer(socket, *run_script(pod, line))  # a failed line does not end the shell
    return 0


async def _answer(socket: web.WebSocketResponse, stdout: str, stderr: str, exit_code: int) -> int:
    if stdout:
        await socket.send_bytes(bytes([STDOUT]) + stdout.encode())
    if stderr:
        await socket.send_bytes(bytes([STDERR]) + stderr.encode())
    return exit_code
