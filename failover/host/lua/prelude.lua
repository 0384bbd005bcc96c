-- Runs first in every runtime the host creates: makes the state look like kernel Lua
-- (no io/os, print one line per argument) and gives the host's Lua modules their object
-- system. Arguments: the Python side of this runtime (`host`) and the path of this folder.
local host, libdir, scriptroot = ...

local getinfo = debug.getinfo
local type = type   -- the stock type(): the global one is replaced below
local handles = setmetatable({}, {__mode = "k"})   -- proxy -> Python object
local classes = {}                                  -- lua_class -> metatable

local lib = {}

local efault, errnames = host.efault, host.errnames

-- A class's module opened straight from the preload table, as lunatik_require does with
-- luaL_requiref: no searcher, no file, so it works whatever a script did to package.searchers.
local loaded, preloaded = package.loaded, package.preload
local function requiref(name)
	local m = loaded[name]
	if m == nil then
		m = preloaded[name](name)
		loaded[name] = m == nil and true or m
	end
	return m
end

-- Results of a Python function: (true, ...) or (false, message). Before kernel 6.7 an errno
-- name reads "(efault)" (host.efault set: a profile with the pre-6.7 error style).
function lib.check(ok, ...)
	if not ok then
		local message = ...
		if efault and errnames[message] then
			message = efault
		end
		error(message, 0)
	end
	return lib.out(...)
end

local function wrapone(v)
	if type(v) == "userdata" then
		return lib.wrap(v)
	end
	return v
end

-- Python objects in results become proxies with their class's metatable.
function lib.out(...)
	local n = select("#", ...)
	if n == 0 then return end
	if n == 1 then return wrapone((...)) end
	local t = table.pack(...)
	for i = 1, t.n do t[i] = wrapone(t[i]) end
	return table.unpack(t, 1, t.n)
end

function lib.wrap(h)
	local mt = classes[h.lua_class]
	if not mt then
		requiref(h.lua_module)   -- the module that defines the class registers it
		mt = classes[h.lua_class]
	end
	if not mt then
		error("host object of unknown class", 2)
	end
	if host.irq and not h.irq_safe then   -- lunatik_cloneobject's lunatik_checkclass
		error(string.format("'%s': process-context class in interrupt-context runtime", h.kernel_class), 0)
	end
	local o = setmetatable({}, mt)
	handles[o] = h
	return o
end

function lib.handle(o)
	return type(o) == "table" and handles[o] or nil
end

-- A proxy argument is passed to Python as its object; anything else as itself.
function lib.unwrap(v)
	return type(v) == "table" and handles[v] or v
end

-- Self of a method: a proxy of the right class, or an argument error like luaL_checkudata's.
function lib.self(o, class, fname)
	local h = type(o) == "table" and handles[o]
	if not h or h.lua_class ~= class then
		error(string.format("bad argument #1 to '%s' (%s expected)", fname, class), 3)
	end
	return h
end

function lib.class(name, mt)
	mt.__name = name
	classes[name] = mt
	return mt
end

-- The metatable of a class, for a file that adds methods to a module's class (talk-era names).
function lib.classof(name)
	return classes[name]
end

-- The location of the innermost frame of a script (not of the host's own modules), so a
-- bare "EEXIST" raised inside a host module is still reported at the script line that called it.
local function scriptframe()
	for level = 3, 40 do
		local info = getinfo(level, "Sl")
		if not info then break end
		if info.currentline and info.currentline > 0 and info.source:sub(1, 1) == "@"
			and info.source:sub(2, #libdir + 1) ~= libdir then
			return info.short_src .. ":" .. info.currentline
		end
	end
end

local function handler(msg)
	if type(msg) ~= "string" then
		msg = tostring(msg)
	end
	if not msg:find("^[^\n]*:%d+:") then
		local where = scriptframe()
		if where then msg = where .. ": " .. msg end
	end
	return msg
end

-- Runs f(...) and reports instead of propagating: used for callbacks and thread bodies.
function lib.pcall(f, ...)
	return xpcall(f, handler, ...)
end

-- Compiles Lua text as the kernel's Lua would (host/kernelsource.py): '/' floors, and '^' or
-- a float literal is a syntax error. Returns the chunk, or nil and the message, as load does.
local rawload = load
local function kernelload(source, chunkname, mode, env)
	if type(source) == "function" then
		local parts = {}
		for part in source do
			if part == "" then break end
			parts[#parts + 1] = part
		end
		source = table.concat(parts)
	end
	if type(source) == "string" and source:sub(1, 1) ~= "\27" then
		local ok, text = host.kernelsource(source, chunkname)
		if not ok then
			return nil, text
		end
		source = text
	end
	if env ~= nil then
		return rawload(source, chunkname, mode, env)
	end
	return rawload(source, chunkname, mode)
end

function load(chunk, chunkname, mode, env)
	if chunkname == nil then
		chunkname = type(chunk) == "string" and chunk or "=(load)"
	end
	return kernelload(chunk, chunkname, mode, env)
end

-- Loads and runs a script's top level; returns ok, entry-or-message.
function lib.runscript(source, chunkname)
	local chunk, err = kernelload(source, chunkname, "t")
	if not chunk then
		return false, err
	end
	return xpcall(chunk, handler)
end

-- runtime:resume, as lua_resume on the runtime's state: the entry runs as a coroutine; if it
-- yields, the next resume continues it, the objects given becoming coroutine.yield's results.
local suspended   -- this runtime's yielded coroutine, if any
function lib.resume(entry, ...)
	local args = table.pack(...)
	local ok, err = xpcall(function()
		for i = 1, args.n do
			if args[i].single then   -- lunatik_cloneobject
				error(string.format("'%s': cannot share SINGLE object", args[i].kernel_class), 0)
			end
			args[i] = lib.wrap(args[i])
		end
	end, handler)
	if not ok then
		return false, err
	end
	local co = suspended
	suspended = nil
	if co == nil then
		co = coroutine.create(function(...) return xpcall(entry, handler, ...) end)
	end
	local res = table.pack(coroutine.resume(co, table.unpack(args, 1, args.n)))
	if not res[1] then
		return false, res[2]
	end
	if coroutine.status(co) == "suspended" then
		suspended = co
		return true
	end
	return table.unpack(res, 2, res.n)   -- xpcall's: ok, first result or message
end

-- Lunatik objects are userdata in the kernel (scripts and Lunatik's libraries test for it,
-- e.g. mailbox.lua); here they are proxy tables, so type() reports them as userdata.
_G.type = function(v)
	local t = type(v)
	if t == "table" and handles[v] then
		return "userdata"
	end
	return t
end

-- Kernel Lua logs one line per argument of print.
print = function(...)
	for i = 1, select("#", ...) do
		host.print(tostring((select(i, ...))))
	end
end

-- As Lunatik 4.4 opens the libraries: no os, debug without debug.debug, and io only in a process
-- runtime, cut down to open/lines/type and file read/write/lines/flush/seek/close, every failure
-- reading "I/O error" (Lunatik's README, "Lua API").
local stockio = io
os, dofile, loadfile, python, io = nil, nil, nil, nil, nil
debug.debug = nil
_VERSION = "Lua 5.5-kernel"
if not host.irq then
	local function ioerror(f, ...)
		if f == nil then return nil, "I/O error", select(2, ...) end
		return f, ...
	end
	local filemt = getmetatable(stockio.stdout)
	filemt.__index.setvbuf = nil
	io = {
		open = function(...) return ioerror(stockio.open(...)) end,
		lines = function(name, ...)
			if name == nil then error("bad argument #1 to 'lines' (string expected, got no value)", 2) end
			return stockio.lines(name, ...)
		end,
		type = stockio.type,
	}
end
local gc = collectgarbage
collectgarbage = function(opt, ...)
	if opt == "count" then   -- in bytes, an integer, as Lunatik's LUNATIK_GCCOUNT
		return math.tointeger(gc("count") * 1024 // 1)
	end
	return gc(opt, ...)
end

-- Kernel Lua converts strings to integers only: tonumber("1.5") fails there, and so does
-- arithmetic on "1.5" (the string metamethods convert with the same rule).
local mathtype, rawtonumber = math.type, tonumber
function tonumber(v, base)
	local n
	if base == nil then n = rawtonumber(v) else n = rawtonumber(v, base) end
	if mathtype(n) == "float" then return nil end
	return n
end
local strmt = getmetatable("")
strmt.__div, strmt.__pow = nil, nil   -- absent from the kernel's string library
for _, event in ipairs{"__add", "__sub", "__mul", "__mod", "__idiv", "__unm"} do
	local arith = strmt[event]
	strmt[event] = function(a, b)
		for _, v in ipairs{a, b} do
			if type(v) == "string" and tonumber(v) == nil then
				error("attempt to perform arithmetic on a string value", 2)
			end
		end
		return arith(a, b)
	end
end

-- The kernel's math library has no float functions (lmathlib.c under _KERNEL).
local kernelmath = {abs = true, tointeger = true, ult = true, max = true, min = true,
	maxinteger = true, mininteger = true}
for name in pairs(math) do
	if not kernelmath[name] then math[name] = nil end
end
package.cpath = ""
package.path = libdir .. "/lib/?.lua;" .. scriptroot .. "/?.lua;" .. scriptroot .. "/?/init.lua"

-- Lua files found on package.path are read as the kernel reads them; an interrupt-context
-- runtime cannot read files once it is ready (lunatik_loadfile).
package.searchers[2] = function(name)
	local path, err = package.searchpath(name, package.path)
	if not path then
		return "\n\t" .. err
	end
	local ok, why = host.canloadfile()
	if not ok then
		error(string.format("error loading module '%s' from file '%s':\n\t%s", name, path, why), 0)
	end
	local chunk, msg = kernelload(host.readfile(path), "@" .. path, "t")
	if not chunk then
		error(string.format("error loading module '%s' from file '%s':\n\t%s", name, path, msg), 0)
	end
	return chunk, path
end
table.remove(package.searchers, 4)   -- no C modules (all-in-one loader)
table.remove(package.searchers, 3)   -- no C modules

-- Modules with a Python side (host/registry.py): each of the module's files under modules/
-- gets (backend, lib, the module so far) and returns the module.
local preload = package.preload
for name, module in pairs(host.modules) do
	preload[name] = function()
		local m
		for _, file in ipairs(module.files) do
			local path = libdir .. "/modules/" .. file .. ".lua"
			local chunk = assert(load(host.readfile(path), "@" .. path, "t"))
			m = chunk(module.backend, lib, m)
		end
		return m
	end
end

-- Modules given as Lua source (a configuration generated by the host's user).
for name, source in pairs(host.sources) do
	preload[name] = function() return assert(load(source, "=" .. name, "t"))() end
end

for name, tbl in pairs(host.constants) do
	preload[name] = function() return tbl end
end

return lib
