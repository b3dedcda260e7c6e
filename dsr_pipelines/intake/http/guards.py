"""What protects the process: a bound on request bodies, a rate per key, an access log of ids.

The rate limit is a token bucket per API key in this process (a burst, then a steady rate): a
controller over it gets 429 with `Retry-After`. Several API processes each keep their own buckets.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ...core.errors import DsrError
from .problems import MEDIA_TYPE

access_log = logging.getLogger("dsr.http.access")


class RateLimited(DsrError):
    def __init__(self, retry_after: float):
        self.retry_after = max(1, math.ceil(retry_after))
        super().__init__(f"too many requests with this key: retry in {self.retry_after} s")


@dataclass
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    def __init__(self, rate: float, burst: int, clock=time.monotonic):
        self.rate, self.burst, self.clock = rate, burst, clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> None:
        """One call's token, or RateLimited saying when the next one comes."""
        now = self.clock()
        with self._lock:
            bucket = self._buckets.setdefault(key, _Bucket(self.burst, now))
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.at) * self.rate)
            bucket.at = now
            if bucket.tokens < 1:
                raise RateLimited((1 - bucket.tokens) / self.rate)
            bucket.tokens -= 1


class BodyLimit:
    """Refuses a body over `limit` bytes with 413, by its Content-Length or as it streams in."""

    def __init__(self, app: ASGIApp, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            return await _too_large(send, self.limit)
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _TooLarge()
            return message

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            await _too_large(send, self.limit)


class _TooLarge(Exception):
    pass


async def _too_large(send: Send, limit: int) -> None:
    body = (
        '{"type":"about:blank","title":"Content Too Large","status":413,'
        f'"detail":"a request body is at most {limit} bytes"}}'
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", MEDIA_TYPE.encode()), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


class AccessLog:
    """One line a call: method, route template (ids, never a query's values), status, key id, time."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started, status = time.perf_counter(), [0]

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = getattr(scope.get("route"), "path", None) or "(no route)"
            ids = " ".join(f"{k}={v}" for k, v in scope.get("path_params", {}).items())
            key = scope.get("state", {}).get("key_id", "-")  # request.state, set by auth.py
            took = (time.perf_counter() - started) * 1000
            access_log.info("%s %s %s %s key=%s %.1fms", scope["method"], route, ids, status[0], key, took)
