-- require("crypto"): Lua side of failover/host/crypto.py (shash and rng, as Lunatik's).
local backend, lib = ...
local check = lib.check

local Shash = {}
Shash.__index = Shash
lib.class("crypto.shash", Shash)

local function method(name, f)
	Shash[name] = function(self, ...)
		return check(f(lib.self(self, "crypto.shash", name), ...))
	end
end
method("digestsize", backend.digestsize)
method("setkey", backend.setkey)
method("digest", backend.digest)
method("init", backend.init)
method("update", backend.update)
method("final", backend.final)
method("export", backend.export)
method("import", backend.import_)
function Shash:finup(data)
	self:update(data)
	return self:final()
end

local Rng = {}
Rng.__index = Rng
lib.class("crypto.rng", Rng)

function Rng:generate(n)
	return check(backend.generate(lib.self(self, "crypto.rng", "generate"), n))
end

function Rng:getbytes(n)
	return check(backend.getbytes(lib.self(self, "crypto.rng", "getbytes"), n))
end

function Rng:info()
	return check(backend.info(lib.self(self, "crypto.rng", "info")))
end

function Rng:algname()
	return check(backend.algname(lib.self(self, "crypto.rng", "algname")))
end

function Rng:reset() end

return {
	shash = function(algname) return check(backend.shash(algname)) end,
	rng = function(algname) return check(backend.rng(algname)) end,
}
