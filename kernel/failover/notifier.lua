--
-- failover/notifier: records netdevice events of the WAN and wakes the daemon.
--
-- The kernel holds RTNL while this callback runs, so it touches no rtnetlink and opens no
-- socket: it counts the event in the daemon's rcu table and completes the daemon's wake-up.
-- Run it after the daemon: `lunatik spawn failover/daemon`, then `lunatik run failover/notifier`.
--
local lunatik  = require("lunatik")
local notifier = require("notifier")
local netdev   = require("linux.netdev")
local notify   = require("linux.notify")
local conf     = require("failover.conf")

local shared = lunatik._ENV.failover
if not shared then
	error("failover/daemon is not running: spawn it first")
end

-- The events that can change the WAN's admin or carrier state.
local relevant = {
	[netdev.UP] = true, [netdev.DOWN] = true, [netdev.CHANGE] = true,
	[netdev.GOING_DOWN] = true, [netdev.REGISTER] = true, [netdev.UNREGISTER] = true,
	[netdev.CHANGENAME] = true,
}

local function wan_event(event, name)
	if name ~= conf.wan or not relevant[event] then
		return notify.DONE
	end
	shared.events = (shared.events or 0) + 1
	shared.event = event
	shared.wake:complete()
	return notify.OK
end

notifier.netdevice(wan_event)
