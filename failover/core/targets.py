"""The path check's probe targets: what each one is, and the heartbeat rules its session follows.

Every target has its own :class:`~failover.core.heartbeat.HeartbeatSession` (RTT, jitter, loss,
up/down) probed at its own interval. Its verdict keeps the operator's times: a target is down after
the path check's detect time without a reply (``[heartbeat]`` ``interval_ms × detect_multiplier``)
or after ``detect_multiplier`` of its own intervals, whichever is longer, and up again after the
recovery time or ``recover_count`` of its own replies, whichever is longer.

Brown-out (the loss CUSUM) is judged on STAMP targets only. An ICMP target is a public host that
rate-limits echo and drops requests when busy: its loss says little about our path, and at 100 ms
it carries too few probes to tell 25 % from 10 % anyway. Without that detector the blackout rule is
all that tells its random losses from silence, so its run length may grow as far as the false-rate
asks (up to :data:`ICMP_MAX_DETECT_MULTIPLIER` probes): a target answering 70 % of its probes is up.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from .heartbeat import HeartbeatConfig

__all__ = [
    "BROWNOUT_THRESHOLD",
    "BROWNOUT_THRESHOLD_FAST",
    "ICMP_MAX_DETECT_MULTIPLIER",
    "PathTiming",
    "TargetSpec",
    "target_heartbeat_config",
]

Kind = Literal["stamp", "icmp"]

#: CUSUM threshold (nats) for the brown-out detector at 5 ms, and at slower intervals
#: (tuned in failover/core/heartbeat.py's docstring).
BROWNOUT_THRESHOLD_FAST = 14.0
BROWNOUT_THRESHOLD = 13.0
#: Longest blackout run an ICMP target's loss can stretch its detect time to (in its probes).
ICMP_MAX_DETECT_MULTIPLIER = 25


@dataclass(frozen=True, slots=True)
class TargetSpec:
    address: str
    kind: Kind
    interval_ms: int


@dataclass(frozen=True, slots=True)
class PathTiming:
    """The operator's ``[heartbeat]`` timing, which every target's verdict keeps."""

    interval_ms: int = 20
    detect_multiplier: int = 3
    recover_count: int = 10

    @property
    def detect_ms(self) -> int:
        return self.interval_ms * self.detect_multiplier

    @property
    def recover_ms(self) -> int:
        return self.interval_ms * self.recover_count


def target_heartbeat_config(spec: TargetSpec, timing: PathTiming) -> HeartbeatConfig:
    """The session knobs for ``spec``: its interval, the operator's detect and recovery times."""
    interval = spec.interval_ms
    detect = max(math.ceil(timing.detect_ms / interval), timing.detect_multiplier)
    recover = max(math.ceil(timing.recover_ms / interval), timing.recover_count)
    default = HeartbeatConfig()
    if spec.kind == "stamp":
        # The adaptive blackout run length may grow as far in time as the default allows.
        longest = max(detect, math.ceil(default.max_detect_multiplier * timing.interval_ms / interval))
        threshold = BROWNOUT_THRESHOLD_FAST if interval <= 5 else BROWNOUT_THRESHOLD
        brownout = True
    else:
        longest = max(detect, ICMP_MAX_DETECT_MULTIPLIER)
        threshold = BROWNOUT_THRESHOLD
        brownout = False
    return HeartbeatConfig(
        interval_ms=interval,
        detect_multiplier=detect,
        recover_count=recover,
        brownout_threshold=threshold,
        brownout=brownout,
        max_detect_multiplier=longest,
        loss_window_ms=max(default.loss_window_ms, interval),
    )
