-- require("fib"), talk profile only: the talk-era rule API (removed from Lunatik in 61b27ab6).
local backend, lib = ...
local check = lib.check

return {
	newrule = function(table, priority) return check(backend.newrule(table, priority)) end,
	delrule = function(table, priority) return check(backend.delrule(table, priority)) end,
}
