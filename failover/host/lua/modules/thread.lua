-- require("thread"): Lua side of failover/host/thread.py.
local backend, lib = ...
local check, unwrap = lib.check, lib.unwrap

local KThread = {}
KThread.__index = KThread
lib.class("thread", KThread)

function KThread:stop()
	return check(backend.stop(lib.self(self, "thread", "stop")))
end

function KThread:task()
	return check(backend.task(lib.self(self, "thread", "task")))
end

KThread.__close = KThread.stop

local thread = {}

function thread.run(runtime, name)
	return check(backend.run(unwrap(runtime), name))
end

function thread.shouldstop()
	return check(backend.shouldstop())
end

function thread.current()
	return check(backend.current())
end

return thread
