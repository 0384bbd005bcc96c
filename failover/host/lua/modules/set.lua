-- require("set"): Lua side of failover/host/set.py.
local backend, lib = ...
local check = lib.check

local Set = {}
Set.__index = Set
lib.class("set", Set)

function Set:has(member)
	return check(backend.has(lib.self(self, "set", "has"), member))
end
Set.__len = function(self) return check(backend.length(lib.self(self, "set", "__len"))) end

local Labeled = {}
Labeled.__index = Labeled
lib.class("set.labeled", Labeled)

function Labeled:match(name)
	return check(backend.match(lib.self(self, "set.labeled", "match"), name))
end
Labeled.__len = function(self) return check(backend.length(lib.self(self, "set.labeled", "__len"))) end

local set = {}

-- As Lunatik's: the members table is sorted in place first.
function set.new(members)
	if type(members) ~= "table" then
		error(string.format("bad argument #1 to 'new' (table expected, got %s)", type(members)), 2)
	end
	table.sort(members)
	return check(backend.new(members, #members))
end

function set.labeled(labels)
	if type(labels) ~= "table" then
		error(string.format("bad argument #1 to 'labeled' (table expected, got %s)", type(labels)), 2)
	end
	return check(backend.labeled(labels))
end

return set
