-- require("rcu"): Lua side of failover/host/rcu.py. An rcu table is indexed like a Lua
-- table (t[k], t[k] = v) but holds only booleans, integers and Lunatik objects.
local backend, lib = ...
local check, unwrap, handle = lib.check, lib.unwrap, lib.handle

local Table = {}
lib.class("rcu", Table)

function Table:__index(key)
	return check(backend.get(handle(self), key))
end

function Table:__newindex(key, value)
	if type(value) == "table" and not handle(value) or type(value) == "function" then
		error("bad argument #3 to '__newindex' (unsupported type)", 0)
	end
	check(backend.set(handle(self), key, unwrap(value)))
end

local rcu = {}

function rcu.table(size)
	return check(backend.table(size))
end

function rcu.map(t, cb)
	local entries = table.pack(check(backend.entries(lib.self(t, "rcu", "map"))))
	for i = 2, 2 * entries[1], 2 do
		cb(entries[i], entries[i + 1])
	end
end

return rcu
