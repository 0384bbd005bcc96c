-- require("lunatik"): Lua side of failover/host/lunatik.py.
local backend, lib = ...
local check, unwrap = lib.check, lib.unwrap

local Runtime = {}
Runtime.__index = Runtime
lib.class("runtime", Runtime)

function Runtime:resume(...)
	local args = table.pack(...)
	for i = 1, args.n do args[i] = unwrap(args[i]) end
	return check(backend.resume(lib.self(self, "runtime", "resume"), table.unpack(args, 1, args.n)))
end

function Runtime:stop()
	return check(backend.stop(lib.self(self, "runtime", "stop")))
end

Runtime.__close = Runtime.stop

local lunatik = {_ENV = check(backend.env())}

-- An IRQ runtime gets Lunatik's stub library: _ENV only, no runtime().
if backend.irq then
	return lunatik
end

function lunatik.runtime(script, context)
	return check(backend.runtime_new(script, context))
end

return lunatik
