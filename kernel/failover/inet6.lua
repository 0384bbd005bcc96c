--
-- failover/inet6: IPv6 addresses as the FIB wants them (16 network-order bytes) and prefixes.
-- Lunatik's `net` helpers know IPv4 only. Integers only; the dotted IPv4 tail form
-- (`::ffff:1.2.3.4`) is not taken: the config writes addresses in their canonical form.
--
local inet6 = {}

local function groups(part)
	local list = {}
	if part == "" then
		return list
	end
	for group in (part .. ":"):gmatch("([^:]*):") do
		if not group:match("^%x%x?%x?%x?$") then
			return nil
		end
		table.insert(list, tonumber(group, 16))
	end
	return list
end

-- The 16 bytes of `text`, or nil if it is not an IPv6 address.
function inet6.pton(text)
	if type(text) ~= "string" or #text > 39 or not text:find(":", 1, true) then
		return nil
	end
	local head, tail = text:match("^(.-)::(.*)$")
	local before, after
	if head then
		if tail:find("::", 1, true) then
			return nil
		end
		before, after = groups(head), groups(tail)
		if not before or not after or #before + #after > 7 then
			return nil
		end
	else
		before, after = groups(text), {}
		if not before or #before ~= 8 then
			return nil
		end
	end
	local words = {}
	for _, w in ipairs(before) do
		table.insert(words, w)
	end
	for _ = 1, 8 - #before - #after do
		table.insert(words, 0)
	end
	for _, w in ipairs(after) do
		table.insert(words, w)
	end
	return string.pack(">I2I2I2I2I2I2I2I2", table.unpack(words))
end

-- `address` (16 bytes) with the bits past `len` cleared.
function inet6.prefix(address, len)
	local out = {}
	for i = 1, 16 do
		local bits = math.max(0, math.min(8, len - (i - 1) * 8))
		local mask = (0xFF << (8 - bits)) & 0xFF
		out[i] = string.char(address:byte(i) & mask)
	end
	return table.concat(out)
end

return inet6
