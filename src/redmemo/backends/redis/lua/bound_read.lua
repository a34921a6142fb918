-- A read of a bounded entry whose policy records hits (lru, lru-t, mru, lfu, sieve),
-- sent now and then instead of a plain GET: it records the hits this process saw since
-- the last such call (ARGV[2..]), then reads the entry and records this one, in one
-- round trip. Policies: core/policies.py.
-- KEYS: entry, ranks, counters, visited, use counts. ARGV: policy, keys used since.
-- Returns the entry, or nil.
local ranks, meta, visited, freq, policy = KEYS[2], KEYS[3], KEYS[4], KEYS[5], ARGV[1]
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local function touch(member)
  if not redis.call('ZSCORE', ranks, member) then
    return
  end
  if policy == 'lru' or policy == 'mru' then
    redis.call('ZADD', ranks, redis.call('HINCRBY', meta, 'seq', 1), member)
  elseif policy == 'lru-t' then
    redis.call('ZADD', ranks, now, member)
  elseif policy == 'lfu' then
    -- LFU-DA: (age + uses) * span + last use (core/policies.py, LFU_SPAN).
    local uses = redis.call('HINCRBY', freq, member, 1)
    local age = tonumber(redis.call('HGET', meta, 'age') or '0')
    local last = redis.call('HINCRBY', meta, 'seq', 1) % 2097152
    redis.call('ZADD', ranks, string.format('%.0f', (age + uses) * 2097152 + last), member)
  elseif policy == 'sieve' then
    redis.call('SADD', visited, member)
  end
end
for i = 2, #ARGV do
  touch(ARGV[i])
end
local value = redis.pcall('GET', KEYS[1])
if type(value) ~= 'string' then
  return nil
end
touch(KEYS[1])
return value
