-- A read of a bounded entry whose policy records hits (lru, lru-t, mru, lfu, sieve),
-- sent now and then instead of a plain GET: it records the hits this process saw since
-- the last such call (ARGV[2..]), then reads the entry and records this one, in one
-- round trip. Policies: core/policies.py.
-- KEYS: entry, ranks, counters, visited, use counts. ARGV: policy, keys used since.
-- Returns the entry, or nil.
local ranks, meta, visited, freq, policy = KEYS[2], KEYS[3], KEYS[4], KEYS[5], ARGV[1]
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
-- include: _touch
for i = 2, #ARGV do
  if redis.call('ZSCORE', ranks, ARGV[i]) then
    touch(ARGV[i])
  end
end
local value = redis.pcall('GET', KEYS[1])
if type(value) ~= 'string' then
  return nil
end
if redis.call('ZSCORE', ranks, KEYS[1]) then
  touch(KEYS[1])
end
return value
