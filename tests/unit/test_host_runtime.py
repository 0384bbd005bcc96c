"""The host's module surface and the kernel's rules, run in real Lua 5.5 states (no netlink
mutations here: those run in namespaces, tests/topotests/host_netlink/test_host_netlink.py)."""

import os
import re
import socket
import time

import pytest

from failover.host import ScriptError
from failover.lab.netns import wait_for


def test_print_logs_one_line_per_argument(lua):
    assert lua.run('print("a", 1, true)') == ["a", "1", "true"]


def test_scripts_see_no_os_or_python_and_only_the_kernels_io(lua):
    assert lua.run("print(os, python, dofile, debug.debug, _VERSION)") == ["nil"] * 4 + ["Lua 5.5-kernel"]
    # Lunatik 4.4's io: open, lines, type only (no default streams), "I/O error" on failure
    out = lua.run("""
        local names = {}
        for name in pairs(io) do names[#names + 1] = name end
        table.sort(names)
        print(table.concat(names, " "), io.open("/nonexistent/x"))
        print(tostring(collectgarbage("count")):find("^%d+$") ~= nil, collectgarbage("count") > 1024)
    """, name="t2")
    assert out == ["lines open type", "nil", "I/O error", "2", "true", "true"]


def test_linux_time_difftime_random(lua):
    out = lua.run("""
        local linux = require("linux")
        local t1 = linux.time(); local t2 = linux.time()
        print(t1, linux.difftime(t2, t1) >= 0, linux.difftime(1, 2))
        local r = linux.random(3, 5); print(r >= 3 and r <= 5, linux.random())
        print(linux.errname(17), linux.errname(-2))
    """)
    # kernel Lua has no math.type: an integer prints as digits only, a float with '.' or 'e'
    assert re.fullmatch(r"\d+", out[0]) and re.fullmatch(r"-?\d+", out[4])
    assert out[1:4] + out[5:] == ["true", "-1", "true", "EEXIST", "ENOENT"]


def test_linux_ifindex_of_missing_device_is_an_argument_error(lua):
    out = lua.run("""
        local linux = require("linux")
        print(linux.ifindex("lo"))
        print(select(2, pcall(linux.ifindex, "nosuchdev0")))
    """)
    assert out == ["1", "bad argument #1 to 'ifindex' (device not found)"]


def test_constant_modules_have_kernel_values(lua):
    out = lua.run("""
        local netdev, notify = require("linux.netdev"), require("linux.notify")
        local s, rt = require("linux.socket"), require("linux.rtnetlink")
        print(netdev.UP, netdev.CHANGE, netdev.GOING_DOWN, netdev.PRE_UP, netdev.CHANGENAME)
        print(notify.OK, notify.STOP, s.msg.DONTWAIT, s.so.RCVTIMEO_NEW, s.sock.NONBLOCK)
        print(rt.iff.RUNNING, rt.table.MAIN, rt.scope.LINK, rt.fr_act.TO_TBL, rt.rtprot.STATIC)
    """)
    assert out == ["1", "4", "10", "14", "11", "1", "32769", "64", "66", "2048", "64", "254", "253", "1", "4"]


def test_rcu_stores_integers_booleans_and_objects_but_not_strings(lua):
    out = lua.run("""
        local rcu = require("rcu")
        local t, inner = rcu.table(), rcu.table(8)
        t.n = 42; t.b = false; t.obj = inner; inner.x = 7; t[5] = 1
        print(t.n, t.b, t.obj.x, t["5"], t.missing)
        for _, v in ipairs{"str", {}, print} do
            print(select(2, pcall(function() t.bad = v end)))
        end
        t.n = nil; print(t.n)
        local seen = 0
        rcu.map(t, function(k, v) seen = seen + 1 end)
        print(seen)
    """)
    assert out[:5] == ["42", "false", "7", "1", "nil"]
    assert out[5:8] == ["bad argument #3 to '__newindex' (unsupported type)"] * 3
    assert out[8:] == ["nil", "3"]


def test_rcu_key_limit(lua):
    out = lua.run("""
        local t = require("rcu").table()
        print(pcall(function() t[string.rep("k", 256)] = 1 end))
    """)
    assert out == ["false", "not enough memory"]


def test_lunatik_env_is_shared_between_runtimes(lua):
    lua.script("b", """
        local lunatik = require("lunatik")
        print("b sees", lunatik._ENV.token.n)
        lunatik._ENV.token.n = 2
    """)
    out = lua.run("""
        local lunatik, rcu = require("lunatik"), require("rcu")
        local t = rcu.table(); t.n = 1
        lunatik._ENV.token = t
        local rt = lunatik.runtime("b")
        print("a sees", t.n)
    """)
    assert out == ["b sees", "1", "a sees", "2"]


def test_thread_run_during_load_raises(lua):
    lua.script("body", "return function() end")
    out = lua.run("""
        local thread, lunatik = require("thread"), require("lunatik")
        print(pcall(thread.run, lunatik.runtime("body"), "x"))
    """)
    assert out == ["false", "not allowed during module load"]


def test_spawned_thread_runs_until_stopped(lua):
    lua.script("d", """
        local thread, linux = require("thread"), require("linux")
        return function()
            print("started", thread.shouldstop())
            while not thread.shouldstop() do linux.schedule(1000) end
            print("stopped")
        end
    """)
    t0 = time.monotonic()
    lua.kernel.spawn("d")
    wait_for(lambda: "started" in lua.out.getvalue(), what="the thread to start")
    lua.kernel.stop("d")
    assert time.monotonic() - t0 < 1.0, "linux.schedule must wake on stop"
    assert lua.out.getvalue().splitlines() == ["started", "false", "stopped"]


def test_resume_makes_returned_closure_the_body(lua):
    lua.script("w", """
        return function(box) return function() box.ran = 1 end end
    """)
    lua.run("""
        local lunatik, rcu, thread = require("lunatik"), require("rcu"), require("thread")
        local box = rcu.table(8)
        lunatik._ENV.box = box
        local rt = lunatik.runtime("w")
        rt:resume(box)
        print(pcall(rt.resume, rt, "not an object"))
        lunatik._ENV.worker = rt
    """)
    kt = lua.kernel.env.get(b"worker")
    from failover.host import thread as hthread

    hthread.start(kt, "w").stop()
    assert lua.kernel.env.get(b"box").get(b"ran") == 1
    assert "invalid object" in lua.out.getvalue()


def test_data_and_completion(lua):
    out = lua.run("""
        local data, completion = require("data"), require("completion")
        local d = data.new(16)
        d:setstring(0, "10.0.0.1"); d:setuint32(8, 0xdeadbeef); d:setint8(12, -1)
        print(d:getstring(0, 8), d:getuint32(8) == 0xdeadbeef, d:getint8(12), d:getuint8(12), #d)
        print(pcall(d.getuint64, d, 12))
        local c = completion.new()
        print(c:wait(1))
        c:complete(); print(c:wait(1))
    """)
    assert out == ["10.0.0.1", "true", "-1", "255", "16", "false", "bad argument #2 to 'getuint64' (out of bounds)",
                   "nil", "timeout", "true"]


def test_socket_errors_are_errno_names(lua):
    with socket.socket() as probe:  # a free port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    out = lua.run(f"""
        local inet, lsock = require("socket.inet"), require("linux.socket")
        local c <close> = inet.tcp()
        print(pcall(c.connect, c, "127.0.0.1", {port}))
        local u <close> = inet.udp()
        u:bind("127.0.0.1", 0)
        print(pcall(u.receive, u, 10, lsock.msg.DONTWAIT))
        local ip, port = u:getsockname(); print(ip)
        u:sendto("hi", "127.0.0.1", port)
        print(u:receivefrom(10))
    """)
    assert out[:5] == ["false", "ECONNREFUSED", "false", "EAGAIN", "127.0.0.1"]
    assert out[5] == "hi" and out[6] == "127.0.0.1"


def test_receive_timeout_via_setsockopt(lua):
    out = lua.run("""
        local inet, lsock = require("socket.inet"), require("linux.socket")
        local u <close> = inet.udp()
        u:bind("127.0.0.1", 0)
        u:setsockopt(lsock.sol.SOCKET, lsock.so.RCVTIMEO_NEW, string.pack("i8i8", 0, 50000))
        print(pcall(u.receive, u, 10))
    """)
    assert out == ["false", "EAGAIN"]


def test_unix_stream_round_trip(lua, tmp_path):
    path = tmp_path / "s.sock"
    out = lua.run(f"""
        local unix, lsock = require("socket.unix"), require("linux.socket")
        local srv <close> = unix.stream("{path}")
        srv:bind(); srv:listen()
        print(pcall(srv.accept, srv, lsock.sock.NONBLOCK))
        local cli <close> = unix.stream("{path}")
        cli:connect(); cli:send("ping")
        local conn = srv:accept()
        print(conn:receive(10))
    """)
    assert out == ["false", "EAGAIN", "ping"]


def test_close_attribute_closes_socket(lua):
    out = lua.run("""
        local inet = require("socket.inet")
        local s
        do local u <close> = inet.udp(); s = u end
        print(pcall(s.bind, s, "127.0.0.1", 0))
    """)
    assert out == ["false", "EBADF"]


def test_load_error_names_script_and_line(lua):
    lua.script("broken", "local x = 1\nerror('boom')\n")
    with pytest.raises(ScriptError, match=r"broken\.lua:2: boom"):
        lua.kernel.run("broken")


def test_errno_error_in_thread_is_reported_with_script_line(lua):
    lua.script("t", """
        local socket = require("socket.inet")
        return function()
            local c = socket.tcp()
            c:connect("127.0.0.1", 1)
        end
    """)
    lua.kernel.spawn("t")
    wait_for(lambda: lua.errors, what="the thread's error")
    assert len(lua.errors) == 1
    assert "t.lua:5: ECONNREFUSED" in lua.errors[0]


def test_float_reaching_the_host_is_refused(lua):
    out = lua.run("""
        local linux = require("linux")
        -- a float literal does not parse; string.unpack("d") is a way left to make one
        print(pcall(linux.schedule, string.unpack("d", string.pack("d", 3))))
    """)
    assert out[0] == "false" and "integer representation" in out[1]


def test_talk_era_rcu_keeps_strings_and_publishes(talk_lua):
    out = talk_lua.run("""
        local rcu = require("rcu")
        local t = rcu.table(8); rcu.publish("elected", t)
        t.ip = "10.0.0.1"
        print(rcu.subscribe("elected").ip, require("notifier").netdev.CHANGE)
    """)
    assert out == ["10.0.0.1", "4"]


def test_talk_era_modules_absent_in_current_api(lua):
    out = lua.run("""
        print(require("rcu").publish, require("notifier").netdev, pcall(require, "fib"))
    """)
    assert out[:3] == ["nil", "nil", "false"]


def test_crypto_shash_hmac_matches_known_vectors(lua):
    out = lua.run("""
        local crypto = require("crypto")
        local function hex(s) return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end)) end
        local h = crypto.shash("sha256")
        print(h:digestsize(), hex(h:digest("The quick brown fox jumps over the lazy dog")))
        local m = crypto.shash("hmac(sha256)")
        print(pcall(m.digest, m, "x"))
        m:setkey("key")
        print(hex(m:digest("The quick brown fox jumps over the lazy dog")))
        m:init(); m:update("The quick brown fox "); print(hex(m:finup("jumps over the lazy dog")))
        print(pcall(crypto.shash, "nosuch"))
        local r = crypto.rng("stdrng")
        print(#r:generate(16), pcall(r.generate, r, 0))
    """)
    fox_sha = "d7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb762d02d0bf37c9e592"
    fox_hmac = "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
    assert out == ["32", fox_sha, "false", "ENOKEY", fox_hmac, fox_hmac, "false", "ENOENT",
                   "16", "false", "bad argument #2 to 'generate' (out of bounds)"]


def test_objects_keep_their_identity_across_many_crossings(lua):
    """Data objects stored, walked with rcu.map and deleted, thousands of times: each must come
    back as itself (lupa once handed back a stale wrapper, a bound method, here)."""
    out = lua.run("""
        local rcu, data = require("rcu"), require("data")
        local t = rcu.table(1024)
        for now = 1, 3000 do
            local d = t[now] or data.new(8)
            d:setnumber(0, now)
            t[now] = d
            rcu.map(t, function(k, v) if now > v:getnumber(0) + 50 then t[k] = nil end end)
        end
        print("done")
    """)
    assert out == ["done"]


def test_a_dropped_socket_is_closed_by_the_garbage_collector(lua):
    """As Lunatik's __gc: a socket no script holds any more is closed, not kept until stop."""
    before = len(os.listdir("/proc/self/fd"))
    out = lua.run("""
        local socket = require("socket")
        local kept = socket.new(2, 2, 17)
        for i = 1, 1000 do
            socket.new(2, 2, 17)
            if i % 100 == 0 then collectgarbage() end
        end
        collectgarbage()
        print("done")
    """)
    assert out == ["done"]
    assert len(os.listdir("/proc/self/fd")) - before < 50
