-- A hit of a bounded entry whose policy records hits (lru, lru-t, mru, lfu, sieve): the
-- entry and the record of its use, in one round trip. Policies: core/policies.py.
-- KEYS: entry, ranks, counters, visited. ARGV: policy.
-- Returns the entry, or nil.
local value = redis.pcall('GET', KEYS[1])
if type(value) ~= 'string' then
  return nil
end
if redis.call('ZSCORE', KEYS[2], KEYS[1]) then
  local policy = ARGV[1]
  if policy == 'lru' or policy == 'mru' then
    redis.call('ZADD', KEYS[2], redis.call('HINCRBY', KEYS[3], 'seq', 1), KEYS[1])
  elseif policy == 'lru-t' then
    local t = redis.call('TIME')
    redis.call('ZADD', KEYS[2], t[1] * 1000 + math.floor(t[2] / 1000), KEYS[1])
  elseif policy == 'lfu' then
    redis.call('ZINCRBY', KEYS[2], 1, KEYS[1])
  elseif policy == 'sieve' then
    redis.call('SADD', KEYS[4], KEYS[1])
  end
end
return value
