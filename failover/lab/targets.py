"""The path check's extra targets, as topology data: hosts beyond the ISP that only answer ICMP
echo, each in its own network, and the ``[wan]`` fields that probe them beside a STAMP target.

    isp ── tgt1 ═══ icmp1   192.0.2.53   (echo only)
        └─ tgt2 ═══ icmp2   198.18.0.53

``icmp_hosts()`` is what to add to a built network (``Network.extend``): the router scenario's
(the topotests' ``net`` fixture) and the benchmarks' lab (bench/path_targets.py) alike.
"""

from __future__ import annotations

from .spec import Iface, Node, Route, Segment

ICMP1, ICMP2 = "192.0.2.53", "198.18.0.53"
#: (node, the ISP's interface, the ISP's address, the host's address), each a /24 of its own
ICMP_HOSTS = (("icmp1", "tgt1", "192.0.2.254", ICMP1), ("icmp2", "tgt2", "198.18.0.254", ICMP2))


def icmp_hosts(isp: str = "isp") -> tuple[tuple[Node, ...], tuple[Segment, ...], tuple[Route, ...]]:
    """Nodes, links and routes of the echo-only hosts behind ``isp``."""
    return (tuple(Node(name) for name, *_ in ICMP_HOSTS),
            tuple(Segment(f"target-{name}", (Iface(isp, isp_if, f"{isp_address}/24"), Iface(name, "eth0", f"{address}/24")))
                  for name, isp_if, isp_address, address in ICMP_HOSTS),
            tuple(Route(name, "default", isp_address) for name, _, isp_address, _ in ICMP_HOSTS))


def wan_targets(stamp: str, stamp_kind: str = "stamp", reliability: int | None = 2) -> dict:
    """``[wan]`` fields: ``stamp`` probed as ``stamp_kind`` (every 5 ms as STAMP, 100 ms as ICMP)
    and the ICMP hosts every 100 ms, as ``[[wan.target]]``; the path up while ``reliability`` answer."""
    targets = [{"address": stamp, "kind": stamp_kind, "interval_ms": 5 if stamp_kind == "stamp" else 100},
               *({"address": address, "kind": "icmp", "interval_ms": 100} for *_, address in ICMP_HOSTS)]
    return {"target": targets} | ({"reliability": reliability} if reliability is not None else {})
