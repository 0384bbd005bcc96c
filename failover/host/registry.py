"""The modules the host provides, registered once: for each profile's API, what ``require`` finds
with a Python side. A module's backend is built for each runtime with the host's services
(``services.py``); its Lua half lives under ``lua/modules/``.

The talk-era API (Lunatik 3.x) is the current one plus ``fib``, rcu's registry of tables by
name and notifier's old names.
"""

from __future__ import annotations

from collections.abc import Mapping

from . import completion, crypto, data, fifo, linux, lunatik, netlink, notifier, rcu, socket, talk, thread
from . import set as lset
from .profile import Api
from .runtime import HostModule

CURRENT = (
    HostModule("linux", linux.LinuxModule),
    HostModule("notifier", notifier.NotifierModule),
    HostModule("netlink", netlink.NetlinkModule),
    HostModule("rcu", rcu.RcuModule),
    HostModule("data", data.DataModule),
    HostModule("completion", completion.CompletionModule),
    HostModule("fifo", fifo.FifoModule),
    HostModule("set", lset.SetModule),
    HostModule("socket", socket.SocketModule),
    HostModule("thread", thread.ThreadModule),
    HostModule("lunatik", lunatik.LunatikModule),
    HostModule("lunatik.runner", lunatik.LunatikModule),
    HostModule("crypto", crypto.CryptoModule),
)

TALK_ERA = (
    HostModule("fib", talk.FibModule, files=("talk/fib",)),
    HostModule("rcu", talk.PublishingRcuModule, files=("rcu", "talk/rcu")),
    HostModule("notifier", notifier.NotifierModule, files=("notifier", "talk/notifier")),
)


def modules(api: Api) -> Mapping[str, HostModule]:
    """The host's modules by ``require`` name, for one API."""
    registered = {m.name: m for m in CURRENT}
    if api is Api.TALK:
        registered.update((m.name, m) for m in TALK_ERA)
    return registered
