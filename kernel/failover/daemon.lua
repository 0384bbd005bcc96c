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
-- the gateway serving IPv6: the elected one if it has an address6, else the first usable one
-- that has). A family without targets of its own follows the other family's verdict; carrier
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
local dampening  = require("failover.dampening")
local clock      = require("failover.clock")
local inet6      = require("failover.inet6")

local INET, INET6 = sock.af.INET, sock.af.INET6

local IDLE_MS = 10        -- control socket latency bound while nothing happens
local BUSY_MS = 1         -- while a gateway exchange is in flight
local RECONCILE_MS = 1000 -- full convergence even without events (self-healing)
local SETTLE_MS = 100     -- full convergence this long after an event, once the fast path is done
local REFRESH_MS = 10000  -- gateways are told their state again this often (older conf.lua files)

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
	local gw = gateway.new(g.name, g.address, conf.port, conf.key, conf.refresh_ms or REFRESH_MS)
	gw.address6, gw.gw6 = g.address6, g.address6 and inet6.pton(g.address6)
	gateways[g.address] = gw
	if gw.gw6 then
		gateways6[gw.gw6] = gw
	end
	order[i] = gw
end

-- Older generated conf.lua files have no dampening section: the documented defaults.
local damp_conf = conf.dampening or {
	penalty = 1000, half_life_ms = 15000, suppress = 1500, reuse = 750, max_penalty = 12000, min_clean_ms = 1000,
}
local damp = dampening.new(damp_conf)
local damp6 = dampening.new(damp_conf)   -- IPv6 flaps on its own path count for IPv6 only

local state = {
	admin = false, carrier = false,
	path = true,          -- until the sidecar's heartbeats say otherwise
	elected = conf.gateways[1].address,
	failover = false, rule = false, changes = 0,
	raw = nil,            -- the WAN's own verdict, before dampening
	path6 = true, failover6 = false, rule6 = false, raw6 = nil,
	server6 = nil,        -- the gateway serving IPv6 (its IPv4 address), nil: none has an address6
}

-- Which families have path-check targets of their own (older conf.lua files: IPv4 only).
local judged4 = conf.probe ~= nil
local judged6 = conf.probe6 ~= nil

local dirty = true    -- a control command changed the wanted state
local woken = false   -- the notifier reported a WAN event

local function updown(b)
	return b and "up" or "down"
end

-- A family without targets follows the other family's verdict (its own stays in force too,
-- so that an operator's `path`/`path6` is obeyed).
local function path4()
	return state.path and (judged4 or state.path6 or not judged6)
end

local function path6()
	return state.path6 and (judged6 or state.path)
end

local function wan_up()
	return state.admin and state.carrier and path4()
end

local function wan6_up()
	return state.admin and state.carrier and path6()
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

local function present(b)
	return b and "present" or "absent"
end

local function state_line()
	return string.format("ok wan=%s carrier=%s path=%s failover=%s elected=%s rule=%s changes=%d unreachable=%s"
		.. " wan6=%s path6=%s failover6=%s rule6=%s",
		updown(wan_up()), updown(state.carrier), updown(state.path), onoff(state.failover),
		state.elected or "none", present(state.rule), state.changes, unreachable(),
		updown(wan6_up()), updown(state.path6), onoff(state.failover6), present(state.rule6))
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

-- The gateway serving IPv6: the elected one if it has an address6 and can be told, else the
-- first in the config's order that can; logged with the reason when it changes.
local function choose_server6()
	local elected = gateways[state.elected]
	local chosen, why = nil, nil
	if elected and elected.gw6 and not elected:unusable() then
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

-- With a path check configured the daemon starts assuming the path up; the sidecar's first
-- verdict replaces that assumption. A first "down" (the path check's target not answering yet,
-- say) fails over like any other, but it is the path check finding out, not the WAN flapping:
-- it adds no penalty, or a real outage soon after would be held as a second flap.
local assumed = {path = judged4, path6 = judged6}

local function verdict(name, damper, arg)
	if arg ~= "up" and arg ~= "down" then
		return "err usage: " .. name .. " up|down"
	end
	local up = arg == "up"
	if assumed[name] then
		assumed[name] = false
		if not up then
			damper:unverified()
		end
	end
	if up ~= state[name] then
		log("%s %s", name, arg)
		state[name] = up
		woken = true
	end
	return "ok"
end

function commands.path(arg)
	return verdict("path", damp, arg)
end

function commands.path6(arg)
	return verdict("path6", damp6, arg)
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

-- Failover as wanted now: at once when the WAN is down; back only when dampening allows.
local function wanted()
	local now, raw = now_ms(), wan_up()
	if raw ~= state.raw then
		state.raw = raw
		damp:wan(raw, now)
	end
	if not raw then
		return true
	end
	return state.failover and not damp:failback(now)
end

-- The same for IPv6, which needs a gateway that serves it.
local function wanted6()
	local now, raw = now_ms(), wan6_up()
	if raw ~= state.raw6 then
		state.raw6 = raw
		damp6:wan(raw, now)
	end
	if not state.server6 then
		return false
	elseif not raw then
		return true
	end
	return state.failover6 and not damp6:failback(now)
end

local function tell_gateways()
	for _, gw in ipairs(order) do
		local up = (state.failover and gw.address == state.elected)
			or (state.failover6 and gw.address == state.server6)
		gw:want(up and "up" or "down")
	end
end

local function transition(want, want6)
	if want ~= state.failover then
		state.failover = want
		log("failover %s (admin=%s carrier=%s path=%s) via %s", onoff(want),
			updown(state.admin), updown(state.carrier), updown(path4()), state.elected)
	end
	if want6 ~= state.failover6 then
		state.failover6 = want6
		log("failover6 %s (admin=%s carrier=%s path6=%s) via %s", onoff(want6),
			updown(state.admin), updown(state.carrier), updown(path6()), state.server6 or "none")
	end
	tell_gateways()
end

local function read_wan(fibs)
	local ok, admin, carrier = pcall(fibs.wan, fibs)
	if ok then
		state.admin, state.carrier = admin, carrier
	else
		log("cannot read the WAN link: %s", admin)
	end
end

local rule_field = {[INET] = "rule", [INET6] = "rule6"}
local family_name = {[INET] = "ipv4", [INET6] = "ipv6"}

-- One rule request for the family, if its failover changes.
local function set_rule(fibs, family, want, now)
	if want == now then
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
	local want, want6 = wanted(), wanted6()
	if want == state.failover and want6 == state.failover6 then
		return
	end
	set_rule(fibs, INET, want, state.failover)
	set_rule(fibs, INET6, want6, state.failover6)
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
	local want, want6 = wanted(), wanted6()
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
		state.failover, state.rule = true, true
		log("rule %d present at start: failed over, failback after %d ms of clean WAN",
			conf.priority, damp.conf.min_clean_ms)
	elseif not ok then
		log("cannot read the rules at start: %s", present)
	end
	local ok6, present6 = pcall(fibs.rule_present, fibs, INET6)
	if ok6 and present6 and next(gateways6) then
		state.failover6, state.rule6 = true, true
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
		if (state.failover and state.raw and damp:failback(now_ms()))
			or (state.failover6 and state.raw6 and damp6:failback(now_ms())) then
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
