"""Bounds on what unauthenticated clients may ask of the API; the operator always gets through.

The measuring core does not depend on them (it runs in another process); they keep the API
itself answering the operator while a dashboard left open on many screens, a monitoring script
gone wrong or anyone who can reach the port asks too much. A request with the API's bearer token
skips them all. Everyone else, per client address:

* a request rate (token bucket: ``rate`` per second, bursts of ``burst``): past it, 429 with
  ``Retry-After``;
* requests in progress at once over all such clients (``max_in_flight``): past it, 503 rather
  than an unbounded queue;
* live event streams (``max_streams``, over all such clients): past it, 503 (the browser's
  EventSource retries).

:class:`Admission` is the decision, a plain class driven by timestamps; :class:`LimitMiddleware`
is the ASGI shell around it.
"""

from __future__ import annotations

import hmac
import time
from collections import OrderedDict
from dataclasses import dataclass

__all__ = ["Admission", "Limits", "LimitMiddleware", "Verdict"]

STREAM_PATH = "/api/v1/events"


@dataclass(frozen=True, slots=True)
class Limits:
    rate: float = 100.0
    burst: float = 200.0
    max_in_flight: int = 64
    max_streams: int = 64
    #: Client addresses remembered for their buckets (least recently seen forgotten first).
    max_clients: int = 4096


@dataclass(frozen=True, slots=True)
class Verdict:
    status: int  # 0: admitted
    detail: str = ""
    retry_after_s: int = 0


ADMITTED = Verdict(0)


class Admission:
    """Who gets in. ``admit`` then, for every admitted request, ``done`` when it ends."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.in_flight = 0
        self.streams = 0
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # client -> (tokens, at)

    def admit(self, client: str, now: float, *, stream: bool) -> Verdict:
        lim = self.limits
        tokens, at = self._buckets.pop(client, (lim.burst, now))
        tokens = min(lim.burst, tokens + (now - at) * lim.rate)
        if tokens < 1.0:
            self._remember(client, tokens, now)
            return Verdict(429, f"too many requests from {client}: at most {lim.rate:g}/s without the API token",
                           max(1, int((1.0 - tokens) / lim.rate + 0.999)))
        self._remember(client, tokens - 1.0, now)
        if stream:
            if self.streams >= lim.max_streams:
                return Verdict(503, f"{lim.max_streams} event streams are open: try again later", 5)
            self.streams += 1
        else:
            if self.in_flight >= lim.max_in_flight:
                return Verdict(503, f"{lim.max_in_flight} requests in progress: try again later", 1)
            self.in_flight += 1
        return ADMITTED

    def done(self, *, stream: bool) -> None:
        if stream:
            self.streams -= 1
        else:
            self.in_flight -= 1

    def _remember(self, client: str, tokens: float, now: float) -> None:
        self._buckets[client] = (tokens, now)
        if len(self._buckets) > self.limits.max_clients:
            self._buckets.popitem(last=False)


class LimitMiddleware:
    """ASGI middleware: bearer-token requests pass; others go through :class:`Admission`."""

    def __init__(self, app, token: str, limits: Limits | None = None) -> None:
        self.app = app
        self._expected = f"Bearer {token}".encode()
        self.admission = Admission(limits or Limits())

    def _operator(self, scope) -> bool:
        for name, value in scope.get("headers", ()):
            if name == b"authorization":
                return hmac.compare_digest(value, self._expected)
        return False

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or self._operator(scope):
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        stream = scope.get("path") == STREAM_PATH
        verdict = self.admission.admit(client[0] if client else "?", time.monotonic(), stream=stream)
        if verdict.status:
            await _refuse(send, verdict)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self.admission.done(stream=stream)


async def _refuse(send, verdict: Verdict) -> None:
    body = b'{"detail":"' + verdict.detail.encode().replace(b'"', b"'") + b'"}'
    await send({"type": "http.response.start", "status": verdict.status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"retry-after", str(verdict.retry_after_s).encode())]})
    await send({"type": "http.response.body", "body": body})
