"""An ASGI middleware in front of Gradio's API: a bound on the calls waiting for each endpoint, so one
client filling the OCR queue never blocks the digit endpoints, and a request-log line for every API
request refused before the app's code runs (upload too large, malformed call, endpoint busy).

Gradio's own queue has one size for all endpoints together; its validators run concurrently and cannot
count calls that are being admitted. Here admission is decided on the event loop, before Gradio sees the
call: waiting = calls in Gradio's queue for that endpoint + calls being admitted right now.
"""
from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import gradio as gr

from serving.logs import log_request

JOIN_PATH = "/gradio_api/queue/join"
CALL_PREFIX = "/gradio_api/call/"
UPLOAD_PATH = "/gradio_api/upload"


def waiting_calls(demo: gr.Blocks, concurrency_id: str) -> int:
    """Calls in Gradio's queue for concurrency_id, not yet started (Gradio keeps one list per id)."""
    event_queue = demo._queue.event_queue_per_concurrency_id.get(concurrency_id)
    return len(event_queue.queue) if event_queue is not None else 0


class ApiGate:
    """Pure ASGI middleware; limits maps a concurrency_id of the Blocks' events to its most waiting calls."""

    def __init__(self, app: Any, demo: gr.Blocks, limits: dict[str, int]) -> None:
        self.app, self.demo, self.limits = app, demo, limits
        self.admitting: Counter[str] = Counter()

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        path = scope.get("path", "")
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
    payload = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": 503,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]})
    await send({"type": "http.response.body", "body": payload})
