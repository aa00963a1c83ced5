"""An ASGI middleware in front of Gradio's API: a bound on the calls waiting for each endpoint, so one
client filling the OCR queue never blocks the digit endpoints, and a request-log line for every API
request refused before the app's code runs (upload too large, malformed call, endpoint busy).

Gradio's own queue has one size for all endpoints together; its validators run concurrently and cannot
count calls that are being admitted. Here admission is decided on the event loop, before Gradio sees the
call: waiting = calls in Gradio's queue for that endpoint + calls being admitted right now.

Behind a proxy with several replicas (deploy/proxy.py) the gate also answers two questions at once, before
Gradio opens a stream: a result stream (`GET /gradio_api/queue/data?session_hash=`, `GET
/gradio_api/call/<api>/<event_id>`) for a session or event this replica does not hold gets a plain 404, so
the proxy tries the next replica and finds the one that took the call; `GET /ocr-studio/load` says how
many calls this replica still has in hand, so an upgrade knows when an old replica has drained; and after
`POST /ocr-studio/drain` (from this machine) a join is accepted only for a session whose result stream is
open here or that has calls here (gradio_client reads all of a session's results from one stream), others
get 404 and the proxy gives them to a new replica.
"""
from __future__ import annotations

import json
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable
from typing import Any

import gradio as gr

from serving.logs import log_request

JOIN_PATH = "/gradio_api/queue/join"
CALL_PREFIX = "/gradio_api/call/"
UPLOAD_PATH = "/gradio_api/upload"
DATA_PATH = "/gradio_api/queue/data"
LOAD_PATH = "/ocr-studio/load"
DRAIN_PATH = "/ocr-studio/drain"
LOOPBACK = ("127.0.0.1", "::1")


def waiting_calls(demo: gr.Blocks, concurrency_id: str) -> int:
    """Calls in Gradio's queue for concurrency_id, not yet started (Gradio keeps one list per id)."""
    event_queue = demo._queue.event_queue_per_concurrency_id.get(concurrency_id)
    return len(event_queue.queue) if event_queue is not None else 0


class ApiGate:
    """Pure ASGI middleware; limits maps a concurrency_id of the Blocks' events to its most waiting calls."""

    def __init__(self, app: Any, demo: gr.Blocks, limits: dict[str, int]) -> None:
        self.app, self.demo, self.limits = app, demo, limits
        self.admitting: Counter[str] = Counter()
        self.readers: Counter[str] = Counter()  # open result streams per session
        self.draining = False

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and scope["method"] == "GET":
            if path == LOAD_PATH:
                return await _json(send, 200, self.load())
            if not self._holds_stream(path, scope.get("query_string", b"")):
                return await _json(send, 404, {"detail": "No such session or event on this replica."})
            if path == DATA_PATH:
                return await self._reader(scope, receive, send)
        if scope["type"] == "http" and scope["method"] == "POST" and path == DRAIN_PATH:
            if (scope.get("client") or ("",))[0] not in LOOPBACK:
                return await _json(send, 403, {"detail": "Only from this machine."})
            self.draining = True
            return await _json(send, 200, {"draining": True, **self.load()})
        if scope["type"] != "http" or scope["method"] != "POST" or not (
                path == UPLOAD_PATH or path == JOIN_PATH or path.startswith(CALL_PREFIX)):
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        endpoint = concurrency_id = None

        async def send_and_log(message: dict) -> None:
            if message["type"] == "http.response.start" and message["status"] >= 400:
                log_request(endpoint or path, None, started, f"refused: HTTP {message['status']}")
            await send(message)

        if path == UPLOAD_PATH:  # streamed through: only its refusal (e.g. too large) is logged
            return await self.app(scope, receive, send_and_log)
        body = await _read_body(receive)  # a small JSON call, read here to find its endpoint
        if self.draining and path == JOIN_PATH and not self._holds_session(body):
            return await _json(send, 404, {"detail": "This replica is draining; the proxy sends new calls on."})
        endpoint, concurrency_id = self._target(path, body)
        receive = _replay(body, receive)
        if concurrency_id in self.limits:
            waiting = waiting_calls(self.demo, concurrency_id) + self.admitting[concurrency_id]
            if waiting >= self.limits[concurrency_id]:
                log_request(endpoint, None, started, f"refused: queue full ({waiting} waiting)")
                return await _busy(send, endpoint, waiting)
            self.admitting[concurrency_id] += 1
        try:
            await self.app(scope, receive, send_and_log)
        finally:
            if concurrency_id in self.limits:
                self.admitting[concurrency_id] -= 1

    def load(self) -> dict[str, int]:
        """Calls this replica holds: events queued or running (until their result is delivered) and calls
        being admitted."""
        queue = self.demo._queue
        return {"events": sum(len(ids) for ids in queue.pending_event_ids_session.values()),
                "admitting": sum(self.admitting.values())}

    async def _reader(self, scope: dict, receive: Callable, send: Callable) -> None:
        """A result stream, counted while it is open."""
        session = urllib.parse.parse_qs(scope.get("query_string", b"").decode("latin-1")).get("session_hash", [""])[0]
        self.readers[session] += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.readers[session] -= 1
            if not self.readers[session]:
                del self.readers[session]

    def _holds_session(self, body: bytes) -> bool:
        """True when the join's session has a result stream open here or calls here."""
        try:
            session = json.loads(body).get("session_hash")
        except (ValueError, AttributeError):
            return False
        return bool(self.readers.get(session)) or bool(self.demo._queue.pending_event_ids_session.get(session))

    def _holds_stream(self, path: str, query: bytes) -> bool:
        """False only for a result stream whose session or event this replica does not know."""
        queue = self.demo._queue
        if path == DATA_PATH:
            # a session's messages queue outlives its calls: only calls not yet delivered count
            session = urllib.parse.parse_qs(query.decode("latin-1")).get("session_hash", [""])[0]
            return bool(queue.pending_event_ids_session.get(session))
        if path.startswith(CALL_PREFIX):
            parts = path[len(CALL_PREFIX):].strip("/").split("/")
            if len(parts) == 2 or (len(parts) == 3 and parts[0] == "v2"):
                event_id = parts[-1]
                return event_id in queue.event_ids_to_events or any(
                    event_id in ids for ids in queue.pending_event_ids_session.values())
        return True

    def _target(self, path: str, body: bytes) -> tuple[str | None, str | None]:
        """(endpoint name for the log, concurrency_id) of a join or call request; (None, None) otherwise."""
        fn = None
        if path.startswith(CALL_PREFIX):
            api_name = path[len(CALL_PREFIX):].strip("/")
            fn = next((f for f in self.demo.fns.values() if f.api_name == api_name), None)
        elif path == JOIN_PATH:
            try:
                fn = self.demo.fns.get(json.loads(body).get("fn_index"))
            except (ValueError, AttributeError, TypeError):
                return None, None
        if fn is None:
            return None, None
        return f"/{fn.api_name}" if fn.api_name else fn.name, fn.concurrency_id


async def _read_body(receive: Callable) -> bytes:
    chunks, more = [], True
    while more:
        message = await receive()
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    return b"".join(chunks)


def _replay(body: bytes, receive: Callable) -> Callable:
    """An ASGI receive that gives the already-read body once, then passes on what the client sends next."""
    sent = False

    async def replay() -> dict:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _busy(send: Callable, endpoint: str | None, waiting: int) -> None:
    """503 with a message in Gradio's own shape ({"detail": ...}), as for its "Queue is full"."""
    detail = f"The server is busy: {waiting} requests wait for {endpoint}. Please try again in a minute."
    await _json(send, 503, {"detail": detail})


async def _json(send: Callable, status: int, body: dict) -> None:
    payload = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]})
    await send({"type": "http.response.body", "body": payload})
