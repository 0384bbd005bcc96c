-- require("notifier"): Lua side of failover/host/notifier.py.
local backend, lib = ...
local check = lib.check

local Notifier = {}
Notifier.__index = Notifier
lib.class("notifier", Notifier)

function Notifier:stop()
	return check(backend.stop(lib.self(self, "notifier", "stop")))
end

local notifier = {}

function notifier.netdevice(callback)
	return check(backend.netdevice(callback))
end

function notifier.keyboard(callback)
	return check(backend.keyboard(callback))
end

function notifier.vterm(callback)
	return check(backend.vterm(callback))
end

return notifier
