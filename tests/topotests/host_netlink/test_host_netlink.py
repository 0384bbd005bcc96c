"""The host's netlink.rt and notifier modules against a real kernel, in a namespace of their own.

Each scenario runs a Lua script with `failover lunatik` inside the namespace and reads what it
printed; the kernel's answers (EEXIST, ENOENT, ESRCH...) come from the kernel itself.
"""

import os
import subprocess
import sys
import textwrap
import time
import uuid

import pytest

from failover.lab.builder import Network
from failover.lab.spec import Topology

from failover.lab.routerlab import REPO


@pytest.fixture
def box(tmp_path):
    """One namespace with a veth pair a0 <-> b0, both up, a0 = 192.0.2.1/24."""
    nets = Network(Topology(f"af{uuid.uuid4().hex[:6]}"))
    try:
        nets.add("box")
        nets.ip("box", "link", "add", "a0", "type", "veth", "peer", "name", "b0")
        nets.ip("box", "addr", "add", "192.0.2.1/24", "dev", "a0")
        for dev in ("a0", "b0"):
            nets.ip("box", "link", "set", dev, "up")
        yield nets
    finally:
        nets.teardown()


def lunatik(nets, tmp_path, source, *, seconds="0", spawn=False, during=None):
    """Run a script; with ``during``, call it once the script has printed "loaded"."""
    script = tmp_path / "t.lua"
    script.write_text(textwrap.dedent(source))
    argv = ["ip", "netns", "exec", nets.ns("box"), sys.executable, "-m", "failover.cli", "lunatik",
            "--root", str(tmp_path), "--for", seconds, "spawn" if spawn else "run", "t"]
    # Unbuffered: the script's "loaded" must reach us while it runs, not when it exits.
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(argv, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    head = []
    if during:
        while (line := proc.stdout.readline()) and line != "loaded\n":
            head.append(line)
        assert line == "loaded\n", f"the script never said it had loaded: {head}"
        during()
    out, err = proc.communicate(timeout=30)
    return proc.returncode, ("".join(head) + ("loaded\n" if during else "") + out).splitlines(), err


def test_rule_add_del_and_errno_names(box, tmp_path):
    rc, out, err = lunatik(box, tmp_path, """
        local rt = require("netlink").rt
        local r <close> = rt.rule()
        r:add{table = 100, priority = 1000}
        print(select(2, pcall(r.add, r, {table = 100, priority = 1000})))
        local n = 0
        for _, x in ipairs(r:list()) do
            if x.priority == 1000 then n = n + 1; print(x.table, x.action) end
        end
        r:add{table = 300, priority = 1001}
        for _, x in ipairs(r:list()) do if x.priority == 1001 then print(x.table) end end
        r:del{table = 100, priority = 1000}
        print(select(2, pcall(r.del, r, {table = 100, priority = 1000})))
        r:del{table = 300, priority = 1001}
    """)
    assert rc == 0, err
    assert out == ["EEXIST", "100", "1", "300", "ENOENT"]


def test_route_add_list_del_and_esrch(box, tmp_path):
    rc, out, err = lunatik(box, tmp_path, """
        local rt, linux, net = require("netlink").rt, require("linux"), require("net")
        local r <close> = rt.route()
        local gw = string.pack(">I4", net.aton("192.0.2.254"))
        local oif = linux.ifindex("a0")
        r:add{table = 100, gateway = gw, oif = oif}
        print(select(2, pcall(r.add, r, {table = 100, gateway = gw, oif = oif})))
        for _, x in ipairs(r:list(2)) do
            if x.table == 100 then print(x.dst_len, net.ntoa(string.unpack(">I4", x.gateway)), x.oif == oif) end
        end
        r:del{table = 100, gateway = gw, oif = oif}
        print(select(2, pcall(r.del, r, {table = 100, gateway = gw, oif = oif})))
    """)
    assert rc == 0, err
    assert out == ["EEXIST", "0", "192.0.2.254", "true", "ESRCH"]


def test_link_list_flags_and_set(box, tmp_path):
    rc, out, err = lunatik(box, tmp_path, """
        local rt, iff = require("netlink").rt, require("linux.rtnetlink").iff
        local l <close> = rt.link()
        local function flags(name)
            for _, x in ipairs(l:list()) do
                if x.name == name then return x.flags & iff.UP ~= 0, x.flags & iff.RUNNING ~= 0 end
            end
        end
        print(flags("a0"))
        l:set{ifindex = require("linux").ifindex("b0"), up = false}
        print(flags("b0"))
    """)
    assert rc == 0, err
    assert out == ["true", "true", "false", "false"]


def test_addr_list(box, tmp_path):
    rc, out, err = lunatik(box, tmp_path, """
        local rt, net = require("netlink").rt, require("net")
        local a <close> = rt.addr()
        for _, x in ipairs(a:list(2)) do
            if x.label == "a0" then print(net.ntoa(string.unpack(">I4", x.address)), x.prefix_len) end
        end
    """)
    assert rc == 0, err
    assert out == ["192.0.2.1", "24"]


def test_rtnetlink_from_notifier_callback_raises(box, tmp_path):
    """In the kernel any netlink.rt call here deadlocks the machine: the host refuses it."""
    rc, out, err = lunatik(box, tmp_path, """
        local notifier, rt = require("notifier"), require("netlink").rt
        local session = rt.link()
        notifier.netdevice(function(event, name)
            if name == "a0" then
                for _, m in ipairs{"list", "add", "del"} do
                    print(m, (select(2, pcall(session[m], session, {}))):match("notifier") ~= nil)
                end
            end
        end)
    """)
    assert rc == 0, err
    assert out[:6] == ["list", "true", "add", "true", "del", "true"]


def test_notifier_replays_and_follows_kernel_sequences(box, tmp_path):
    def changes():
        for args in (("set", "b0", "down"), ("set", "b0", "up"), ("set", "a0", "down"), ("set", "a0", "up"),
                     ("set", "a0", "down"), ("set", "a0", "name", "wan9"), ("del", "wan9")):
            box.ip("box", "link", *args)
            time.sleep(0.1)

    rc, out, err = lunatik(box, tmp_path, """
        local notifier, netdev = require("notifier"), require("linux.netdev")
        local names = {}
        for k, v in pairs(netdev) do names[v] = k end
        notifier.netdevice(function(event, name)
            if name ~= "lo" then print(name .. " " .. names[event]) end
        end)
        print("loaded")
    """, seconds="6", during=changes)
    assert rc == 0, err
    loaded = out.index("loaded")
    # Replay at registration happens inside netdevice(), before the script goes on.
    assert set(out[:loaded]) == {"a0 REGISTER", "a0 UP", "b0 REGISTER", "b0 UP"}
    events = out[loaded + 1:]
    expected = [
        "b0 GOING_DOWN", "b0 DOWN", "a0 CHANGE",          # b0 admin down: a0 loses carrier
        "b0 PRE_UP", "b0 UP", "b0 CHANGE", "a0 CHANGE",   # back up: both regain it
        "a0 GOING_DOWN", "a0 DOWN", "b0 CHANGE",
        "a0 PRE_UP", "a0 UP", "a0 CHANGE", "b0 CHANGE",
        "a0 GOING_DOWN", "a0 DOWN", "b0 CHANGE", "wan9 CHANGENAME",
        "wan9 UNREGISTER", "b0 GOING_DOWN", "b0 DOWN", "b0 UNREGISTER",  # deleting a veth takes its peer
    ]
    # Peer notifications of a veth pair may interleave; compare per device.
    for dev in ("a0", "b0", "wan9"):
        assert [e for e in events if e.startswith(dev + " ")] == [e for e in expected if e.startswith(dev + " ")], events


def test_script_error_makes_for_exit_nonzero(box, tmp_path):
    rc, out, err = lunatik(box, tmp_path, """
        require("notifier").netdevice(function(event, name) if name == "a0" then error("kaboom") end end)
    """)
    assert rc != 0
    assert "t.lua:2: kaboom" in err


def test_load_error_exit_nonzero(box, tmp_path):
    rc, out, err = lunatik(box, tmp_path, "local x = nil + 1\n")
    assert rc != 0 and "t.lua:1:" in err


def test_clean_script_exits_zero(box, tmp_path):
    rc, out, err = lunatik(box, tmp_path, 'print("fine")\n')
    assert (rc, out) == (0, ["fine"])
