local lunatik = require("lunatik")
local thread = require("thread")
local notifier = require("notifier")
local inet = require("socket.inet")
local fib = require("fib")
local rcu = require("rcu")
local conf = require("failover.conf")

local netdev = notifier.netdev
local notify = notifier.notify

local elected = rcu.table(8)
rcu.publish("elected", elected)

local function alt_gateway(state)
    local client <close> = inet.tcp()
    client:connect(elected.ip, conf.port)
    client:send(state)
end

local state = "down"
local function failover(event, ifname)
    if ifname ~= conf.wan then return notify.OK end

    if event == netdev.UP then
        state = "up"
    elseif event == netdev.CHANGE then
        if state == "up" then
            state = "down"
            fib.newrule(conf.table_id, conf.priority)
            alt_gateway("up")
        else
            state = "up"
            fib.delrule(conf.table_id, conf.priority)
            alt_gateway("down")
        end
    end
end

notifier.netdevice(failover)

local daemon = "failover/daemon"
thread.run(lunatik.runtime(daemon), daemon)
