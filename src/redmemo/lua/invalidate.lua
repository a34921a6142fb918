-- Invalidate entries by key, and everything registered under indexes (tags, dependencies,
-- a function's or a node's entries), atomically.
-- For each entry: delete it with its lease, so that a computation already running cannot
-- store its outdated result, and wake its waiters to compute anew. For each index: do the
-- same for its members, delete it, and leave a marker with the server time, which stops
-- computations of members that were not stored yet (see store.lua).
-- KEYS: entries..., then indexes... ARGV: channel, number of entries, marker milliseconds.
-- Returns the number of entries that existed.
local channel = ARGV[1]
local entries = tonumber(ARGV[2])
local marker_ms = ARGV[3]

local function lease_of(key)
  -- The lease shares the entry's hash slot: the entry's own hash tag if it has one,
  -- else the whole entry key as the tag (leases.py: lease_keys).
  local open = string.find(key, '{', 1, true)
  if open then
    local close = string.find(key, '}', open + 1, true)
    if close and close > open + 1 then
      return key .. ':lease'
    end
  end
  return '{' .. key .. '}:lease'
end

local removed = 0
local doomed, leases = {}, {}
local function flush()
  -- Many keys per call: a tag of 100 000 entries costs hundreds of calls, not 300 000.
  if #doomed > 0 then
    removed = removed + redis.call('UNLINK', unpack(doomed))
    redis.call('UNLINK', unpack(leases))
    doomed, leases = {}, {}
  end
end
local function drop(key)
  local lease = lease_of(key)
  doomed[#doomed + 1] = key
  leases[#leases + 1] = lease
  if redis.call('DEL', lease .. ':w') == 1 then
    redis.call('PUBLISH', channel, 'W' .. #key .. ':' .. key)
  end
  if #doomed >= 500 then
    flush()
  end
end

for i = 1, entries do
  drop(KEYS[i])
end
if #KEYS > entries then
  local t = redis.call('TIME')
  local now = t[1] * 1000000 + t[2]  -- microseconds, as lease starts (lease.lua)
  for i = entries + 1, #KEYS do
    local members = redis.call('ZRANGE', KEYS[i], 0, -1)
    for _, key in ipairs(members) do
      drop(key)
    end
    redis.call('DEL', KEYS[i])
    redis.call('SET', KEYS[i] .. ':inv', now, 'PX', marker_ms)
  end
end
flush()
return removed
