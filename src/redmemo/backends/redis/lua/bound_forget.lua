-- Invalidated entries leave their bounded group's bookkeeping (after invalidate.lua,
-- which runs per hash slot and does not know the groups). On one server the entries
-- may be of several slots; on a Redis Cluster a group's entries carry its hash tag
-- (keyspace.grouped), so every key named here is in the group's slot.
-- KEYS: ranks, expiries, visited, bounds, use counts, then the entries.
-- An entry stored again meanwhile (it exists) keeps its bookkeeping.
-- Returns how many entries left.
local left = 0
for i = 6, #KEYS do
  local entry = KEYS[i]
  if redis.call('EXISTS', entry) == 0 and redis.call('HDEL', KEYS[4], entry) == 1 then
    redis.call('ZREM', KEYS[1], entry)
    redis.call('ZREM', KEYS[2], entry)
    redis.call('SREM', KEYS[3], entry)
    redis.call('HDEL', KEYS[5], entry)
    left = left + 1
  end
end
return left
