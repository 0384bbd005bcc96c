"""The path check's extra targets, as topology data: hosts beyond the ISP that only answer ICMP
echo, each in its own network, and the ``[wan]`` fields that probe them beside a STAMP target.

    isp ── tgt1 ═══ icmp1   192.0.2.53   fd00:192:0:2::53   (echo only)
        └─ tgt2 ═══ icmp2   198.18.0.53  fd00:198:18::53

Their IPv6 (ULA) addresses come only when asked for (``ipv6=True``: the dual-stack lab, whose
path check then has three targets per family); the scenarios and benchmarks keep IPv4 only.

``icmp_hosts()`` is what to add to a built network (``Network.extend``): the router scenario's
(the topotests' ``net`` fixture) and the benchmarks' lab (bench/path_targets.py) alike.
"""

from __future__ import annotations

from .spec import Iface, Node, Route, Segment

ICMP1, ICMP2 = "192.0.2.53", "198.18.0.53"
#: (node, the ISP's interface, the ISP's address, the host's address), each a /24 of its own
ICMP_HOSTS = (("icmp1", "tgt1", "192.0.2.254", ICMP1), ("icmp2", "tgt2", "198.18.0.254", ICMP2))
ICMP1_6, ICMP2_6 = "fd00:192:0:2::53", "fd00:198:18::53"
#: node -> (the ISP's IPv6 address, the host's), each a /64 of its own beside the host's /24
ICMP_HOSTS6 = {"icmp1": ("fd00:192:0:2::fe", ICMP1_6), "icmp2": ("fd00:198:18::fe", ICMP2_6)}


def icmp_hosts(isp: str = "isp", ipv6: bool = False) -> tuple[tuple[Node, ...], tuple[Segment, ...], tuple[Route, ...]]:
    """Nodes, links and routes of the echo-only hosts behind ``isp`` (``ipv6``: dual-stack)."""
    def six(name: str, end: int) -> tuple[str, ...]:
        return (f"{ICMP_HOSTS6[name][end]}/64",) if ipv6 else ()

    return (tuple(Node(name) for name, *_ in ICMP_HOSTS),
            tuple(Segment(f"target-{name}", (Iface(isp, isp_if, f"{isp_address}/24", addresses6=six(name, 0)),
                                             Iface(name, "eth0", f"{address}/24", addresses6=six(name, 1))))
                  for name, isp_if, isp_address, address in ICMP_HOSTS),
            (*(Route(name, "default", isp_address) for name, _, isp_address, _ in ICMP_HOSTS),
             *(Route(name, "default", ICMP_HOSTS6[name][0]) for name, *_ in ICMP_HOSTS if ipv6)))


def wan_targets(stamp: str, stamp_kind: str = "stamp", reliability: int | None = 2, stamp6: str | None = None) -> dict:
    """``[wan]`` fields: ``stamp`` probed as ``stamp_kind`` (every 5 ms as STAMP, 100 ms as ICMP)
    and the ICMP hosts every 100 ms, as ``[[wan.target]]``; the path up while ``reliability`` answer.
    With ``stamp6`` (an IPv6 address probed the same way), the same three in IPv6 beside them
    (the hosts' ``ICMP_HOSTS6``): each family judged by its own three, ``reliability`` in each."""
    def three(stamp: str, icmp: tuple[str, ...]) -> list[dict]:
        return [{"address": stamp, "kind": stamp_kind, "interval_ms": 5 if stamp_kind == "stamp" else 100},
                *({"address": address, "kind": "icmp", "interval_ms": 100} for address in icmp)]

    targets = three(stamp, tuple(address for *_, address in ICMP_HOSTS))
    if stamp6 is not None:
        targets += three(stamp6, tuple(ICMP_HOSTS6[name][1] for name, *_ in ICMP_HOSTS))
    return {"target": targets} | ({"reliability": reliability} if reliability is not None else {})
