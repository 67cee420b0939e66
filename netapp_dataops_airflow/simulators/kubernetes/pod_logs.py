"""``GET /api/v1/namespaces/{ns}/pods/{name}/log``: container logs as the kubelet serves them.

Plain text, one line per write; ``timestamps=true`` prefixes each line with its RFC 3339 time and
nine fractional digits, as the kubelet formats it; ``follow=true`` streams until the container
exits (or the pod is gone); ``sinceSeconds``/``sinceTime``, ``tailLines`` and ``limitBytes`` filter
as the real API does.
"""

from __future__ import annotations

import asyncio
import datetime
import time

from aiohttp import web

from . import kinds
from .errors import ApiError, bad_request
from .meta import JSON, dig, metadata
from .models import KubernetesBackend
from .wire import go_bool
from .workloads import ContainerClock, ContainerScript, container_spec, script_for

POLL_SECONDS = 0.05  # how often a follower looks for the container's exit


def format_line(at: float, text: str, *, timestamps: bool) -> str:
    """One log line, with the kubelet's timestamp prefix when asked."""
    if not timestamps:
        return text + "\n"
    moment = datetime.datetime.fromtimestamp(at, datetime.timezone.utc)
    nanos = round((at - int(at)) * 1e9) % 1_000_000_000
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{nanos:09d}Z {text}\n"


def _invalid(field: str, value: str, detail: str) -> ApiError:
    return ApiError(
        422,
        "Invalid",
        f'PodLogOptions "" is invalid: {field}: Invalid value: {value}: {detail}',
        {"kind": "PodLogOptions", "causes": [{"reason": "FieldValueInvalid", "field": field}]},
    )


def _integer(query: dict[str, str], name: str, minimum: int) -> int | None:
    text = query.get(name)
    if text is None or text == "":
        return None
    try:
        value = int(text)
    except ValueError:
        raise bad_request(f'strconv.ParseInt: parsing "{text}": invalid syntax') from None
    if value < minimum:
        raise _invalid(name, str(value), f"must be greater than {'or equal to ' if minimum == 0 else ''}0")
    return value


def _since(query: dict[str, str]) -> float | None:
    seconds = _integer(query, "sinceSeconds", 1)
    since_time = query.get("sinceTime")
    if seconds is not None and since_time:
        raise _invalid(
            "sinceSeconds", str(seconds), "at most one of `sinceTime` or `sinceSeconds` may be specified"
        )
    if seconds is not None:
        return time.time() - seconds
    if since_time:
        try:
            return datetime.datetime.fromisoformat(since_time.replace("Z", "+00:00")).timestamp()
        except ValueError:
            raise bad_request(f'parsing time "{since_time}" as RFC3339: cannot parse') from None
    return None


def _pick_container(pod: JSON, wanted: str | None) -> str:
    name = metadata(pod)["name"]
    names = [str(c["name"]) for c in dig(pod, "spec", "containers") or []]
    inits = [c["name"] for c in dig(pod, "spec", "initContainers") or []]
    if not wanted:
        if len(names) == 1:
            return names[0]
        message = f"a container name must be specified for pod {name}, choose one of: [{' '.join(names)}]"
        if inits:
            message += f" or one of the init containers: [{' '.join(inits)}]"
        raise bad_request(message)
    if wanted not in names + inits:
        raise bad_request(f"container {wanted} is not valid for pod {name}")
    return wanted


def _waiting_reason(pod: JSON, container: str) -> str:
    for status in [
        *(dig(pod, "status", "initContainerStatuses") or []),
        *(dig(pod, "status", "containerStatuses") or []),
    ]:
        if status.get("name") == container:
            return str(dig(status, "state", "waiting", "reason") or "ContainerCreating")
    return "ContainerCreating"


class LogRequest:
    """One log request, validated: which container, which lines, how to write them."""

    def __init__(self, backend: KubernetesBackend, namespace: str, name: str, query: dict[str, str]) -> None:
        self.backend = backend
        self.pod = backend.get(kinds.PODS, namespace, name)
        self.container = _pick_container(self.pod, query.get("container"))
        self.follow = go_bool(query.get("follow"))
        self.timestamps = go_bool(query.get("timestamps"))
        self.since = _since(query)
        self.tail = _integer(query, "tailLines", 0)
        self.limit = _integer(query, "limitBytes", 1)
        if go_bool(query.get("previous")):
            raise bad_request(f'previous terminated container "{self.container}" in pod "{name}" not found')
        clock = backend.pods.clock(self.pod, self.container)
        # An unscheduled pod has no kubelet to ask: its log is empty, as the apiserver answers.
        if (
            clock is None
            and dig(self.pod, "spec", "nodeName")
            and dig(self.pod, "status", "phase") == "Pending"
        ):
            reason = _waiting_reason(self.pod, self.container)
            raise bad_request(f'container "{self.container}" in pod "{name}" is waiting to start: {reason}')
        self.clock: ContainerClock | None = clock
        spec = container_spec(self.pod, self.container) or {"name": self.container}
        self.script: ContainerScript = script_for(self.pod, spec, backend.pods.defaults)

    def printed(self) -> list[tuple[float, str]]:
        """Every line written so far (up to the container's exit), after the since filter."""
        if self.clock is None:
            return []
        until = self.clock.finished if self.clock.finished is not None else time.time()
        lines = self.script.printed(self.clock.started, until)
        return [(at, text) for at, text in lines if self.since is None or at >= self.since]

    def render(self, lines: list[tuple[float, str]]) -> str:
        """Write ``lines`` as the response text."""
        return "".join(format_line(at, text, timestamps=self.timestamps) for at, text in lines)

    def done(self) -> bool:
        """Whether a follower has nothing more to wait for."""
        gone = self.backend.find(kinds.PODS, metadata(self.pod)["namespace"], metadata(self.pod)["name"])
        if gone is None or metadata(gone).get("uid") != metadata(self.pod).get("uid"):
            return True
        return self.clock is None or self.clock.finished is not None


def add_log_route(router: web.UrlDispatcher, backend: KubernetesBackend) -> None:
    """Serve the ``log`` subresource of pods for ``backend``."""

    async def serve(request: web.Request) -> web.StreamResponse:
        query = dict(request.query)
        log = LogRequest(backend, request.match_info["namespace"], request.match_info["name"], query)
        lines = log.printed()
        if log.tail is not None:
            lines = lines[len(lines) - log.tail :] if log.tail else []
        if not log.follow:
            text = log.render(lines)
            if log.limit is not None:
                text = text.encode()[: log.limit].decode(errors="ignore")
            return web.Response(text=text, content_type="text/plain")
        response = web.StreamResponse(headers={"Content-Type": "text/plain"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        sent = len(log.printed())  # the lines already answered (or cut by tailLines)
        written = 0
        chunk = log.render(lines).encode()
        while True:
            if log.limit is not None:
                chunk = chunk[: max(0, log.limit - written)]
            if chunk:
                await response.write(chunk)
                written += len(chunk)
            if log.done() or (log.limit is not None and written >= log.limit):
                break
            await asyncio.sleep(POLL_SECONDS)
            fresh = log.printed()
            chunk, sent = log.render(fresh[sent:]).encode(), len(fresh)
        # Lines written between the last poll and the container's exit.
        fresh = log.printed()
        tail = log.render(fresh[sent:]).encode()
        if tail and (log.limit is None or written < log.limit):
            await response.write(tail if log.limit is None else tail[: log.limit - written])
        await response.write_eof()
        return response

    router.add_get("/api/v1/namespaces/{namespace}/pods/{name}/log", serve)
