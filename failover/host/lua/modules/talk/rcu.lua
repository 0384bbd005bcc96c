-- The talk-era (Lunatik 3.x) name registry of require("rcu"), added to the current module by
-- the talk profile (host/registry.py): a table published under a name in one runtime is found
-- by that name in another.
local backend, lib, rcu = ...
local check, unwrap = lib.check, lib.unwrap

function rcu.publish(name, t)
	return check(backend.publish(name, unwrap(t)))
end

function rcu.subscribe(name)
	return check(backend.subscribe(name))
end

return rcu
