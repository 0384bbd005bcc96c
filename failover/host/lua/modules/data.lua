-- require("data"): Lua side of failover/host/data.py.
local backend, lib = ...
local check = lib.check

local Data = {}
Data.__index = Data
lib.class("data", Data)

local function method(name, f)
	Data[name] = function(self, ...)
		return check(f(lib.self(self, "data", name), ...))
	end
end

for _, kind in ipairs{"byte", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64", "number"} do
	method("get" .. kind, function(h, off) return backend.get(h, kind, off) end)
	method("set" .. kind, function(h, off, v) return backend.set(h, kind, off, v) end)
end
method("getstring", backend.getstring)
method("setstring", backend.setstring)
Data.__len = function(self) return check(backend.length(lib.self(self, "data", "__len"))) end

return {new = function(size, mode) return check(backend.new(size, mode)) end}
