-- Store a computed entry if, and only if, the caller still holds the lease: a computation
-- that was overtaken (its lease expired and was taken over) or invalidated stores nothing.
-- KEYS: entry, lease, wait flag.
-- ARGV: token, entry bytes, ttl milliseconds ('0': none), channel, largest entry to publish.
-- Returns 1 when stored, 0 when the lease was no longer ours.
if redis.call('GET', KEYS[2]) ~= ARGV[1] then
  return 0
end
if ARGV[3] == '0' then
  redis.call('SET', KEYS[1], ARGV[2])
else
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
end
redis.call('DEL', KEYS[2])
if redis.call('DEL', KEYS[3]) == 1 then
  -- Waiters exist: hand them the entry itself when it is small, else tell them to read it.
  local header = #KEYS[1] .. ':' .. KEYS[1]
  if #ARGV[2] <= tonumber(ARGV[5]) then
    redis.call('PUBLISH', ARGV[4], 'V' .. header .. ARGV[2])
  else
    redis.call('PUBLISH', ARGV[4], 'K' .. header)
  end
end
return 1
