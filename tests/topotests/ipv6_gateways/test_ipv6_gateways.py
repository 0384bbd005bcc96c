"""IPv6 heartbeats and the gateway serving IPv6, with the daemon (`failover host`) and the sidecar
on the dual-stack router topology (routerlab ``ipv6=True``): both gateways' agents listen on
IPv4 and IPv6 (`--listen 10.10.0.1N --listen fd00:10::1N`). Routing is read with `ip` and from
the kernel's own rtnetlink notifications (failover.lab.rulewatch.FibWatch); "told up" is read on the agent's side (its
forwarding sysctls), never from the daemon or the sidecar.

Expected routing state, per scenario (P = 1000, T = 100, gw1 elected, WAN carrier lost):

    both gateways' IPv6 alive:  IPv4 rule P and IPv6 rule P, once each; table 100 default via
                                10.10.0.11; IPv6 table 100 default via fd00:10::11; gw1 forwards
                                both families, gw2 neither
    gw1's IPv6 dies (its address removed; its IPv4 lives):
                                gw1's IPv6 heartbeat down, its IPv4 one up; IPv6 table 100
                                default via fd00:10::12 (gw2) and gw2 told up (forwarding on);
                                IPv4 stays: default via 10.10.0.11, gw1 still up; one rule per
                                family throughout; an `election` log entry (family ipv6) with
                                the reason "... has its IPv6 heartbeat down ..."
    gw1's IPv6 back:            IPv6 table 100 default via fd00:10::11 again, gw2 told down
    POST /api/v1/elect {"address": "fd00:10::12"}:
                                200, gw2 pinned; table 100 default via 10.10.0.12, IPv6 default via
                                fd00:10::12; gw2 up, gw1 down. fd00:10::99: 404, malformed: 422,
                                nothing moves
    daemon alone, `serve6 fd00:10::12` (the control request; WAN up):
                                IPv6 table 100 default via fd00:10::12 while elected stays
                                10.10.0.11 (IPv4 default via 10.10.0.11); bad `serve6` lines:
                                `err ...` and nothing moves
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from failover.lab.netns import wait_for
from failover.lab.routerlab import LAN6_PREFIXES, PRIORITY, REPO, TABLE, gateway_address, gateway_address6
from failover.lab.rulewatch import FibWatch
from failover.lab.sidecarlab import hb_fixture

GW1, GW2 = gateway_address(1), gateway_address(2)
GW1_6, GW2_6 = gateway_address6(1), gateway_address6(2)


def expected_table6(via: str) -> list[tuple[str, str | None, str]]:
    """`ip -6 route show table 100` while IPv6 is failed over, as (dst, gateway, dev), sorted."""
    return sorted([(p, None, "lan0") for p in LAN6_PREFIXES] + [("default", via, "lan0")], key=lambda r: r[0])


def table6(topo) -> list[tuple[str, str | None, str]]:
    proc = topo.nets.ip("router", "-j", "-6", "route", "show", "table", str(TABLE), check=False)
    if proc.returncode != 0 or not proc.stdout.strip():
        return []
    return sorted(((r["dst"], r.get("gateway"), r.get("dev")) for r in json.loads(proc.stdout)), key=lambda r: r[0])


def watched_default6(watch: FibWatch) -> set[str | None]:
    """IPv6 table 100's default gateways as the kernel announced them (one while converged)."""
    return {gw for dst, gw, _oif in watch.snapshot()[2] if dst == "default"}


def forwarding(topo, i: int) -> tuple[str, str]:
    """gwN's IPv4 and IPv6 forwarding: what its agent did with the daemon's up/down."""
    return (topo.nets.read_sysctl(f"gw{i}", "net.ipv4.ip_forward"),
            topo.nets.read_sysctl(f"gw{i}", "net.ipv6.conf.all.forwarding"))


@pytest.fixture
def dual(tmp_path):
    """The heartbeat topology dual-stack, each agent listening on both families, an rtnetlink
    listener in the router's namespace; everything torn down afterwards, even on failure."""
    for hb in hb_fixture(tmp_path, ipv6=True):
        hb.watch = FibWatch(hb.topo.nets.ns("router")).start()
        try:
            yield hb
        finally:
            hb.watch.close()


def write_config(hb, **sections) -> None:
    """The sidecar's config with both gateways' address6; a long hold keeps the first-elected gw1
    whatever the RTT noise between two veths says."""
    hb.write_config(probe=False, hold_ms=600_000, address6={i: gateway_address6(i) for i in (1, 2)}, **sections)


def gateways(hb) -> dict[str, dict]:
    return {g["name"]: g for g in hb.http.get("/api/v1/gateways").json()}


def heartbeats(hb) -> dict[str, tuple[str, str | None]]:
    return {name: (g["status"], g["status6"]) for name, g in gateways(hb).items()}


@pytest.fixture
def failed_over(dual):
    """Host and sidecar running, every heartbeat of both families up, the WAN carrier lost."""
    hb, topo = dual, dual.topo
    write_config(hb)
    topo.start_host(hb.config_path)
    hb.start_sidecar()
    wait_for(lambda: heartbeats(hb) == {"gw1": ("up", "up"), "gw2": ("up", "up")}, timeout=10,
             what="both heartbeats of both gateways up")
    topo.set_isp(False)
    wait_for(lambda: hb.watch.snapshot()[:2] == (1, 1), what="one rule per family")
    wait_for(lambda: table6(topo) == expected_table6(GW1_6), what="IPv6 default via gw1")
    wait_for(lambda: forwarding(topo, 1) == ("1", "1"), what="gw1 told up")
    # The sidecar reads the daemon's state every 100 ms: it may not have seen the failover yet.
    wait_for(lambda: (st := hb.state())["failover"]["active"] and st["ipv6"]["failover"],
             what="the sidecar has seen both families fail over")
    assert forwarding(topo, 2) == ("0", "0")
    assert topo.default_via() == GW1
    return hb


def test_gateway_whose_ipv6_dies_while_its_ipv4_lives(failed_over):
    hb, topo, w = failed_over, failed_over.topo, failed_over.watch
    topo.nets.ip("gw1", "-6", "addr", "del", f"{GW1_6}/64", "dev", "eth0")

    wait_for(lambda: heartbeats(hb)["gw1"] == ("up", "down"), what="gw1's IPv6 heartbeat down, its IPv4 one up")
    wait_for(lambda: table6(topo) == expected_table6(GW2_6), what="IPv6 table 100 default via gw2")
    wait_for(lambda: watched_default6(w) == {GW2_6}, what="the kernel announced IPv6 default via gw2")
    wait_for(lambda: forwarding(topo, 2) == ("1", "1"), what="gw2 told up (its agent forwards)")
    # IPv4 stays on the elected gateway, which is still told up for it
    assert topo.default_via() == GW1 and topo.state()["elected"] == GW1
    assert forwarding(topo, 1)[0] == "1"
    assert w.snapshot()[:2] == (1, 1) and w.max_rules6 == 1 and w.rule4_adds == 1
    # REST's gateways come with the core's next snapshot (every 100 ms): waited for, then read.
    gws = wait_for(lambda: (g := gateways(hb))["gw2"]["serves6"] and g, what="REST: gw2 serves IPv6")
    assert (gws["gw1"]["serves6"], gws["gw2"]["serves6"]) == (False, True)
    assert gws["gw1"]["elected"] is True and gws["gw1"]["rtt_ms"] is not None
    st = hb.state()
    assert st["ipv6"] == {"path": True, "up": False, "failover": True, "rule": True}
    # The IPv6 server's moves (the path check's and the daemon's IPv6 entries carry the family too).
    moves = [e for e in hb.http.get("/api/v1/log").json()
             if e.get("family") == "ipv6" and e["kind"] == "election"]
    assert moves[-1]["address6"] == GW2_6 and moves[-1]["kind"] == "election"
    assert "has its IPv6 heartbeat down" in moves[-1]["reason"], moves[-1]

    topo.nets.ip("gw1", "-6", "addr", "add", f"{GW1_6}/64", "dev", "eth0", "nodad")
    wait_for(lambda: heartbeats(hb)["gw1"] == ("up", "up"), what="gw1's IPv6 heartbeat back")
    wait_for(lambda: table6(topo) == expected_table6(GW1_6), what="IPv6 back via the elected gw1")
    wait_for(lambda: forwarding(topo, 2) == ("0", "0"), what="gw2 told down")
    assert forwarding(topo, 1) == ("1", "1") and topo.default_via() == GW1
    assert w.max_rules6 == 1


def test_elect_by_ipv6_address(failed_over):
    hb, topo = failed_over, failed_over.topo
    for body, code in (({"address": "fd00:10::99"}, 404), ({"address": "fd00:10::1::2"}, 422)):
        r = hb.http.request("POST", "/api/v1/elect", json=body, headers=hb.auth())
        assert r.status_code == code, r.text
    assert topo.state()["elected"] == GW1 and table6(topo) == expected_table6(GW1_6)

    r = hb.http.request("POST", "/api/v1/elect", json={"address": GW2_6}, headers=hb.auth())
    assert r.status_code == 200 and r.json() == {"address": GW2, "name": "gw2", "pinned": True}
    wait_for(lambda: topo.default_via() == GW2, what="table 100 default via gw2")
    wait_for(lambda: table6(topo) == expected_table6(GW2_6), what="IPv6 table 100 default via gw2")
    wait_for(lambda: forwarding(topo, 2) == ("1", "1") and forwarding(topo, 1) == ("0", "0"),
             what="gw2 up, gw1 down")
    assert hb.watch.snapshot()[:2] == (1, 1)
    wait_for(lambda: hb.state()["elected"] == {"address": GW2, "name": "gw2", "pinned": True},
             what="REST state: gw2 pinned")


def test_daemon_serves_ipv6_via_the_sidecars_choice(dual):
    """`serve6` (the control request) without a sidecar: the daemon's own fallback until it is
    told, then the choice; bad lines are refused and change nothing."""
    topo = dual.topo
    write_config(dual)
    topo.start_host(dual.config_path)
    wait_for(lambda: table6(topo) == expected_table6(GW1_6), what="the daemon's fallback: the elected gw1")
    assert topo.control(f"serve6 {GW2_6}") == "ok"
    wait_for(lambda: table6(topo) == expected_table6(GW2_6), what="IPv6 table 100 via gw2")
    wait_for(lambda: watched_default6(dual.watch) == {GW2_6}, what="the kernel announced it")
    assert topo.state()["elected"] == GW1 and topo.default_via() == GW1
    assert "ipv6 via fd00:10::12 (the sidecar's choice)" in topo.log("host")
    for line, answer in (("serve6 fd00:10::99", "err unknown gateway fd00:10::99"),
                         ("serve6 banana", "err usage: serve6 <ipv4|ipv6>"),
                         ("serve6", "err usage: serve6 <ipv4|ipv6>"),
                         ("serve6 10.10.0.99", "err unknown gateway 10.10.0.99")):
        assert topo.control(line) == answer, line
    assert topo.control(f"serve6 {GW1}") == "ok"  # named by its IPv4 address
    wait_for(lambda: table6(topo) == expected_table6(GW1_6), what="IPv6 back via gw1")
    topo.set_isp(False)
    wait_for(lambda: forwarding(topo, 1) == ("1", "1"), what="gw1 told up")
    assert dual.watch.snapshot()[:2] == (1, 1)
    assert topo.state()["failover6"] == "on"


def test_serve6_to_a_gateway_without_address6_is_refused(dual):
    topo = dual.topo
    write_config(dual)
    lines = [line for line in dual.config_path.read_text().splitlines() if line != f'address6 = "{GW2_6}"']
    dual.config_path.write_text("\n".join(lines) + "\n")
    topo.start_host(dual.config_path)
    wait_for(lambda: table6(topo) == expected_table6(GW1_6), what="IPv6 via gw1")
    assert topo.control(f"serve6 {GW2}") == f"err gateway {GW2} has no address6"
    assert topo.control("state").startswith("ok") and table6(topo) == expected_table6(GW1_6)


# -- the IPv6 server's moves replayed from the decision journal, and run as `elected` hooks --------


def ipv6_server_moves(entries: list[dict]) -> list[str]:
    """The gateway serving IPv6, each time it moved: the log's ``election`` entries of family ipv6."""
    return [e["message"] for e in entries if e["kind"] == "election" and e.get("family") == "ipv6"]


def heartbeat_verdicts(entries: list[dict]) -> list[str]:
    return [e["message"] for e in entries if e["kind"] == "gateway" and "status" in e]


def test_ipv6_server_moves_replay_and_run_the_elected_hook(dual):
    """With `[journal]` and an `elected` exec hook: gw1's IPv6 dies (IPv6 to gw2) and comes back
    (IPv6 to gw1). `failover replay` must print the IPv6 heartbeats' verdicts and the IPv6
    server's moves word for word as the live log has them, and the hook program must have been
    run for each move with FAILOVER_FAMILY=ipv6 (the IPv4 election's with ipv4)."""
    hb, topo = dual, dual.topo
    journal = topo.tmp / "decisions.jsonl"
    runs = topo.tmp / "elected.jsonl"
    program = topo.tmp / "elected.py"
    program.write_text(f"#!{sys.executable}\n" + textwrap.dedent(f"""
        import json, os, sys
        event = json.load(sys.stdin)
        env = {{k: v for k, v in os.environ.items() if k.startswith("FAILOVER_")}}
        with open({str(runs)!r}, "a") as f:
            f.write(json.dumps({{"env": env, "stdin": event}}) + "\\n")
        """))
    program.chmod(0o755)
    write_config(hb, journal={"path": str(journal)}, hook=[{"on": ["elected"], "exec": str(program)}])
    topo.start_host(hb.config_path)
    hb.start_sidecar()
    wait_for(lambda: heartbeats(hb) == {"gw1": ("up", "up"), "gw2": ("up", "up")}, timeout=10,
             what="both heartbeats of both gateways up")
    topo.nets.ip("gw1", "-6", "addr", "del", f"{GW1_6}/64", "dev", "eth0")
    wait_for(lambda: gateways(hb)["gw2"]["serves6"], what="IPv6 served by gw2")
    topo.nets.ip("gw1", "-6", "addr", "add", f"{GW1_6}/64", "dev", "eth0", "nodad")
    wait_for(lambda: gateways(hb)["gw1"]["serves6"], what="IPv6 served by gw1 again")
    live = hb.http.get("/api/v1/log").json()
    wait_for(lambda: len(runs.exists() and runs.read_text().splitlines() or []) >= 4, what="the hook's runs")
    hb.nets.stop(hb.sidecar)
    hb.sidecar = None

    moves = ipv6_server_moves(live)
    assert [m.split(": ")[0] for m in moves] == [f"IPv6 via gw1 {GW1_6}", f"IPv6 via gw2 {GW2_6}",
                                                f"IPv6 via gw1 {GW1_6}"], moves
    proc = subprocess.run([sys.executable, "-m", "failover.cli", "replay", str(journal), "--json"],
                          capture_output=True, text=True, cwd=REPO, timeout=120)
    assert proc.returncode == 0, proc.stderr
    replayed = [json.loads(line) for line in proc.stdout.splitlines()]
    assert ipv6_server_moves(replayed) == moves
    assert heartbeat_verdicts(replayed) == heartbeat_verdicts(live)
    assert any(GW1_6 in m and "down" in m for m in heartbeat_verdicts(live))

    hooked = [json.loads(line) for line in runs.read_text().splitlines()]
    by_family = {f: [r for r in hooked if r["env"].get("FAILOVER_FAMILY") == f] for f in ("ipv4", "ipv6")}
    assert [r["env"]["FAILOVER_GATEWAY"] for r in by_family["ipv4"]] == ["gw1"], hooked
    six = by_family["ipv6"]
    assert [(r["env"]["FAILOVER_EVENT"], r["env"]["FAILOVER_GATEWAY"], r["env"]["FAILOVER_ADDRESS6"])
            for r in six] == [("elected", "gw1", GW1_6), ("elected", "gw2", GW2_6), ("elected", "gw1", GW1_6)], hooked
    assert [r["stdin"]["message"] for r in six] == moves
    assert six[1]["stdin"]["family"] == "ipv6" and six[1]["env"]["FAILOVER_ELECTED"] == "0"
    assert "has its IPv6 heartbeat down" in six[1]["env"]["FAILOVER_REASON"]
