-- touch(member): record one use of a member of a bounded group, as its policy says
-- (core/policies.py). Included by bound_read.lua and bound_store.lua, which define the
-- locals it uses: ranks, meta, visited, freq, policy, now.
local function touch(member)
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
