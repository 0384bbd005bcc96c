--
-- failover/daemon: owns the failover rule and table, tells gateways "up"/"down", serves the
-- control socket. Spawned first (`lunatik spawn failover/daemon`); failover/notifier then wakes
-- it on WAN events. All rtnetlink work happens here, in the thread, never in the callback.
--
-- The WAN counts as up while it is administratively up, has carrier, and its path check (the
-- sidecar's `path` verdict) says up. While it is down: rule P -> T exists once, T holds the LAN
-- prefix and `default via <elected>`, and only the elected gateway is "up".
--
-- IPv6 is a second family over the same link, with the same P and T: its own path verdict
-- (`path6`), failover, rule and table (the LAN's IPv6 prefixes and `default via <address6>` of
-- the gateway serving IPv6: the sidecar's choice (`serve6`) while it can be told, else the
-- elected one if it has an address6, else the first usable one that has). A family without targets of its own follows the other family's verdict; carrier
-- or admin loss fails both at once. Without any gateway address6, IPv6 is left alone.
--
local lunatik    = require("lunatik")
local sock       = require("linux.socket")
local thread     = require("thread")
local rcu        = require("rcu")
local completion = require("completion")
local conf       = require("failover.conf")
local fib        = require("failover.fib")
local gateway    = require("failover.gateway")
local control    = require("failover.control")
local decision   = require("failover.decision")
local clock      = require("failover.clock")
local inet6      = require("failover.inet6")

local INET, INET6 = sock.af.INET, sock.af.INET6

-- conf.lua carries every field (`failover conf lua` writes them all): one written by an older
-- version that lacks some is refused here, not run on defaults of this script's own.
assert(conf.refresh_ms and conf.dampening, "failover.conf lacks refresh_ms or dampening: generate it again")

local IDLE_MS = 10        -- control socket latency bound while nothing happens
local BUSY_MS = 1         -- while a gateway exchange is in flight
local RECONCILE_MS = 1000 -- full convergence even without events (self-healing)
local SETTLE_MS = 100     -- full convergence this long after an event, once the fast path is done

-- Every deadline below (and the gateways' and control clients') runs on this clock, which
-- ignores steps of the wall clock: this loop never sleeps longer than IDLE_MS.
clock.start(IDLE_MS)

-- Shared with failover/notifier: the wake-up and an event counter.
local shared = rcu.table(8)
local wake = completion.new()
shared.wake = wake
shared.events = 0
lunatik._ENV.failover = shared

local ctl = control.listen(conf.socket)

-- By IPv4 address (the gateway's name on the control socket) and by IPv6 address bytes.
local gateways, gateways6, order = {}, {}, {}
for i, g in ipairs(conf.gateways) do
	local gw = gateway.new(g.name, g.address, conf.port, conf.key, conf.refresh_ms)
	gw.address6, gw.gw6 = g.address6, g.address6 and inet6.pton(g.address6)
	gateways[g.address] = gw
	if gw.gw6 then
		gateways6[gw.gw6] = gw
	end
	order[i] = gw
end

-- The WAN's inputs and the failover decision (with dampening): the pure core `failover replay`
-- runs too. One per family (older conf.lua files: no IPv6 targets). A family without path-check
-- targets of its own follows the other's verdict; with targets in neither, IPv6 follows IPv4.
local judged4, judged6 = conf.probe ~= nil, conf.probe6 ~= nil
local wan = decision.new(conf, judged4)
local wan6 = decision.new(conf, judged6)
if not judged6 then
	wan6.follows = wan
elseif not judged4 then
	wan.follows = wan6
end

local state = {
	elected = conf.gateways[1].address,
	rule = false, rule6 = false, changes = 0,
	server6 = nil,        -- the gateway serving IPv6 (its IPv4 address), nil: none has an address6
	chosen6 = nil,        -- the sidecar's choice for IPv6 (`serve6`), nil until it speaks
}

local dirty = true    -- a control command changed the wanted state
local woken = false   -- the notifier reported a WAN event

local function updown(b)
	return b and "up" or "down"
end

local function log(fmt, ...)
	print(string.format("failover: " .. fmt, ...))
end

-- Gateways that cannot be told (their last exchanges failed), for the sidecar's election.
local function unreachable()
	local list = {}
	for _, gw in ipairs(order) do
		if gw:unusable() then
			table.insert(list, gw.address)
		end
	end
	return #list > 0 and table.concat(list, ",") or "none"
end

local function onoff(b)
	return b and "on" or "off"
end

local function presence(b)
	return b and "present" or "absent"
end

local function state_line()
	return string.format("ok wan=%s carrier=%s path=%s failover=%s elected=%s rule=%s changes=%d unreachable=%s"
		.. " wan6=%s path6=%s failover6=%s rule6=%s",
		updown(wan:up()), updown(wan.carrier), updown(wan.path), onoff(wan.failover),
		state.elected or "none", presence(state.rule), state.changes, unreachable(),
		updown(wan6:up()), updown(wan6.path), onoff(wan6.failover), presence(state.rule6))
end

local function ipv4(s)
	local a, b, c, d = s:match("^(%d%d?%d?)%.(%d%d?%d?)%.(%d%d?%d?)%.(%d%d?%d?)$")
	if not a then
		return nil
	end
	for _, octet in ipairs{a, b, c, d} do
		if tonumber(octet) > 255 then
			return nil
		end
	end
	return s
end

-- The gateway an address names, IPv4 or IPv6; nil, reason if none.
local function named(arg)
	local v4 = arg and ipv4(arg)
	local v6 = arg and not v4 and inet6.pton(arg)
	if not v4 and not v6 then
		return nil, "malformed address"
	end
	local gw = v4 and gateways[v4] or v6 and gateways6[v6]
	if not gw then
		return nil, "unknown gateway " .. arg
	end
	return gw
end

-- The gateway serving IPv6: the sidecar's choice while it can be told (the sidecar sees the
-- IPv6 heartbeats), else the elected one if it has an address6 and can be told, else the first
-- in the config's order that can; logged with the reason when it changes.
local function choose_server6()
	local elected = gateways[state.elected]
	local sidecar = state.chosen6 and gateways[state.chosen6]
	local chosen, why = nil, nil
	if sidecar and not sidecar:unusable() then
		chosen, why = sidecar, "the sidecar's choice"
	elseif elected and elected.gw6 and not elected:unusable() then
		chosen, why = elected, "elected"
	else
		for _, gw in ipairs(order) do
			if gw.gw6 and not gw:unusable() then
				chosen = gw
				why = (elected and elected.gw6) and "the elected gateway is unreachable" or "the elected gateway has no address6"
				break
			end
		end
	end
	local address = chosen and chosen.address
	if address ~= state.server6 then
		log("ipv6 via %s (%s)", chosen and chosen.address6 or "none", why or "no usable gateway has an address6")
		state.server6 = address
	end
	return chosen
end

local commands = {}

function commands.state(arg)
	if arg then
		return "err state takes no argument"
	end
	return state_line()
end

function commands.elect(arg)
	local gw, why = named(arg)
	if not gw then
		return why == "malformed address" and "err usage: elect <ipv4|ipv6>" or "err " .. why
	end
	local address = gw.address
	if address ~= state.elected then
		log("elected %s (was %s)", address, state.elected)
		state.elected = address
		dirty = true
	end
	return "ok"
end

-- The sidecar's choice of the gateway serving IPv6 (failover/core/election.py serve_ipv6: the
-- elected one unless it has no address6 or its IPv6 heartbeat is down).
function commands.serve6(arg)
	local gw, why = named(arg)
	if not gw then
		return why == "malformed address" and "err usage: serve6 <ipv4|ipv6>" or "err " .. why
	end
	if not gw.gw6 then
		return "err gateway " .. arg .. " has no address6"
	end
	if gw.address ~= state.chosen6 then
		state.chosen6 = gw.address
		dirty = true
	end
	return "ok"
end

-- The sidecar saw the gateway's heartbeat come back after a loss: it may have restarted and
-- forgotten its state, so it is told again now.
function commands.reassert(arg)
	local gw, why = named(arg)
	if not gw then
		return why == "malformed address" and "err usage: reassert <ipv4|ipv6>" or "err " .. why
	end
	gw:reassert()
	return "ok"
end

-- The sidecar's path check verdicts, IPv4 and IPv6 (failover/decision says what a first
-- "down" means).
local function verdict(name, family, arg)
	if arg ~= "up" and arg ~= "down" then
		return "err usage: " .. name .. " up|down"
	end
	if family:set_path(arg == "up") then
		log("%s %s", name, arg)
		woken = true
	end
	return "ok"
end

function commands.path(arg)
	return verdict("path", wan, arg)
end

function commands.path6(arg)
	return verdict("path6", wan6, arg)
end

-- One request line: a lowercase verb, then at most one argument after a single space.
local function handle(line)
	local verb, rest = line:match("^(%l+%d?)(.*)$")
	local command = verb and commands[verb]
	if not command then
		return "err unknown command"
	end
	local arg = nil
	if rest ~= "" then
		arg = rest:match("^ (%S+)$")
		if not arg then
			return "err malformed arguments"
		end
	end
	return command(arg)
end

local now_ms = clock.now

-- IPv6 fails over only to a gateway that serves it.
local function wanted6(now)
	local want = wan6:wanted(now)
	return want and state.server6 ~= nil
end

local function tell_gateways()
	for _, gw in ipairs(order) do
		local up = (wan.failover and gw.address == state.elected)
			or (wan6.failover and gw.address == state.server6)
		gw:want(up and "up" or "down")
	end
end

local function transition(want, want6)
	if want ~= wan.failover then
		wan.failover = want
		log("failover %s (admin=%s carrier=%s path=%s) via %s", onoff(want),
			updown(wan.admin), updown(wan.carrier), updown(wan:path_up()), state.elected)
	end
	if want6 ~= wan6.failover then
		wan6.failover = want6
		log("failover6 %s (admin=%s carrier=%s path6=%s) via %s", onoff(want6),
			updown(wan6.admin), updown(wan6.carrier), updown(wan6:path_up()), state.server6 or "none")
	end
	tell_gateways()
end

local function read_wan(fibs)
	local ok, admin, carrier = pcall(fibs.wan, fibs)
	if ok then
		wan:link(admin, carrier)
		wan6:link(admin, carrier)
	else
		log("cannot read the WAN link: %s", admin)
	end
end

local rule_field = {[INET] = "rule", [INET6] = "rule6"}
local family_name = {[INET] = "ipv4", [INET6] = "ipv6"}

-- One rule request for the family, if its failover changes.
local function set_rule(fibs, family, want, current)
	if want == current then
		return
	end
	local ok, changes = pcall(fibs.set_rule, fibs, family, want)
	if ok then
		state[rule_field[family]], state.changes = want, state.changes + changes
	else
		log("%s rule %d not %s: %s", family_name[family], conf.priority, want and "added" or "removed", changes)
	end
end

-- After a WAN event: one link dump and at most one rule request per family, then the gateways.
-- Table T is kept ready at all times by converge, so the rule is all failover needs.
local function react(fibs)
	read_wan(fibs)
	local now = now_ms()
	local want, want6 = wan:wanted(now), wanted6(now)
	if want == wan.failover and want6 == wan6.failover then
		return
	end
	set_rule(fibs, INET, want, wan.failover)
	set_rule(fibs, INET6, want6, wan6.failover)
	transition(want, want6)
end

local function sync_rule(fibs, family, want)
	local ok, present, changes = pcall(fibs.sync_rule, fibs, family, want)
	if ok then
		state[rule_field[family]], state.changes = present, state.changes + changes
	else
		log("%s rule %d not converged: %s", family_name[family], conf.priority, present)
		local lok, now_present = pcall(fibs.rule_present, fibs, family)
		state[rule_field[family]] = lok and now_present
	end
end

-- Everything, from dumps: table T of each family, exactly one rule per failed-over family, the
-- gateways' states.
local function converge(fibs)
	read_wan(fibs)
	local server6 = choose_server6()
	local now = now_ms()
	local want, want6 = wan:wanted(now), wanted6(now)
	local tok, err = pcall(fibs.sync_table, fibs, state.elected)
	if not tok then
		log("table %d not converged: %s", conf.table, err)
	end
	if next(gateways6) then
		local tok6, err6 = pcall(fibs.sync_table6, fibs, server6 and server6.gw6)
		if not tok6 then
			log("ipv6 table %d not converged: %s", conf.table, err6)
		end
	end
	sync_rule(fibs, INET, want)
	if next(gateways6) or state.rule6 then
		sync_rule(fibs, INET6, want6)
	end
	transition(want, want6)
end

local function poll_gateways()
	local busy = false
	for _, gw in ipairs(order) do
		if gw:poll() then
			busy = true
		end
	end
	return busy
end

-- A rule left by a daemon that died (a crash, a stop while failed over) means it was failed
-- over, perhaps in the failback hold: carry on failed over, so that failback waits for the
-- clean time counted from now instead of happening at once.
local function resume(fibs)
	local ok, present = pcall(fibs.rule_present, fibs, INET)
	if ok and present then
		wan.failover, state.rule = true, true
		log("rule %d present at start: failed over, failback after %d ms of clean WAN",
			conf.priority, wan.damp.conf.min_clean_ms)
	elseif not ok then
		log("cannot read the rules at start: %s", present)
	end
	local ok6, present6 = pcall(fibs.rule_present, fibs, INET6)
	if ok6 and present6 and next(gateways6) then
		wan6.failover, state.rule6 = true, true
		log("ipv6 rule %d present at start: failed over", conf.priority)
	end
end

return function()
	local fibs <close> = fib.open(conf)
	log("daemon started: wan=%s table=%d priority=%d elected=%s", conf.wan, conf.table, conf.priority, state.elected)
	resume(fibs)
	local next_reconcile = 0
	while not thread.shouldstop() do
		ctl:poll(handle)
		if wan:failback(now_ms()) or wan6:failback(now_ms()) then
			woken = true   -- the WAN has been clean long enough: fail back now
		end
		if woken then
			woken = false
			react(fibs)
			next_reconcile = math.min(next_reconcile, now_ms() + SETTLE_MS)
		end
		if dirty or now_ms() >= next_reconcile then
			dirty = false
			converge(fibs)
			next_reconcile = now_ms() + RECONCILE_MS
		end
		local busy = poll_gateways()
		if wake:wait(busy and BUSY_MS or IDLE_MS) then
			woken = true
		end
	end
	for _, gw in ipairs(order) do
		gw:close()
	end
	ctl:close()
	log("daemon stopped")
end
