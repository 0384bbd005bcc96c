-- require("completion"): Lua side of failover/host/completion.py.
local backend, lib = ...
local check = lib.check

local Completion = {}
Completion.__index = Completion
lib.class("completion", Completion)

function Completion:complete()
	return check(backend.complete(lib.self(self, "completion", "complete")))
end

function Completion:wait(ms)
	return check(backend.wait(lib.self(self, "completion", "wait"), ms))
end

return {new = function() return check(backend.new()) end}
