-- How many entries a bounded group holds, after those past their time have left it.
-- KEYS: ranks, expiries, visited, bounds, use counts.
-- Returns the count.
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)) do
  redis.call('ZREM', KEYS[1], member)
  redis.call('ZREM', KEYS[2], member)
  redis.call('SREM', KEYS[3], member)
  redis.call('HDEL', KEYS[4], member)
  redis.call('HDEL', KEYS[5], member)
end
return redis.call('ZCARD', KEYS[1])
