"""``/metrics``: the sidecar's state in Prometheus exposition format.

A custom collector reads one core snapshot (:class:`failover.core.views.Snapshot`), so nothing has
to remember to update a gauge and a scrape always sees one consistent moment. Times are in seconds
(Prometheus convention).
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from failover.core.views import Snapshot

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_LABELS = ["name", "address"]


class SnapshotCollector(Collector):
    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot

    def collect(self):
        snap = self.snapshot
        yield from _heartbeats("ipv4", _LABELS, [_Heartbeat([g.name, g.address], g.rtt_ms, g.jitter_ms, g.loss, g.status,
                                                        g.sent, g.received) for g in snap.gateways])
        # Those with an address6: the IPv4 figures' counterparts, labelled with it too.
        yield from _heartbeats("ipv6", [*_LABELS, "address6"],
                               [_Heartbeat([g.name, g.address, g.address6], g.rtt6_ms, g.jitter6_ms, g.loss6,
                                           g.status6, g.sent6, g.received6)
                                for g in snap.gateways if g.address6 is not None])
        score = GaugeMetricFamily("failover_gateway_score", "Election cost in ms (lower is better)", labels=_LABELS)
        elected = GaugeMetricFamily("failover_gateway_elected", "1 for the gateway routing uses", labels=_LABELS)
        serving = GaugeMetricFamily("failover_gateway_ipv6_serving", "1 for the gateway carrying IPv6",
                                    labels=[*_LABELS, "address6"])
        for g in snap.gateways:
            if g.score is not None:
                score.add_metric([g.name, g.address], g.score)
            elected.add_metric([g.name, g.address], 1.0 if g.elected else 0.0)
            if g.address6 is not None:
                serving.add_metric([g.name, g.address, g.address6], 1.0 if g.serves6 else 0.0)
        yield from (score, elected, serving)

        st, c = snap.state, snap.counters
        for name, doc, value in (
            ("failover_wan_up", "WAN usable: carrier and path up", st.wan_up),
            ("failover_wan_carrier", "WAN carrier", st.carrier),
            ("failover_wan_path", "WAN path check verdict", st.path),
            ("failover_active", "Failover rule wanted (WAN down)", st.failover_active),
            ("failover_rule_present", "Failover rule present in the FIB", st.rule),
            ("failover_pinned", "The elected gateway is pinned", st.elected.pinned),
            ("failover_daemon_connected", "The daemon answers on its control socket", st.daemon_connected),
            ("failover_ipv6_wan_up", "IPv6 over the WAN usable: carrier and its path verdict up", st.wan6_up),
            ("failover_ipv6_path", "IPv6 path verdict", st.path6),
            ("failover_ipv6_active", "IPv6 failover rule wanted (IPv6 down)", st.failover6_active),
            ("failover_ipv6_rule_present", "IPv6 failover rule present in the FIB", st.rule6),
        ):
            yield GaugeMetricFamily(name, doc, value=1.0 if value else 0.0)
        yield CounterMetricFamily("failover_transitions", "Failover on/off transitions seen by the sidecar",
                                  value=c.failover_transitions)
        yield CounterMetricFamily("failover_election_changes", "Times the elected gateway moved",
                                  value=c.election_changes)
        yield CounterMetricFamily("failover_gateway_transitions", "Gateway heartbeat verdict changes",
                                  value=c.gateway_transitions)
        yield CounterMetricFamily("failover_daemon_rule_changes", "Rule changes the daemon reports",
                                  value=st.changes)
        yield CounterMetricFamily("failover_heartbeat_garbage", "Datagrams that were not STAMP replies to us",
                                  value=c.garbage)
        yield CounterMetricFamily("failover_heartbeat_send_errors", "Probes the kernel refused to send",
                                  value=c.send_errors)
        yield CounterMetricFamily("failover_heartbeat_stalls", "Probe ticks delayed by a busy event loop",
                                  value=c.stalls)
        yield CounterMetricFamily("failover_hook_runs", "Hook programs run and webhook POSTs delivered",
                                  value=c.hook_runs)
        yield CounterMetricFamily("failover_hook_failures", "Hook timeouts, non-zero exits and failed POST attempts",
                                  value=c.hook_failures)
        yield CounterMetricFamily("failover_hook_drops", "Events a hook never got (queue full, every POST failed)",
                                  value=c.hook_drops)
        yield from _targets(snap)
        p = snap.path
        if p is not None:
            probe = [p.interface, p.probe]
            fam = GaugeMetricFamily("failover_wan_probe_rtt_seconds", "Path check RTT", labels=["interface", "probe"])
            if p.rtt_ms is not None:
                fam.add_metric(probe, p.rtt_ms / 1000)
            yield fam
            fam = GaugeMetricFamily("failover_wan_probe_loss_ratio", "Path check loss", labels=["interface", "probe"])
            fam.add_metric(probe, p.loss)
            yield fam
            fam = CounterMetricFamily("failover_wan_probe_late_replies", "Path check replies later than the "
                                      "blackout detect time (counted late, not lost)", labels=["interface", "probe"])
            fam.add_metric(probe, p.late)
            yield fam


@dataclass(frozen=True, slots=True)
class _Heartbeat:
    """One heartbeat session's figures (a gateway's IPv4 or IPv6 one) with its label values."""

    labels: list[str]
    rtt_ms: float | None
    jitter_ms: float | None
    loss: float | None
    status: str | None
    sent: int
    received: int


# Each family's series, (name, help), in the order rtt, jitter, loss, up, status, sent, received.
# Written out whole: a metric's name can be found with grep.
_HEARTBEAT_SERIES = {
    "ipv4": (("failover_gateway_rtt_seconds", "Smoothed STAMP round-trip time"),
             ("failover_gateway_jitter_seconds", "RTT jitter (RFC 3550)"),
             ("failover_gateway_loss_ratio", "Heartbeat loss over the long window"),
             ("failover_gateway_up", "1 up, 0 down or unknown"),
             ("failover_gateway_status", "Heartbeat verdict (1 for the current one)"),
             ("failover_heartbeats_sent", "STAMP probes sent"),
             ("failover_heartbeats_received", "STAMP replies accepted")),
    "ipv6": (("failover_gateway_ipv6_rtt_seconds", "Smoothed STAMP round-trip time over IPv6"),
             ("failover_gateway_ipv6_jitter_seconds", "IPv6 RTT jitter (RFC 3550)"),
             ("failover_gateway_ipv6_loss_ratio", "IPv6 heartbeat loss over the long window"),
             ("failover_gateway_ipv6_up", "IPv6 heartbeat: 1 up, 0 down or unknown"),
             ("failover_gateway_ipv6_status", "IPv6 heartbeat verdict (1 for the current one)"),
             ("failover_heartbeats_ipv6_sent", "STAMP probes sent over IPv6"),
             ("failover_heartbeats_ipv6_received", "STAMP replies accepted over IPv6")),
}


def _heartbeats(family: str, labels: list[str], beats: list[_Heartbeat]):
    """One family's heartbeat series, from its sessions' figures."""
    (n_rtt, h_rtt), (n_jitter, h_jitter), (n_loss, h_loss), (n_up, h_up), (n_status, h_status), \
        (n_sent, h_sent), (n_received, h_received) = _HEARTBEAT_SERIES[family]
    rtt = GaugeMetricFamily(n_rtt, h_rtt, labels=labels)
    jitter = GaugeMetricFamily(n_jitter, h_jitter, labels=labels)
    loss = GaugeMetricFamily(n_loss, h_loss, labels=labels)
    up = GaugeMetricFamily(n_up, h_up, labels=labels)
    status = GaugeMetricFamily(n_status, h_status, labels=[*labels, "status"])
    sent = CounterMetricFamily(n_sent, h_sent, labels=labels)
    received = CounterMetricFamily(n_received, h_received, labels=labels)
    for b in beats:
        if b.rtt_ms is not None:
            rtt.add_metric(b.labels, b.rtt_ms / 1000)
        if b.jitter_ms is not None:
            jitter.add_metric(b.labels, b.jitter_ms / 1000)
        if b.loss is not None:
            loss.add_metric(b.labels, b.loss)
        up.add_metric(b.labels, 1.0 if b.status == "up" else 0.0)
        for value in ("up", "down", "unknown"):
            status.add_metric([*b.labels, value], 1.0 if b.status == value else 0.0)
        sent.add_metric(b.labels, b.sent)
        received.add_metric(b.labels, b.received)
    yield from (rtt, jitter, loss, up, status, sent, received)


def _targets(snap: Snapshot):
    """Every path-check target, its faults, and the confirmation bursts."""
    labels = ["address", "kind", "family"]
    up = GaugeMetricFamily("failover_wan_target_up", "Path-check target answering (1 up, 0 down or unknown)",
                           labels=labels)
    rtt = GaugeMetricFamily("failover_wan_target_rtt_seconds", "Path-check target smoothed RTT", labels=labels)
    loss = GaugeMetricFamily("failover_wan_target_loss_ratio", "Path-check target loss over the long window",
                             labels=labels)
    faults = CounterMetricFamily("failover_wan_target_faults", "Times a target went down while the quorum "
                                 "still answered (no failover)", labels=labels)
    errors = CounterMetricFamily("failover_wan_target_icmp_errors", "ICMP errors (unreachable, TTL exceeded) "
                                 "quoting our probes to a target", labels=labels)
    for t in snap.targets:
        lv = [t.address, t.kind, t.family]
        up.add_metric(lv, 1.0 if t.status == "up" else 0.0)
        if t.rtt_ms is not None:
            rtt.add_metric(lv, t.rtt_ms / 1000)
        loss.add_metric(lv, t.loss)
        faults.add_metric(lv, t.faults)
        errors.add_metric(lv, t.errors)
    yield from (up, rtt, loss, faults, errors)
    yield CounterMetricFamily("failover_wan_confirmation_rounds", "Confirmation bursts started (a target went "
                              "down while the path was up)", value=snap.confirmation_rounds)
    yield CounterMetricFamily("failover_wan_confirmed_silent", "Targets a confirmation burst found silent",
                              value=snap.confirmed_silent)


def render(snapshot: Snapshot) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SnapshotCollector(snapshot))
    return generate_latest(registry)
