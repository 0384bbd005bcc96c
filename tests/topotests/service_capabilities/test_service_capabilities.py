"""`failover run` and `failover agent` with only the capabilities their systemd units grant.

systemd is not PID 1 here, so the units cannot be started; `setpriv` applies a unit's
CapabilityBoundingSet (read from conf/systemd/) and no_new_privs to the same command, and the
process's CapEff in /proc is checked before anything else. Each scenario needs every capability
its unit grants; taking one out of the unit makes the test fail:
- failover.service: the path check's socket bound to wan0 (NET_RAW) finds a silent blackout;
  the failover rule, table 100 and the sysctls (NET_ADMIN).
- failover-agent.service: the STAMP reflector on port 862 (NET_BIND_SERVICE) makes the gateway
  electable; "up" turns forwarding on (NET_ADMIN).

Expected routing state (router namespace):

    WAN up, path answering:      no rule at priority 1000
    ISP stops forwarding         one rule "1000: from all lookup 100", table 100's default via the
    (carrier stays up):          elected gateway, which has been told "up" (its forwarding on);
                                 /api/v1/state wan.path false
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from failover.lab.netns import wait_for

from failover.lab.sidecarlab import hb_fixture
from failover.lab.routerlab import REPO, ROUTER_LAN

UNITS = REPO / "conf" / "systemd"
# linux/capability.h
CAP_BITS = {"CAP_NET_BIND_SERVICE": 10, "CAP_NET_ADMIN": 12, "CAP_NET_RAW": 13}


def unit_capabilities(unit: str) -> list[str]:
    for line in (UNITS / unit).read_text().splitlines():
        if line.startswith("CapabilityBoundingSet="):
            return line.split("=", 1)[1].split()
    raise AssertionError("the unit sets no CapabilityBoundingSet")


def setpriv(caps: list[str]) -> list[str]:
    bounding = ",".join(["-all", *(f"+{c.removeprefix('CAP_').lower()}" for c in caps)])
    return ["setpriv", f"--bounding-set={bounding}", "--inh-caps=-all", "--no-new-privs", "--"]


def effective_caps(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("CapEff:"):
            return int(line.split()[1], 16)
    raise AssertionError("no CapEff")


def test_failover_run_needs_no_more_than_the_units_capabilities(hb):
    caps = unit_capabilities("failover.service")
    assert set(caps) <= set(CAP_BITS), f"unknown capability in the unit: {caps}"
    topo = hb.topo
    hb.write_config()
    host = topo.start_host(hb.config_path, cli=[*setpriv(caps), sys.executable, "-m", "failover.cli"],
                           command="run")
    # `ip netns exec` and setpriv both exec: the pid is the failover process itself.
    assert effective_caps(host.pid) == sum(1 << CAP_BITS[c] for c in caps)
    hb.sidecar = host
    wait_for(hb._api_ready, timeout=15, what="the sidecar's REST API")
    wait_for(hb.all_up, timeout=10, what="both gateways' heartbeats up")
    assert topo.rules() == []

    hb.isp_forwarding(False)  # only the path check can see this
    wait_for(topo.has_failover_rule, what="the failover rule")
    wait_for(lambda: (hb.state()["wan"]["path"], hb.state()["wan"]["carrier"]) == (False, True),
             what="the sidecar's verdict: path down, carrier up")
    elected = topo.state()["elected"]
    i = topo.gateways.index(elected) + 1
    wait_for(lambda: topo.forwarding(i) == "1", what=f"{elected} told up")
    assert topo.default_via() == elected
    for scope in ("all", "lan0"):
        assert topo.nets.read_sysctl("router", f"net.ipv4.conf.{scope}.send_redirects") == "0"
    log = topo.log("host")
    assert not any(bad in log for bad in ("Traceback", " ERROR ", ": error in ", "WARNING")), log


@pytest.fixture
def hb_bare(tmp_path):
    """The heartbeat topology with no gateway yet."""
    yield from hb_fixture(tmp_path, n_gateways=0)


def test_agent_needs_no_more_than_its_units_capabilities(hb_bare):
    caps = unit_capabilities("failover-agent.service")
    assert set(caps) <= set(CAP_BITS), f"unknown capability in the unit: {caps}"
    hb, topo = hb_bare, hb_bare.topo
    address = topo.add_gateway(1, agent=False)
    agent = topo.nets.spawn("gw1", [*setpriv(caps), sys.executable, "-m", "failover.cli", "agent",
                                    "--listen", address, "--allow", ROUTER_LAN],
                            log=topo.tmp / "gw1-agent.log", cwd=REPO)
    wait_for(lambda: topo._listening("gw1", 7070), what="the agent's listener")
    assert effective_caps(agent.pid) == sum(1 << CAP_BITS[c] for c in caps)
    hb.write_config(probe=False)
    hb.sidecar = topo.start_host(hb.config_path, command="run")
    wait_for(hb._api_ready, timeout=15, what="the sidecar's REST API")
    wait_for(hb.all_up, timeout=10, what="the agent's STAMP reflector answering")
    topo.set_isp(False)
    wait_for(lambda: topo.forwarding(1) == "1", what="gw1 told up: forwarding on")
    log = topo.log("gw1-agent")
    assert not any(bad in log for bad in ("Traceback", " ERROR ", "WARNING")), log
