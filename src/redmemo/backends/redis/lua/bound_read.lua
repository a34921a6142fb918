-- A read of a bounded entry whose policy records hits (lru, lru-t, mru, lfu, sieve),
-- sent now and then instead of a plain GET: it records the hits this process saw since
-- the last such call (ARGV[2..]), then reads the entry and records this one, in one
-- round trip. Policies: core/policies.py.
-- KEYS: entry, ranks, counters, visited. ARGV: policy, keys used since.
-- Returns the entry, or nil.
local ranks, meta, visited, policy = KEYS[2], KEYS[3], KEYS[4], ARGV[1]
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
    -- count * span + last use (core/policies.py, LFU_SPAN): ties go to the least recent.
    local count = math.floor(tonumber(redis.call('ZSCORE', ranks, member)) / 2097152)
    local use = redis.call('HINCRBY', meta, 'seq', 1) % 2097152
    redis.call('ZADD', ranks, string.format('%.0f', (count + 1) * 2097152 + use), member)
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
