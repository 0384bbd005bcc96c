"""Which path a flow took, written into its conntrack entry by the router's own nftables rules.

Why: the clean-up after a transition must find the entries of the failed path among 10^5 in
milliseconds. Rather than reading every entry and deciding in Python, the router marks each
connection as its packets leave (``ct mark``), and the clean-up is one kernel-side delete by
mark (:func:`failover.net.ctnetlink.delete_by_mark`):

* ``WAN_MARK``: the connection is source-NATed by this router out of the WAN interface
  (masquerade or snat, whatever rule the operator NATs with: ``ct status snat``) — the entries
  a failover strands;
* ``ALTERNATE_MARK``: the connection is routed from the LAN back out of the LAN (through an
  alternate gateway, the failover rule's route) and not NATed by the router — the entries a
  failback strands.

Both families alike: the table is an ``inet`` one, so IPv6 connections NATed out of the WAN (NAT66)
or routed through an alternate carry the same marks, and a clean-up picks its family in the
delete request (:func:`failover.net.ctnetlink.delete_by_mark`), not by other bits.

The rules sit in their own table (``inet failover_flows``) in a postrouting chain after source NAT
(``srcnat + 10``), so they see the NAT already decided and never change a verdict. They mark
every packet, not only a connection's first, so flows that existed before the rules were
loaded (a sidecar restart) carry the mark after their next packet. Each mark is one bit, OR-ed
in, so the operator's own ct mark bits are kept; pick other bits here if those collide.
The sidecar loads the table itself (:func:`install`, needs the ``nft`` command); an operator who
manages nftables centrally can load :func:`ruleset` instead (README, "Flows").
"""

from __future__ import annotations

import logging
import shutil
import subprocess

__all__ = ["ALTERNATE_MARK", "TABLE", "WAN_MARK", "install", "ruleset"]

log = logging.getLogger("failover.flowmarks")

WAN_MARK = 0x40000000
ALTERNATE_MARK = 0x20000000
TABLE = "failover_flows"


def ruleset(wan_if: str, lan_if: str) -> str:
    """The nftables table, for ``nft -f``: replaces an earlier copy of itself atomically."""
    for name in (wan_if, lan_if):
        if not name or any(c in name for c in '"\\\n'):
            raise ValueError(f"interface name {name!r}")
    return (
        # The IPv4-only table of earlier versions goes too, so an upgrade leaves one table.
        f"table ip {TABLE} {{\n}}\n"
        f"delete table ip {TABLE}\n"
        f"table inet {TABLE} {{\n}}\n"
        f"delete table inet {TABLE}\n"
        f"table inet {TABLE} {{\n"
        "\tchain paths {\n"
        "\t\ttype filter hook postrouting priority srcnat + 10; policy accept;\n"
        f"\t\toifname \"{wan_if}\" ct status snat ct mark set ct mark | {WAN_MARK:#010x}\n"
        f"\t\tiifname \"{lan_if}\" oifname \"{lan_if}\" ct status & (snat | dnat) == 0 "
        f"ct mark set ct mark | {ALTERNATE_MARK:#010x}\n"
        "\t}\n"
        "}\n"
    )


def install(wan_if: str, lan_if: str) -> bool:
    """Load the table into this network namespace; False (logged) if nft is missing or refuses."""
    nft = shutil.which("nft")
    if nft is None:
        log.warning("flows: no nft command; conntrack clean-up falls back to dumping the table")
        return False
    try:
        proc = subprocess.run([nft, "-f", "-"], input=ruleset(wan_if, lan_if), capture_output=True,
                              text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as e:
        log.warning("flows: nft failed (%s); conntrack clean-up falls back to dumping the table", e)
        return False
    if proc.returncode:
        log.warning("flows: nft refused the marking rules (%s); conntrack clean-up falls back to "
                    "dumping the table", proc.stderr.strip())
        return False
    log.info("flows: connections marked by path (nftables table inet %s)", TABLE)
    return True
