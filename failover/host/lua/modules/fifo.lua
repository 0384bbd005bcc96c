-- require("fifo"): Lua side of failover/host/fifo.py.
local backend, lib = ...
local check = lib.check

local Fifo = {}
Fifo.__index = Fifo
lib.class("fifo", Fifo)

function Fifo:push(data)
	return check(backend.push(lib.self(self, "fifo", "push"), data))
end

function Fifo:pop(size)
	return check(backend.pop(lib.self(self, "fifo", "pop"), size))
end

function Fifo:close()
	return check(backend.close(lib.self(self, "fifo", "close")))
end
Fifo.__close = Fifo.close

return {new = function(size) return check(backend.new(size)) end}
