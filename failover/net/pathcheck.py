"""The primary WAN's path check: STAMP probes to ``wan.probe``, forced out of the WAN interface.

The socket is bound to the WAN device (``SO_BINDTODEVICE``), so while the failover rule sends
everything else through an alternate gateway the probes still leave through the WAN: the verdict
keeps telling the truth and failback happens when the WAN path really works again. (A bound
socket's route lookup only accepts routes through that device, so table T's default via the LAN is
skipped and main's default via the ISP is used.) Under strict reverse-path filtering
(``rp_filter=1``) on the WAN the replies would be dropped while the rule is in place; use loose
mode (2) or off there.

Silence or delay (:mod:`failover.core.silence`). Every probe interval the WAN device is read by name
over rtnetlink (:mod:`failover.net.linkcounters`): when its unicast receive counter moved, the WAN is
still receiving (return traffic of the flows through it, late replies), and the session is told
(``on_traffic``). A path whose replies are late while traffic still comes in is slow, not down;
one with neither replies nor traffic for the detect time is a blackout, as fast as before.

The WAN device comes and goes (PPPoE reconnects, modems re-enumerate): the same read tells when a
device of that name exists again with another ifindex, and the socket is bound to it
(``Prober.rebind``); while no such device exists the probes fail, the path goes down, and the
daemon sees the carrier lost anyway.

Timing. The path check probes every ``wan.probe_interval_ms`` (5 ms by default), faster than the
gateways' heartbeats, because the brown-out test (25 % loss detected within 2 s, no false alarm at
10 %) needs ~200 probes/s (failover/core/heartbeat.py's docstring); h = 14 is the threshold tuned there
for 5 ms. The operator's blackout detect time and recovery time stay what ``[heartbeat]`` says
(``interval_ms × detect_multiplier``, ``interval_ms × recover_count``): the multipliers are scaled
to the faster interval, not left to mean 3 × 5 ms.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable

from ..config import Config, stamp_key
from ..core.journal import ProbeTap
from ..tasks import cancel_and_wait
from ..core.heartbeat import HeartbeatConfig, SessionStats, Status, StatusChange
from .linkcounters import LinkReader
from .prober import Prober, Target
from ..core.silence import ReceiveActivity

__all__ = ["PathCheck", "path_heartbeat_config"]

log = logging.getLogger("failover.pathcheck")

#: CUSUM threshold (nats) for the brown-out detector at 5 ms, and at slower intervals.
BROWNOUT_THRESHOLD_FAST = 14.0
BROWNOUT_THRESHOLD = 13.0
RETRY_S = 1.0

#: ``on_verdict(up, reason)``.
VerdictHandler = Callable[[bool, str], None]


def path_heartbeat_config(cfg: Config) -> HeartbeatConfig:
    """Heartbeat knobs for the path check: faster probes, the configured detect/recover times."""
    hb, interval = cfg.heartbeat, cfg.wan.probe_interval_ms
    detect = max(1, math.ceil(hb.interval_ms * hb.detect_multiplier / interval))
    recover = max(1, math.ceil(hb.interval_ms * hb.recover_count / interval))
    default = HeartbeatConfig()
    return HeartbeatConfig(
        interval_ms=interval,
        detect_multiplier=detect,
        recover_count=recover,
        brownout_threshold=BROWNOUT_THRESHOLD_FAST if interval <= 5 else BROWNOUT_THRESHOLD,
        # The adaptive blackout run length may grow as far in time as the default allows.
        max_detect_multiplier=max(detect, math.ceil(default.max_detect_multiplier * hb.interval_ms / interval)),
        loss_window_ms=max(default.loss_window_ms, interval),
    )


class PathCheck:
    """Probes ``cfg.wan.probe`` through ``cfg.wan.interface``; reports up/down verdicts."""

    def __init__(self, cfg: Config, on_verdict: VerdictHandler, tap: ProbeTap | None = None) -> None:
        if cfg.wan.probe is None:
            raise ValueError("path check: wan.probe is not set")
        self.interface = cfg.wan.interface
        self.target = Target("wan-probe", cfg.wan.probe, cfg.heartbeat.port)
        self.on_verdict = on_verdict
        self.prober = Prober([self.target], path_heartbeat_config(cfg), device=self.interface,
                             on_change=self._changed, on_tick=self._tick, stamp_key=stamp_key(cfg), tap=tap)
        self.link = LinkReader(self.interface)
        self.activity = ReceiveActivity()
        #: The ifindex the probe socket is bound to, None while the device is gone.
        self.bound_ifindex: int | None = None
        self.up: bool | None = None  # None until the first verdict
        self.reason = "no verdict yet"
        self._task: asyncio.Task | None = None

    @property
    def stats(self) -> SessionStats:
        return self.prober.snapshot(self.target.address)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._start(), name="pathcheck")

    async def _start(self) -> None:
        # The WAN device may not exist yet (or be renamed): keep trying, the daemon sees its
        # carrier as down meanwhile, so nothing waits on this verdict.
        while True:
            try:
                await self.prober.start()
                log.info("path check: probing %s:%d through %s every %d ms", self.target.address,
                         self.target.port, self.interface, self.prober.config.interval_ms)
                return
            except OSError as e:
                log.warning("path check: cannot probe through %s: %s (retrying)", self.interface, e.strerror or e)
                await asyncio.sleep(RETRY_S)

    async def close(self) -> None:
        await cancel_and_wait(self._task)
        await self.prober.close()
        self.link.close()

    def _tick(self, now_ns: int) -> None:
        """Read the WAN by name: follow a re-created device, and feed its receive traffic."""
        try:
            link = self.link.read()
        except OSError as e:
            log.warning("path check: cannot read %s over rtnetlink: %s", self.interface, e)
            return
        if link is None:
            if self.bound_ifindex is not None:
                log.info("path check: %s is gone (was ifindex %d)", self.interface, self.bound_ifindex)
            self.bound_ifindex = None
            self.activity.forget()
            return
        if link.ifindex != self.bound_ifindex:
            try:
                self.prober.rebind()
            except OSError as e:  # gone again between the read and the bind: the next tick retries
                log.warning("path check: cannot bind to %s: %s", self.interface, e)
                return
            if self.bound_ifindex is not None or self.up is not None:
                log.info("path check: probing through %s, ifindex %d", self.interface, link.ifindex)
            self.bound_ifindex = link.ifindex
        if self.activity.observe(now_ns, link.ifindex, link.rx_unicast):
            self.prober.tap.traffic(now_ns)
            self.prober.sessions[self.target.address].on_traffic(now_ns)

    def _changed(self, _target: Target, change: StatusChange, _stats: SessionStats) -> None:
        if change.new is Status.UNKNOWN:
            return
        self.up = change.new is Status.UP
        self.reason = f"path check via {self.interface} to {self.target.address}: {change.reason}"
        self.on_verdict(self.up, self.reason)
