"""Silence or delay: is a path that stopped answering dead, or only slow?

A real WAN's latency jumps by hundreds of milliseconds whenever its uplink fills (bufferbloat)
while it loses nothing: for that long no reply comes back, exactly as in a blackout. Waiting for
seconds (dpinger, mwan3) tells the two apart but makes every blackout cost seconds. The router has
faster evidence: a dead WAN also stops *receiving*. Its receive counter (rtnetlink IFLA_STATS64 of
the WAN device) keeps moving while return traffic of the flows through it, or late replies to
earlier probes, still come in; in a blackout it stops with the replies.

The rule (:func:`is_silent`): the path is silent when neither a reply nor any received traffic
came for the detect time; or when no reply came for ``max_delay`` (the reply timeout: a reply
later than that counts as lost anyway, so a path that carries traffic but never answers — its
probe target gone, say — is still called down, only later). Everything in between is a slow path:
its replies are late, not lost.

Pure: time is integer nanoseconds from the caller's clock, counters are plain integers.
"""

from __future__ import annotations

__all__ = ["ReceiveActivity", "is_silent"]


class ReceiveActivity:
    """When a device's receive counter last moved, from samples of it.

    A sample from another device (new ifindex: the device was deleted and created again under the
    same name) or a counter that went backwards starts a new baseline: the counters of a new
    device begin at zero, and a drop is not traffic.
    """

    def __init__(self) -> None:
        self.ifindex: int | None = None
        self.packets: int | None = None
        #: Time of the sample that first saw the counter higher than before, or None.
        self.last_ns: int | None = None

    def observe(self, now_ns: int, ifindex: int, packets: int) -> bool:
        """Account one sample taken at ``now_ns``; True if traffic came in since the last one."""
        moved = ifindex == self.ifindex and self.packets is not None and packets > self.packets
        self.ifindex, self.packets = ifindex, packets
        if moved:
            self.last_ns = now_ns
        return moved

    def forget(self) -> None:
        """The device is gone: the next sample is a baseline whatever its ifindex."""
        self.ifindex = self.packets = None


def is_silent(now_ns: int, last_reply_ns: int, last_traffic_ns: int | None, detect_ns: int,
              max_delay_ns: int) -> bool:
    """Blackout (True) or, at most, a slow path (False).

    ``last_reply_ns``: the last reply (or, before any, the first probe); ``last_traffic_ns``: the
    last time the path received anything else, None if that is not known.
    """
    heard = last_reply_ns if last_traffic_ns is None else max(last_reply_ns, last_traffic_ns)
    return now_ns - heard >= detect_ns or now_ns - last_reply_ns >= max(detect_ns, max_delay_ns)
