-- Store a computed entry if, and only if, its fill still holds the lease: it was neither
-- taken over nor invalidated (an invalidation deletes the lease; see invalidate.lua).
-- KEYS: entry, lease, wait flag (one hash slot).
-- ARGV: token, entry bytes, ttl milliseconds ('0': none), channel, largest entry to
--       publish.
-- Returns 1 when stored, 0 when not.
local lease = redis.call('GET', KEYS[2])
if not lease then
  return 0
end
local sep = string.find(lease, ':', 1, true)
if not sep or string.sub(lease, 1, sep - 1) ~= ARGV[1] then
  return 0
end
local ttl = tonumber(ARGV[3])
if ttl == 0 then
  redis.call('SET', KEYS[1], ARGV[2])
else
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ttl)
end
redis.call('DEL', KEYS[2])
if redis.call('DEL', KEYS[3]) == 1 then
  -- Somebody waits: hand it the entry, or tell it to read a large one.
  if #ARGV[2] <= tonumber(ARGV[5]) then
    redis.call('PUBLISH', ARGV[4], 'V' .. #KEYS[1] .. ':' .. KEYS[1] .. ARGV[2])
  else
    redis.call('PUBLISH', ARGV[4], 'K' .. #KEYS[1] .. ':' .. KEYS[1])
  end
end
return 1
