-- Invalidate entries of one hash slot, and take the members of indexes of that slot,
-- atomically.
-- KEYS: n triples (entry, lease, wait flag), then pairs (index, invalidation marker).
-- ARGV: channel, n, marker milliseconds ('0': leave no marker).
-- Each entry goes with its lease, so that a fill already running cannot store its
-- outdated result, and its waiters are woken to compute anew. Each index is deleted and
-- its members returned, for the caller to invalidate in their own slots; a marker makes
-- register.lua refuse fills that began before now.
-- Returns {number of entries that existed, members of the indexes...}.
local channel, n, marker_ms = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local removed = 0
local entries, leases = {}, {}
local function flush()
  -- Many keys per call (in batches: unpack has a limit).
  if #entries > 0 then
    removed = removed + redis.call('UNLINK', unpack(entries))
    redis.call('UNLINK', unpack(leases))
    entries, leases = {}, {}
  end
end
for i = 1, 3 * n, 3 do
  entries[#entries + 1] = KEYS[i]
  leases[#leases + 1] = KEYS[i + 1]
  if redis.call('DEL', KEYS[i + 2]) == 1 then
    redis.call('PUBLISH', channel, 'W' .. #KEYS[i] .. ':' .. KEYS[i])
  end
  if #entries >= 500 then
    flush()
  end
end
flush()
local out = {0}
local stamp = nil
for i = 3 * n + 1, #KEYS, 2 do
  for _, member in ipairs(redis.call('ZRANGE', KEYS[i], 0, -1)) do
    out[#out + 1] = member
  end
  redis.call('DEL', KEYS[i])
  if marker_ms > 0 then
    if not stamp then
      local t = redis.call('TIME')
      stamp = t[1] .. string.format('%06d', tonumber(t[2]))
    end
    redis.call('SET', KEYS[i + 1], stamp, 'PX', marker_ms)
  end
end
out[1] = removed
return out
