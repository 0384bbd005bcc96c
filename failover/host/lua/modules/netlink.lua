-- require("netlink"): netlink.rt.rule/route/link/addr sessions, Lua side of
-- failover/host/netlink.py. Each object owns one socket; `<close>` closes it.
local backend, lib = ...
local check = lib.check

local Session = {}
Session.__index = Session
lib.class("netlink.rt", Session)

local function h(self, name)
	return lib.self(self, "netlink.rt", name)
end

function Session:list(family) return check(backend.list(h(self, "list"), family)) end
function Session:add(opts) return check(backend.add(h(self, "add"), opts)) end
function Session:del(opts) return check(backend.delete(h(self, "del"), opts)) end
function Session:set(opts) return check(backend.set(h(self, "set"), opts)) end
function Session:close() return check(backend.close(h(self, "close"))) end
Session.__close = Session.close

local rt = {}
for _, kind in ipairs{"rule", "route", "link", "addr"} do
	rt[kind] = function() return check(backend.open(kind)) end
end

-- netlink.genl(): a generic netlink session; call/dump return {cmd =, attrs = {[type] = bytes}}.
local Genl = {}
Genl.__index = Genl
lib.class("netlink.genl", Genl)

local function g(self, name)
	return lib.self(self, "netlink.genl", name)
end

function Genl:call(family, cmd, flags, payload) return check(backend.genl_call(g(self, "call"), family, cmd, flags, payload)) end
function Genl:dump(family, cmd, payload) return check(backend.genl_dump(g(self, "dump"), family, cmd, payload)) end
function Genl:family(name) return check(backend.genl_family(g(self, "family"), name)) end
function Genl:close() return check(backend.close(g(self, "close"))) end
Genl.__close = Genl.close

return {rt = rt, genl = function() return check(backend.genl_open()) end}
