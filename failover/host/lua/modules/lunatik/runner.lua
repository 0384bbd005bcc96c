-- require("lunatik.runner"): what the lunatik tool calls; backed by the host's script registry.
local backend, lib = ...
local check = lib.check

local runner = {}

function runner.run(script, context)
	return check(backend.runner_run(script, context))
end

function runner.spawn(script)
	return check(backend.runner_spawn(script))
end

function runner.stop(script)
	return check(backend.runner_stop(script))
end

function runner.list()
	return check(backend.runner_list())
end

return runner
