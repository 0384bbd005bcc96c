--
-- failover/fib: the daemon's view of the FIB: the WAN's link state, the failover rule
-- (priority P -> table T) and the alternate table T (LAN prefix + default via the elected
-- gateway), each for a family: `sock.af.INET` or `sock.af.INET6` (same P and T in both).
-- Every function converges the kernel to one wanted state and reports what it did,
-- so a start after a crash, a stale rule or a duplicate is repaired by the same code.
-- Call only from the daemon's thread: never from a notifier callback (RTNL is held there).
--
local netlink = require("netlink")
local linux   = require("linux")
local rtnl    = require("linux.rtnetlink")
local sock    = require("linux.socket")
local net     = require("net")
local inet6   = require("failover.inet6")

local iff, scope, fr_act = rtnl.iff, rtnl.scope, rtnl.fr_act
local INET, INET6 = sock.af.INET, sock.af.INET6

local fib = {}
fib.__index = fib

function fib.open(conf)
	local self = setmetatable({conf = conf}, fib)
	self.links = netlink.rt.link()
	self.rules = netlink.rt.rule()
	self.routes = netlink.rt.route()
	self.addrs = netlink.rt.addr()
	return self
end

function fib:close()
	self.links:close()
	self.rules:close()
	self.routes:close()
	self.addrs:close()
end
fib.__close = fib.close

local function find_link(links, name)
	for _, l in ipairs(links:list()) do
		if l.name == name then
			return l
		end
	end
end

-- admin, carrier: RUNNING is the operational state, the carrier as far as scripts can see it.
function fib:wan()
	local l = find_link(self.links, self.conf.wan)
	if not l then
		return false, false
	end
	return l.flags & iff.UP ~= 0, l.flags & iff.RUNNING ~= 0
end

local function is_failover_rule(r, conf)
	return r.table == conf.table and r.action == fr_act.TO_TBL and (r.fwmark or 0) == 0
end

-- Makes the family's rule at conf.priority present exactly once (want) or absent; returns
-- present, changes.
function fib:sync_rule(family, want)
	local conf, rules = self.conf, self.rules
	local keep, changes = nil, 0
	for _, r in ipairs(rules:list(family)) do
		if r.priority == conf.priority then
			if want and not keep and is_failover_rule(r, conf) then
				keep = r
			else
				-- a stale copy, a duplicate or a foreign rule squatting our priority
				rules:del{family = family, table = r.table, priority = conf.priority}
				changes = changes + 1
			end
		end
	end
	if want and not keep then
		rules:add{family = family, table = conf.table, priority = conf.priority}
		changes = changes + 1
	end
	return want, changes
end

-- The event path: one request, no dump. A duplicate or a stale copy is left to sync_rule,
-- which the daemon runs right after. Returns the number of changes made (0 or 1).
-- A refused request is judged by what the kernel shows, not by its error name (every error
-- reads "(efault)" before kernel 6.7): a rule already there, or already gone, is no failure.
function fib:set_rule(family, want)
	local conf = self.conf
	local rule = {family = family, table = conf.table, priority = conf.priority}
	local ok, err = pcall(want and self.rules.add or self.rules.del, self.rules, rule)
	if ok then
		return 1
	elseif self:rule_present(family) == want then
		return 0
	end
	error(err, 0)
end

function fib:rule_present(family)
	for _, r in ipairs(self.rules:list(family)) do
		if r.priority == self.conf.priority and is_failover_rule(r, self.conf) then
			return true
		end
	end
	return false
end

local function prefix(address, len)
	local ip = string.unpack(">I4", address)
	local mask = len == 0 and 0 or (0xFFFFFFFF << (32 - len)) & 0xFFFFFFFF
	return string.pack(">I4", ip & mask)
end

-- The LAN's connected prefix, as (dst bytes, dst_len, ifindex), or nil if the LAN has none.
function fib:lan()
	local ok, index = pcall(linux.ifindex, self.conf.lan)
	if not ok then
		return nil
	end
	for _, a in ipairs(self.addrs:list(INET)) do
		if a.ifindex == index and a.address then
			return prefix(a.address, a.prefix_len), a.prefix_len, index
		end
	end
end

-- Table T: the LAN prefix on the LAN interface and one default route via `elected`.
function fib:sync_table(elected)
	local conf, routes = self.conf, self.routes
	local gw = string.pack(">I4", net.aton(elected))
	local dst, dst_len, oif = self:lan()
	local have_lan, have_default = false, false
	for _, r in ipairs(routes:list(INET)) do
		if r.table == conf.table then
			if r.dst_len == 0 then
				if r.gateway == gw and not have_default then
					have_default = true
				else
					routes:del{family = INET, table = conf.table, dst_len = 0, gateway = r.gateway, oif = r.oif}
				end
			elseif dst and r.dst == dst and r.dst_len == dst_len and r.oif == oif then
				have_lan = true
			end
		end
	end
	if dst and not have_lan then
		routes:add{family = INET, table = conf.table, dst = dst, dst_len = dst_len, oif = oif, scope = scope.LINK}
	end
	if not have_default then
		-- The gateway sits on the LAN: without the LAN prefix route this add fails with
		-- ENETUNREACH, which the caller reports and retries.
		routes:add{family = INET, table = conf.table, gateway = gw, oif = oif}
	end
end

-- An IPv6 prefix as a table key: its bytes and its length.
local function key6(dst, dst_len)
	return dst .. string.char(dst_len)
end

-- The LAN's global and ULA IPv6 prefixes (scope universe: link-local addresses are scope link),
-- each once, by key6, and the LAN's ifindex (nil if there is no LAN).
function fib:lan6()
	local ok, index = pcall(linux.ifindex, self.conf.lan)
	if not ok then
		return {}, nil
	end
	local prefixes = {}
	for _, a in ipairs(self.addrs:list(INET6)) do
		if a.ifindex == index and a.address and a.scope == scope.UNIVERSE then
			local dst = inet6.prefix(a.address, a.prefix_len)
			prefixes[key6(dst, a.prefix_len)] = {dst = dst, dst_len = a.prefix_len}
		end
	end
	return prefixes, index
end

-- IPv6 table T: the LAN's prefixes on the LAN interface and one default route via `gw6`
-- (16 bytes; nil: no gateway serves IPv6, so no default). Anything else in T goes.
function fib:sync_table6(gw6)
	local conf, routes = self.conf, self.routes
	local wanted, oif = self:lan6()
	local have, have_default = {}, false
	for _, r in ipairs(routes:list(INET6)) do
		if r.table == conf.table then
			local key = r.dst_len > 0 and r.dst and key6(r.dst, r.dst_len)
			if r.dst_len == 0 and gw6 and r.gateway == gw6 and r.oif == oif and not have_default then
				have_default = true
			elseif key and wanted[key] and not r.gateway and r.oif == oif and not have[key] then
				have[key] = true
			else
				routes:del{family = INET6, table = conf.table, dst = r.dst, dst_len = r.dst_len,
					gateway = r.gateway, oif = r.oif}
			end
		end
	end
	for key, p in pairs(wanted) do
		if not have[key] then
			routes:add{family = INET6, table = conf.table, dst = p.dst, dst_len = p.dst_len, oif = oif}
		end
	end
	if gw6 and oif and not have_default then
		routes:add{family = INET6, table = conf.table, gateway = gw6, oif = oif}
	end
end

return fib
