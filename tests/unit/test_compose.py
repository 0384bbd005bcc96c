"""docker-compose.yml: generated from conf/lab.toml, and the same lab as the namespace lab.

Docker does not run in CI, so these tests check the generated text and everything it refers to:
the committed file is what ``render`` makes; every service, network, address, interface name,
route and forwarding setting agrees with LabTopology and with what the namespace lab's builder
does (its ``build`` is run against a recording stand-in for ip/netns); every command parses with
the real CLI; Prometheus scrapes the router; every metric the Grafana dashboard queries is one
api/metrics.py exposes.
"""

from __future__ import annotations

import ast
import ipaddress
import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from failover import config as failover_config
from failover.lab import compose
from failover.lab.targets import ICMP_HOSTS
from failover.lab.topology import API_PORT, LabError, LabTopology, load

REPO = Path(__file__).resolve().parents[2]
LAB = REPO / "conf" / "lab.toml"
COMPOSE_FILE = REPO / "docker-compose.yml"
DASHBOARD = REPO / "conf" / "grafana" / "dashboards" / "failover.json"
PROMETHEUS = REPO / "conf" / "prometheus.yml"
PROVISIONING = REPO / "conf" / "grafana" / "provisioning"
METRICS_PY = REPO / "api" / "metrics.py"
LAB_NET = REPO / "conf" / "compose" / "lab-net.sh"


@pytest.fixture(scope="module")
def topo() -> LabTopology:
    return load(LAB)


@pytest.fixture(scope="module")
def doc(topo) -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def lab_services(topo: LabTopology) -> list[str]:
    return ["router", "isp", "internet", "client", *(g.name for g in topo.gateway), *(n for n, *_ in ICMP_HOSTS)]


def netsetup(service: dict) -> tuple[dict[str, list[str]], list[str]]:
    """lab-net.sh's options and the command after ``--``, from a service's ``command``."""
    cmd = service["command"]
    sep = cmd.index("--")
    opts: dict[str, list[str]] = {}
    words = cmd[:sep]
    assert len(words) % 2 == 0, words
    for flag, value in zip(words[::2], words[1::2]):
        opts.setdefault(flag, []).append(value)
    return opts, cmd[sep + 1:]


def interfaces(service: dict) -> dict[str, str]:
    """ifname -> ADDR/LEN as lab-net.sh will set them."""
    opts, _ = netsetup(service)
    return dict(spec.split("=", 1) for spec in opts.get("--if", []))


# -- the file is the generator's output -----------------------------------------------------------

def test_committed_compose_file_is_what_the_generator_makes(topo):
    assert COMPOSE_FILE.read_text() == compose.render(topo), \
        "docker-compose.yml is stale: run `failover lab compose` and commit it"


def test_render_is_deterministic_and_says_it_is_generated(topo):
    a, b = compose.render(topo), compose.render(load(LAB))
    assert a == b
    head = a.splitlines()[:5]
    assert any("failover lab compose" in line for line in head)
    assert any("conf/lab.toml" in line for line in head)
    assert any("Not exercised in CI" in line for line in head)
    assert all(line.startswith("#") for line in head)


def test_a_different_topology_renders_a_different_file(topo):
    g = topo.gateway[0].model_copy(update={"address": "10.10.0.21"})
    other = topo.model_copy(update={"gateway": [g, *topo.gateway[1:]]})
    text = compose.render(other)
    assert text != COMPOSE_FILE.read_text()
    assert "ipv4_address: 10.10.0.21" in text and "eth0=10.10.0.21/24" in text


# -- services, networks, addresses ----------------------------------------------------------------

def test_services_are_the_lab_roles_plus_prometheus_and_grafana(topo, doc):
    assert list(doc["services"]) == [*lab_services(topo), "prometheus", "grafana"]
    assert topo.roles == lab_services(topo)


def test_every_lab_service_runs_the_one_image_built_from_the_dockerfile(topo, doc):
    svcs = doc["services"]
    images = {svcs[s]["image"] for s in lab_services(topo)}
    assert images == {compose.IMAGE}
    builders = [s for s, body in svcs.items() if "build" in body]
    assert builders == ["router"]
    assert svcs["router"]["build"] == {"context": ".", "dockerfile": "Dockerfile"}
    for s in lab_services(topo):
        if s != "router":
            assert svcs[s]["pull_policy"] == "never"  # built by the router service, never pulled
        assert svcs[s]["entrypoint"] == ["bash", compose.NETSETUP]
        assert "NET_ADMIN" in svcs[s]["cap_add"]
    dockerfile = (REPO / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim\s*$", dockerfile, re.M)
    for pkg in ("iproute2", "nftables", "procps"):
        assert re.search(rf"apt-get install[^\n]*\b{pkg}\b", dockerfile), pkg
    assert "pip install --no-cache-dir -e ." in dockerfile
    assert "WORKDIR " + compose.APP in dockerfile
    assert (REPO / compose.NETSETUP.removeprefix(compose.APP + "/")).is_file()


def expected_addresses(t: LabTopology) -> dict[tuple[str, str], str]:
    """(service, network) -> address, written out from LabTopology's own fields."""
    want = {
        ("router", "lan"): t.lan.router, ("router", "wan"): t.wan.router,
        ("isp", "wan"): t.wan.isp, ("isp", "internet"): t.internet.isp,
        ("internet", "internet"): t.internet.host,
        ("client", "lan"): t.lan.client,
    }
    for g in t.gateway:
        want[(g.name, "lan")] = g.address
        want[(g.name, f"uplink-{g.name}")] = g.uplink_gateway
        want[("internet", f"uplink-{g.name}")] = g.uplink_internet
    for name, _, isp_address, address in ICMP_HOSTS:  # the path check's echo-only targets
        want[("isp", f"target-{name}")] = isp_address
        want[(name, f"target-{name}")] = address
    return want


def test_every_service_has_exactly_the_topology_address_on_every_lab_network(topo, doc):
    got = {}
    for name, svc in doc["services"].items():
        for net, body in svc.get("networks", {}).items():
            assert body.get("ipv4_address"), f"{name} on {net} has no static address"
            if net != compose.MONITOR:
                got[(name, net)] = body["ipv4_address"]
    assert got == expected_addresses(topo)


def test_lab_networks_have_the_topology_subnets_and_a_free_docker_gateway(topo, doc):
    prefixes = {"lan": topo.lan.prefix, "wan": topo.wan.prefix, "internet": topo.internet.prefix,
                **{f"uplink-{g.name}": str(g.uplink_net) for g in topo.gateway},
                **{f"target-{name}": str(ipaddress.IPv4Interface(f"{address}/24").network)
                   for name, _, _, address in ICMP_HOSTS}}
    nets = doc["networks"]
    assert set(nets) == {*prefixes, compose.MONITOR}
    used = set(expected_addresses(topo).values())
    for name, prefix in prefixes.items():
        body = nets[name]
        assert body["internal"] is True, name
        [cfg] = body["ipam"]["config"]
        subnet, gw = ipaddress.IPv4Network(cfg["subnet"]), ipaddress.IPv4Address(cfg["gateway"])
        topo_net = ipaddress.IPv4Network(prefix)
        assert topo_net.subnet_of(subnet), name
        assert gw in subnet and str(gw) not in used, name
        if subnet == topo_net:
            continue
        # Widened only because the prefix has no free host, and only as far as needed.
        assert all(str(h) in used for h in topo_net.hosts()), name
        assert subnet.prefixlen == topo_net.prefixlen - 1, name
        assert gw not in topo_net, name
    all_nets = [ipaddress.IPv4Network(n["ipam"]["config"][0]["subnet"]) for n in nets.values()]
    for i, a in enumerate(all_nets):
        for b in all_nets[i + 1:]:
            assert not a.overlaps(b), (a, b)


def test_uplink_30_needs_a_wider_docker_subnet_and_gets_the_narrow_one_back(topo, doc):
    g = topo.gateway[0]
    assert g.uplink_net.prefixlen == 30
    net = compose.docker_network("x", str(g.uplink_net), {g.uplink_gateway, g.uplink_internet})
    assert net.subnet == str(g.uplink_net.supernet())
    assert interfaces(doc["services"][g.name])["up0"] == f"{g.uplink_gateway}/30"
    assert interfaces(doc["services"]["internet"])[f"up-{g.name}"] == f"{g.uplink_internet}/30"
    # a /24 with room keeps its subnet; the gateway is the highest free address
    assert compose.docker_network("y", "10.0.0.0/24", {"10.0.0.254"}).gateway == "10.0.0.253"


def test_bad_topologies_are_refused_with_a_clear_error(topo):
    clash = topo.gateway[0].model_copy(update={"name": "router"})
    with pytest.raises(LabError, match="router"):
        compose.render(topo.model_copy(update={"gateway": [clash, *topo.gateway[1:]]}))
    dupe = topo.gateway[1].model_copy(update={"name": topo.gateway[0].name})
    with pytest.raises(LabError, match="unique"):
        compose.render(topo.model_copy(update={"gateway": [topo.gateway[0], dupe, *topo.gateway[2:]]}))
    monitor = topo.model_copy(update={"lan": topo.lan.model_copy(update={"prefix": "192.0.2.0/24"})})
    with pytest.raises(LabError, match="overlap"):
        compose.render(monitor)


# -- the same lab as the namespace builder --------------------------------------------------------

@pytest.fixture(scope="module")
def namespace_lab(topo, tmp_path_factory):
    """What the engine's builder asks of ip, sysctl and nft for the namespace lab (stand-ins
    record the calls: nothing is created)."""
    from failover.lab import builder, namespaces, registry

    calls: list[tuple] = []
    masq: list[tuple[str, str]] = []
    mp = pytest.MonkeyPatch()
    try:
        mp.setattr(registry.Registry, "add_namespace", lambda self, name: name)
        mp.setattr(builder, "sh", lambda *args, **kw: None)
        mp.setattr(builder.Network, "ip", lambda self, node, *args, check=True: calls.append(("ip", (node, *args))))
        mp.setattr(builder.Network, "sysctl", lambda self, node, key, value: calls.append(("sysctl", (node, key, value))))
        mp.setattr(builder.Network, "nft", lambda self, node, rules: masq.extend(
            (node, m) for m in re.findall(r'oifname "(\S+)" masquerade', rules)))
        lab = namespaces.Lab(topo, state=tmp_path_factory.mktemp("nslab") / "state")
        builder.build(lab.spec, lab.logs, start=False)
    finally:
        mp.undo()
    return calls, masq


def test_interfaces_and_addresses_match_the_namespace_lab(topo, doc, namespace_lab):
    calls, _ = namespace_lab
    ns = {(args[0], args[-1], args[3]) for name, args in calls
          if name == "ip" and args[1:3] == ("addr", "add")}
    assert ns, "the namespace lab assigned no addresses?"
    mgmt = {("router", "mgmt0")}
    got = {(s, ifname, cidr) for s in lab_services(topo) for ifname, cidr in interfaces(doc["services"][s]).items()
           if (s, ifname) not in mgmt}
    assert got == ns
    # the router's config names the interfaces the router gets
    cfg = failover_config.parse(doc["configs"]["router-config"]["content"])
    router_ifs = interfaces(doc["services"]["router"])
    assert cfg.wan.interface in router_ifs and cfg.failover.lan_interface in router_ifs


def test_routes_forwarding_and_nat_match_the_namespace_lab(topo, doc, namespace_lab):
    calls, masq = namespace_lab
    ns_routes = {(args[0], " ".join(args[3:])) for name, args in calls
                 if name == "ip" and args[1:3] == ("route", "add")}
    got = {(s, r) for s in lab_services(topo) for r in netsetup(doc["services"][s])[0].get("--route", [])}
    assert got == ns_routes
    fw = {}
    for name, args in calls:
        if name == "sysctl" and args[1] == "net.ipv4.ip_forward":
            fw[args[0]] = int(args[2])  # last write wins: the state build() leaves
    assert {s: doc["services"][s]["sysctls"]["net.ipv4.ip_forward"] for s in fw} == fw
    for s in lab_services(topo):
        assert doc["services"][s]["sysctls"]["net.ipv4.conf.all.rp_filter"] == 0
    got_masq = [(s, m) for s in lab_services(topo) for m in netsetup(doc["services"][s])[0].get("--masquerade", [])]
    assert sorted(got_masq) == sorted(masq) == sorted([("router", "wan0")] + [(g.name, "up0") for g in topo.gateway])
    for g in topo.gateway:
        assert netsetup(doc["services"][g.name])[0]["--masquerade"] == ["up0"]


# -- what each container runs ---------------------------------------------------------------------

def test_router_capabilities_sysctls_port_and_generated_config(topo, doc):
    r = doc["services"]["router"]
    assert "NET_ADMIN" in r["cap_add"]
    assert {"apparmor=unconfined", "systempaths=unconfined"} <= set(r["security_opt"])
    assert r["sysctls"]["net.ipv4.ip_forward"] == 1
    assert r["sysctls"]["net.ipv4.conf.all.send_redirects"] == 0
    assert r["ports"] == [f"127.0.0.1:{API_PORT}:{API_PORT}"]
    _, cmd = netsetup(r)
    assert cmd[:4] == ["failover", "run", "--config", compose.ROUTER_CONFIG]
    assert r["configs"] == [{"source": "router-config", "target": compose.ROUTER_CONFIG}]
    content = doc["configs"]["router-config"]["content"]
    assert content == failover_config.to_toml(topo.router_config(
        control_socket="/run/failover/control.sock", token_file="/etc/failover/token", listen=f"0.0.0.0:{API_PORT}",
        ipv6=False))  # the docker lab is IPv4 only
    cfg = failover_config.parse(content)
    assert [(g.name, g.address) for g in cfg.gateway] == [(g.name, g.address) for g in topo.gateway]
    # the path check: the internet host's STAMP reflector and the echo-only hosts, 2 of 3 to be up
    assert cfg.wan.probe is None and cfg.wan.reliability == topo.path.reliability == 2
    assert [(t.address, t.kind) for t in cfg.wan.target] == [
        (topo.internet.host, "stamp"), *((address, "icmp") for *_, address in ICMP_HOSTS)]
    # the monitor network bypasses the failover table, at a higher priority than the failover rule
    opts, _ = netsetup(r)
    [rule] = opts["--rule"]
    m = re.fullmatch(r"to (\S+) lookup main priority (\d+)", rule)
    assert m and m.group(1) == compose.MONITOR_PREFIX and int(m.group(2)) < cfg.failover.priority


def test_gateway_internet_and_client_commands(topo, doc):
    s = doc["services"]
    for g in topo.gateway:
        _, cmd = netsetup(s[g.name])
        # the namespace lab's agent: up/down taken from the router's LAN address only
        assert cmd == ["failover", "agent", "--listen", g.address, "--allow", topo.lan.router,
                       "--lab-delay-ms", str(g.delay_ms)]
        assert s[g.name]["sysctls"]["net.ipv4.ip_forward"] == 0
    opts, cmd = netsetup(s["internet"])
    assert cmd == ["failover", "agent", "--listen", topo.internet.host]
    assert opts["--bg"] == [f"failover lab echo --port {topo.flow.port} --bind {topo.internet.host}"]
    _, cmd = netsetup(s["client"])
    assert cmd[:7] == ["failover", "lab", "flow", "--to", f"{topo.internet.host}:{topo.flow.port}",
                       "--rate", str(topo.flow.rate_pps)]
    # the flow counters reach the router's dashboard through a shared volume
    assert cmd[7:] == ["--stats", compose.FLOW_FILE]
    assert netsetup(s["router"])[1][-2:] == ["--lab-flow-file", compose.FLOW_FILE]
    vol = f"flow:{compose.FLOW_DIR}"
    assert vol in s["client"]["volumes"] and vol in s["router"]["volumes"]


def test_every_failover_command_parses_with_the_real_cli(topo, doc):
    from failover.cli import build_parser

    parser = build_parser()
    bad = []
    for name in lab_services(topo):
        opts, cmd = netsetup(doc["services"][name])
        commands = [cmd] + [shlex.split(b) for b in opts.get("--bg", [])]
        for c in commands:
            if c[0] != "failover":
                continue
            try:
                parser.parse_args(c[1:])
            except SystemExit:
                bad.append(f"{name}: {shlex.join(c)}")
    assert not bad, "commands failover.cli does not accept:\n" + "\n".join(bad)


def test_lab_net_script_parses_and_refuses_bad_options():
    bash = shutil.which("bash")
    assert subprocess.run([bash, "-n", str(LAB_NET)]).returncode == 0
    for argv in (["--bogus", "x", "--", "true"], ["--if", "eth0=10.0.0.1/24"], ["--if", "noaddress", "--", "true"]):
        proc = subprocess.run([bash, str(LAB_NET), *argv], capture_output=True, text=True,
                              env={"PATH": "/nonexistent"})  # fails before any ip/nft call
        assert proc.returncode == 2, (argv, proc.stderr)
        assert "lab-net:" in proc.stderr


# -- Prometheus and Grafana -----------------------------------------------------------------------

def test_prometheus_scrapes_the_router_sidecar(doc):
    prom = yaml.safe_load(PROMETHEUS.read_text())
    targets = [(job.get("metrics_path", "/metrics"), t) for job in prom["scrape_configs"]
               for sc in job["static_configs"] for t in sc["targets"]]
    assert ("/metrics", f"router:{API_PORT}") in targets
    s = doc["services"]
    assert set(s["prometheus"]["networks"]) & set(s["router"]["networks"])
    assert "./conf/prometheus.yml:/etc/prometheus/prometheus.yml:ro" in s["prometheus"]["volumes"]
    assert s["prometheus"]["image"].startswith("prom/prometheus:")


def test_grafana_is_provisioned_from_conf(doc):
    g = doc["services"]["grafana"]
    assert g["image"].startswith("grafana/grafana:")
    assert g["ports"] == ["127.0.0.1:3000:3000"]
    mounts = dict(v.rsplit(":", 1)[0].split(":", 1) for v in g["volumes"])
    assert mounts["./conf/grafana/provisioning"] == "/etc/grafana/provisioning"
    [ds] = yaml.safe_load((PROVISIONING / "datasources" / "prometheus.yml").read_text())["datasources"]
    assert ds["type"] == "prometheus" and ds["url"] == "http://prometheus:9090"
    assert set(doc["services"]["prometheus"]["networks"]) & set(g["networks"])
    [prov] = yaml.safe_load((PROVISIONING / "dashboards" / "failover.yml").read_text())["providers"]
    assert mounts["./conf/grafana/dashboards"] == prov["options"]["path"]
    assert (REPO / "conf/grafana/dashboards/failover.json").is_file()
    dash = json.loads(DASHBOARD.read_text())
    for p in dash["panels"]:
        assert p["datasource"]["uid"] == ds["uid"], p["title"]
        for t in p["targets"]:
            assert t["datasource"]["uid"] == ds["uid"], p["title"]


def exposed_metrics(source: str) -> tuple[set[str], set[str]]:
    """Series names api/metrics.py exposes (counters get _total) and its per-gateway labels."""
    tree = ast.parse(source)
    names = {n.value for n in ast.walk(tree)
             if isinstance(n, ast.Constant) and isinstance(n.value, str) and re.fullmatch(r"failover_[a-z0-9_]+", n.value)}
    counters = {c.args[0].value for c in ast.walk(tree)
                if isinstance(c, ast.Call) and getattr(c.func, "id", None) == "CounterMetricFamily"
                and c.args and isinstance(c.args[0], ast.Constant)}
    labels = set()
    for n in ast.walk(tree):
        if isinstance(n, ast.Assign) and any(getattr(t, "id", None) == "_LABELS" for t in n.targets):
            labels = set(ast.literal_eval(n.value))
    return {f"{n}_total" if n in counters else n for n in names}, labels


QUERY_METRIC = re.compile(r"\bfailover_[a-z0-9_]+\b")


def queried_metrics(dash: dict) -> set[str]:
    exprs = [t["expr"] for p in dash["panels"] for t in p["targets"]]
    exprs += [v["definition"] for v in dash["templating"]["list"]]
    return {m for e in exprs for m in QUERY_METRIC.findall(e)}


def test_the_exposed_metric_reader_sees_counters_and_rejects_strangers():
    names, labels = exposed_metrics(
        '_LABELS = ["name"]\nGaugeMetricFamily("failover_a", "d")\nCounterMetricFamily("failover_b", "d")\n')
    assert names == {"failover_a", "failover_b_total"} and labels == {"name"}
    dash = {"panels": [{"targets": [{"expr": 'rate(failover_c_total{x="1"}[1m])'}]}], "templating": {"list": []}}
    assert queried_metrics(dash) - names == {"failover_c_total"}


def test_dashboard_queries_only_metrics_the_sidecar_exposes():
    assert METRICS_PY.exists(), "api/metrics.py is missing"
    exposed, labels = exposed_metrics(METRICS_PY.read_text())
    dash = json.loads(DASHBOARD.read_text())
    queried = queried_metrics(dash)
    assert queried, "the dashboard queries nothing"
    assert queried <= exposed, f"not exposed by api/metrics.py: {sorted(queried - exposed)}"
    for p in dash["panels"]:
        for t in p["targets"]:
            for label in re.findall(r"\{\{\s*(\w+)\s*\}\}", t.get("legendFormat", "")):
                assert label in labels | {"instance", "job"}, (p["title"], label)
            for label in re.findall(r"by \(([^)]*)\)", t["expr"]):
                assert {x.strip() for x in label.split(",")} <= labels | {"instance", "job"}, p["title"]


def test_dashboard_has_the_panels_an_operator_needs():
    dash = json.loads(DASHBOARD.read_text())
    assert dash["uid"] and len({p["id"] for p in dash["panels"]}) == len(dash["panels"])
    by_title = {p["title"]: " ".join(t["expr"] for t in p["targets"]) for p in dash["panels"]}
    need = {
        "WAN": ["failover_wan_carrier", "failover_wan_path", "failover_wan_up"],
        "Failover": ["failover_active"],
        "Failover transitions": ["failover_transitions_total"],
        "Elected gateway": ["failover_gateway_elected"],
        "Gateway RTT": ["failover_gateway_rtt_seconds"],
        "Gateway jitter": ["failover_gateway_jitter_seconds"],
        "Gateway loss": ["failover_gateway_loss_ratio"],
        "Gateway heartbeat status": ["failover_gateway_up"],
    }
    for title, metrics in need.items():
        assert title in by_title, title
        for m in metrics:
            assert m in by_title[title], (title, m)
    for p in dash["panels"]:
        g = p["gridPos"]
        assert 0 <= g["x"] and g["x"] + g["w"] <= 24, p["title"]
