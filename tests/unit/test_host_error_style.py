"""The host's two error wordings (kernels >= 6.7: errno names; older: "(efault)" for all), and its
clock shift: both are what the namespace scenarios rely on to stand in for an older kernel and
for a stepped wall clock."""

import io
import os

import pytest

from failover.host import Kernel, Profile
from failover.host.wallclock import WallClock

SCRIPT = """
local linux = require("linux")
local inet = require("socket.inet")
local s = inet.tcp()
s:bind("127.0.0.1", 0)
local _, port = s:getsockname()
s:close()
local c = inet.tcp()
print(select(2, pcall(c.connect, c, "127.0.0.1", port)))   -- nobody listens: refused
print(select(2, pcall(linux.ifindex, "no-such-if0")))      -- an argument error, not an errno
print(linux.errname(2))
c:close()
"""


@pytest.mark.parametrize("style, errno_text", [("names", ["ECONNREFUSED", "ENOENT"]),
                                               ("pre-6.7", ["(efault)", "(efault)"])])
def test_errno_wording_follows_the_style_and_argument_errors_do_not(tmp_path, style, errno_text):
    (tmp_path / "t.lua").write_text(SCRIPT)
    out = io.StringIO()
    kernel = Kernel(tmp_path, out=out, profile=Profile(errors=style))
    try:
        kernel.run("t")
    finally:
        kernel.shutdown()
    refused, argerr, errname = out.getvalue().splitlines()
    assert [refused, errname] == errno_text
    assert argerr == "bad argument #1 to 'ifindex' (device not found)"


def test_style_from_the_environment_and_refused_when_unknown(tmp_path, monkeypatch):
    monkeypatch.setenv("FAILOVER_HOST_ERRORS", "pre-6.7")
    assert Kernel(tmp_path).profile.errors == "pre-6.7"
    monkeypatch.setenv("FAILOVER_HOST_ERRORS", "6.1")
    with pytest.raises(SystemExit, match="FAILOVER_HOST_ERRORS"):
        Kernel(tmp_path)


def test_clock_offset_file_shifts_time_while_running(tmp_path):
    offset = tmp_path / "offset"
    clock = WallClock(offset)
    t0 = clock.time_ns()
    offset.write_text("-3600000\n")
    assert abs(clock.time_ns() - t0 + 3_600_000_000_000) < 1_000_000_000
    offset.write_text("not a number")
    assert abs(clock.time_ns() - t0) < 1_000_000_000      # ignored (with a warning): no shift
    os.unlink(offset)
    assert abs(clock.time_ns() - t0) < 1_000_000_000
