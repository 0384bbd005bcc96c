"""A softirq or hardirq runtime may not sleep: the host refuses there what Lunatik refuses
(lunatik_checkclass, lunatik_checkruntime, lunatik_loadfile), in every module."""

import pytest

CLASS_ERROR = "process-context class in interrupt-context runtime"

# Each line runs inside a softirq runtime, at its top level (the kernel checks classes there
# too) or, for sleeps, from a resume once the runtime is ready.
TOP_LEVEL = {
    "socket": ('require("socket").new(2, 2, 17)', f"'socket': {CLASS_ERROR}"),
    "netlink": ('require("netlink").rt.rule()', f"'socket': {CLASS_ERROR}"),
    "notifier": ('require("notifier").netdevice(function() end)', f"'notifier': {CLASS_ERROR}"),
    "thread": ('require("thread").current()', f"'thread': {CLASS_ERROR}"),
    "crypto": ('require("crypto").shash("hmac(sha256)")', f"'crypto_shash': {CLASS_ERROR}"),
    "completion": ('require("completion").new():wait(1)', "runtime context mismatch"),
    "runner": ('require("lunatik.runner").list()', "runtime context mismatch"),
}


@pytest.mark.parametrize("module", list(TOP_LEVEL))
def test_process_only_modules_are_refused_in_a_softirq_runtime(lua, module):
    call, message = TOP_LEVEL[module]
    lua.script("irq", f"""
        local ok, err = pcall(function() return {call} end)
        print(ok, err)
        return function() end
    """)
    out = lua.run('require("lunatik").runtime("irq", "softirq")')
    assert out == ["false", message]


def test_the_same_calls_work_in_a_process_runtime(lua):
    out = lua.run("""
        local s = require("socket").new(2, 2, 17); s:close()
        require("netlink").rt.rule():close()
        print(require("thread").current() ~= nil, require("completion").new():wait(1))
    """)
    assert out == ["true", "nil", "timeout"]


def test_sleeping_from_a_ready_softirq_runtime_is_refused(lua):
    lua.script("irq", """
        local linux, completion = require("linux"), require("completion")
        return function(c)
            print(pcall(linux.schedule, 1))
            print(pcall(c.wait, c, 1))
            print((select(2, pcall(require, "late")):gsub("\\n%s*", " ")))
        end
    """)
    lua.script("late", "return {}")
    out = lua.run("""
        local rt = require("lunatik").runtime("irq", "softirq")
        rt:resume(require("completion").new())
    """)
    assert out[0:2] == ["false", "schedule: cannot sleep in a softirq runtime (scheduling while atomic)"]
    assert out[2:4] == ["false", "runtime context mismatch"]
    assert "cannot load file on non-sleepable runtime" in out[4]


def test_objects_handed_to_a_softirq_runtime_must_be_irq_safe(lua):
    lua.script("irq", "return function(obj) print(type(obj), obj:getuint8(0)) end")
    out = lua.run("""
        local data, socket = require("data"), require("socket")
        local rt = require("lunatik").runtime("irq", "softirq")
        local d = data.new(1); d:setuint8(0, 7)
        rt:resume(d)
        local s = socket.new(2, 2, 17)
        print(pcall(rt.resume, rt, s))
    """)
    assert out[:2] == ["userdata", "7"]
    assert out[2] == "false" and f"'socket': {CLASS_ERROR}" in out[3]


def test_irq_runtimes_get_lunatiks_stub_and_no_io(lua):
    lua.script("irq", """
        local lunatik = require("lunatik")
        print(lunatik.runtime, lunatik._ENV ~= nil, io)
        return function() end
    """)
    out = lua.run('require("lunatik").runtime("irq", "hardirq")')
    assert out == ["nil", "true", "nil"]


def test_threads_need_a_process_runtime(lua):
    lua.script("irq", "return function() end")
    lua.script("t", """
        local lunatik, thread = require("lunatik"), require("thread")
        return function()
            local rt = lunatik.runtime("irq", "softirq")
            print(pcall(thread.run, rt, "x"))
        end
    """)
    kt = lua.kernel.spawn("t")
    kt._thread.join(5)
    assert lua.out.getvalue().splitlines()[-2:] == ["false", "bad argument #1 to 'run' (IRQ runtime cannot spawn threads)"]


def test_hardirq_notifiers_need_a_hardirq_runtime(lua):
    out = lua.run('print(pcall(require("notifier").keyboard, function() end))')
    assert out == ["false", "runtime context mismatch"]


def test_fifo_is_a_power_of_two_queue_shared_by_reference(lua):
    lua.script("recv", "return function(f) print(f:pop(5)) end")
    out = lua.run("""
        local fifo = require("fifo")
        local f = fifo.new(5)              -- 8 bytes, as kfifo rounds up
        f:push("12345678")
        print(pcall(f.push, f, "9"))
        print(f:pop(3))
        require("lunatik").runtime("recv", "softirq"):resume(f)
        print(f:pop(4))
    """)
    assert out == ["false", "bad argument #2 to 'push' (not enough space)", "123", "3", "45678", "5", "", "0"]


def test_struct_codecs_from_layouts(lua):
    out = lua.run("""
        local struct, sk, nl = require("struct"), require("linux.socket"), require("linux.netlink")
        local tv, hdr, err = struct(sk.layout.timeval), struct(nl.layout.nlmsghdr), struct(nl.layout.nlmsgerr)
        print(tv.format, tv.size, hdr.format, err.format, err.size, hdr:fieldsize("nlmsg_type"))
        print(select("#", hdr:unpack(hdr:pack(20, 16, 5, 1, 0))), nl.flag.DUMP, nl.type.ERROR, nl.proto.ROUTE)
        print(pcall(struct, {size = 4, fields = {{name = "a", offset = 0, size = 4}, {name = "b", offset = 2, size = 2}}}))
    """)
    assert out[:6] == ["=i8i8", "16", "=I4I2I2I4I4", "=i4" + "x" * 16, "20", "2"]
    assert out[6:10] == ["6", "768", "2", "0"]
    assert out[10] == "false" and "overlaps" in out[11]
