"""Hooks: a program run, or a URL posted to, when something happens (mwan3.user, keepalived notify).

``[[hook]] on = [...]`` picks hook events, made from the core's domain events
(:func:`hook_event`): ``failover`` and ``failback`` (the rule went in / out), ``elected`` (the
elected gateway moved, ``family`` ``ipv4``; or the gateway serving IPv6 moved, ``family`` ``ipv6``), ``gateway`` (a gateway's heartbeat verdict or its reachability changed),
``target`` (the path check's verdict on its targets: with several, their quorum's; one target's own
verdicts and faults are log entries, not hook events) and ``wan`` (the WAN's verdict).

Bounded, so a hook can never hold up the measuring core: the core only appends to the hook's
queue (``queue`` events; beyond that the event is dropped and counted). One worker per hook runs
its events in order, one at a time: ``exec`` gets the event as ``FAILOVER_*`` environment
variables and as JSON on stdin and is killed (its whole process group) at ``timeout_ms``; then
``url`` is POSTed the same JSON, with ``X-Failover-Signature: sha256=<hex HMAC-SHA256 of the
body>`` when ``secret_file`` is set, retried ``retries`` times with a backoff from 0.5 s
doubling; a delivery that never succeeds is counted as dropped.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import os
import shlex
import signal
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import httpx

from ..config import Config, Hook, read_key
from ..tasks import cancel_and_wait
from ..core.events import (ElectionChanged, Event, FailoverChanged, GatewayReachabilityChanged, GatewayStatusChanged,
                     Ipv6ServerChanged, PathVerdict, WanChanged)

log = logging.getLogger("failover.hooks")

SIGNATURE_HEADER = "X-Failover-Signature"
BACKOFF_S = 0.5


@dataclass(frozen=True)
class HookEvent:
    """What a hook is given: the event's name and its fields (JSON on stdin, FAILOVER_* variables)."""

    event: str
    fields: dict[str, Any]

    def json(self) -> bytes:
        return json.dumps({"event": self.event, **self.fields}, sort_keys=True).encode()

    def environ(self) -> dict[str, str]:
        env = {"FAILOVER_EVENT": self.event}
        for key, value in self.fields.items():
            if value is None or isinstance(value, (list, tuple, dict)):
                continue
            env[f"FAILOVER_{key.upper()}"] = ("1" if value else "0") if isinstance(value, bool) else str(value)
        return env


def hook_event(event: Event, wan: str) -> HookEvent | None:
    """The hook event for a domain event, or None when no hook event corresponds."""
    base = {"wan": wan, "time": event.ts if hasattr(event, "ts") else None}
    if isinstance(event, FailoverChanged):
        return HookEvent("failover" if event.active else "failback", {
            **base, "gateway": event.elected_name, "address": event.elected, "carrier": event.carrier,
            "path": event.path, "rule": event.rule, "family": event.family, "message": event.message})
    if isinstance(event, ElectionChanged) and (event.moved or event.first):
        return HookEvent("elected", {**base, "gateway": event.name, "address": event.address,
                                     "pinned": event.pinned, "reason": event.reason, "family": "ipv4",
                                     "message": event.message})
    if isinstance(event, Ipv6ServerChanged):
        # The gateway serving IPv6 moved: the same election's IPv6 side, told apart by its family.
        return HookEvent("elected", {**base, "gateway": event.name, "address": event.address,
                                     "address6": event.address6, "elected": event.elected, "reason": event.reason,
                                     "family": "ipv6", "message": event.message})
    if isinstance(event, GatewayStatusChanged):
        return HookEvent("gateway", {**base, "gateway": event.name, "address": event.address, "status": event.status,
                                     "previous": event.previous, "reason": event.reason, "rtt_ms": event.rtt_ms,
                                     "loss": event.loss, "message": event.message})
    if isinstance(event, GatewayReachabilityChanged):
        return HookEvent("gateway", {**base, "gateway": event.name, "address": event.address,
                                     "reachable": event.reachable, "message": event.message})
    if isinstance(event, PathVerdict):
        return HookEvent("target", {**base, "status": "up" if event.up else "down", "reason": event.reason,
                                    "family": event.family, "message": event.message})
    if isinstance(event, WanChanged):
        return HookEvent("wan", {**base, "status": "up" if event.up else "down", "carrier": event.carrier,
                                 "path": event.path, "family": event.family, "message": event.message})
    return None


def signature(secret: bytes, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


@dataclass
class HookCounters:
    runs: int = 0      # exec runs and successful POSTs
    failures: int = 0  # exec timeouts and non-zero exits, failed POST attempts
    drops: int = 0     # events never delivered: queue full, or every POST attempt failed


@dataclass
class HookRunner:
    """One ``[[hook]]``: its queue and its worker."""

    hook: Hook
    index: int
    counters: HookCounters
    secret: bytes | None = None
    _queue: deque[HookEvent] = field(default_factory=deque)
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task | None = None
    _client: httpx.AsyncClient | None = None

    @property
    def name(self) -> str:
        return f"hook {self.index} ({self.hook.exec or self.hook.url})"

    def offer(self, event: HookEvent) -> None:
        """From the core's loop: never waits."""
        if event.event not in self.hook.on:
            return
        if len(self._queue) >= self.hook.queue:
            self.counters.drops += 1
            log.warning("%s: queue full (%d), %s event dropped", self.name, self.hook.queue, event.event)
            return
        self._queue.append(event)
        self._wake.set()

    def start(self) -> None:
        if self.hook.url is not None:
            self._client = httpx.AsyncClient(timeout=self.hook.timeout_ms / 1000)
        self._task = asyncio.create_task(self._work(), name=f"hook-{self.index}")

    async def close(self) -> None:
        await cancel_and_wait(self._task)
        if self._client is not None:
            await self._client.aclose()

    async def _work(self) -> None:
        while True:
            while not self._queue:
                self._wake.clear()
                await self._wake.wait()
            event = self._queue.popleft()
            try:
                if self.hook.exec is not None:
                    await self._exec(event)
                if self.hook.url is not None:
                    await self._post(event)
            except Exception:  # a surprise in one delivery must not end the hook's worker
                self.counters.failures += 1
                log.exception("%s: %s event failed", self.name, event.event)

    async def _exec(self, event: HookEvent) -> None:
        argv = shlex.split(self.hook.exec)
        env = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"), **event.environ()}
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE, env=env, start_new_session=True)
        except OSError as e:
            self.counters.failures += 1
            log.warning("%s: cannot start: %s", self.name, e)
            return
        try:
            async with asyncio.timeout(self.hook.timeout_ms / 1000):
                _, err = await proc.communicate(event.json())
        except TimeoutError:
            # The hook and whatever it started: the whole session it leads.
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            await proc.wait()
            self.counters.failures += 1
            log.warning("%s: %s event: killed at its timeout (%d ms)", self.name, event.event, self.hook.timeout_ms)
            return
        if proc.returncode != 0:
            self.counters.failures += 1
            log.warning("%s: %s event: exit %s: %s", self.name, event.event, proc.returncode,
                        err.decode(errors="replace").strip()[-200:])
            return
        self.counters.runs += 1

    async def _post(self, event: HookEvent) -> None:
        body = event.json()
        headers = {"Content-Type": "application/json"}
        if self.secret is not None:
            headers[SIGNATURE_HEADER] = signature(self.secret, body)
        for attempt in range(self.hook.retries + 1):
            if attempt:
                await asyncio.sleep(BACKOFF_S * 2 ** (attempt - 1))
            try:
                r = await self._client.post(self.hook.url, content=body, headers=headers)
                if r.status_code < 300:
                    self.counters.runs += 1
                    return
                why = f"HTTP {r.status_code}"
            except httpx.HTTPError as e:
                why = f"{type(e).__name__}: {e}"
            self.counters.failures += 1
            log.warning("%s: %s event: POST attempt %d failed: %s", self.name, event.event, attempt + 1, why)
        self.counters.drops += 1
        log.warning("%s: %s event dropped after %d attempts", self.name, event.event, self.hook.retries + 1)


class Hooks:
    """Every ``[[hook]]`` of the config, fed from the core's events."""

    def __init__(self, cfg: Config, counters: HookCounters | None = None) -> None:
        self.wan = cfg.wan.interface
        self.counters = counters or HookCounters()  # kept across a reload: /metrics counters never go back
        self.runners = [HookRunner(h, i, self.counters,
                                   read_key(h.secret_file, f"hook.{i}.secret_file") if h.secret_file else None)
                        for i, h in enumerate(cfg.hook)]

    def start(self) -> None:
        for r in self.runners:
            r.start()

    async def close(self) -> None:
        for r in self.runners:
            await r.close()

    def __call__(self, event: Event) -> None:
        """A core event listener: hands the event to each hook that wants it, never waits."""
        if not self.runners:
            return
        he = hook_event(event, self.wan)
        if he is not None:
            for r in self.runners:
                r.offer(he)
