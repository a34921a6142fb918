-- store.lua for an entry of a bounded group: store it if its fill still holds the lease,
-- then record it in the group and evict what the policy says, in the same script, so the
-- group never holds more than maxsize entries and an evicted entry leaves nothing
-- behind (its key, its bookkeeping, its index memberships). Policies: core/policies.py.
-- KEYS: entry, lease, wait flag, ranks, expiries, counters, visited, bounds, use counts.
-- ARGV: token, entry bytes, ttl milliseconds ('0': none), channel, largest entry to
--       publish, maxsize, policy, record (the ranks key, then the entry's indexes, each
--       line by line), '1' on a Redis Cluster (else '0'), then the keys this process
--       used since it last told (hits are recorded late, in the next call of the group:
--       bound_read.lua).
-- Returns {1, evicted} when stored, {0, 0} when not. On a cluster an evicted entry's
-- index memberships are in other slots, which a script may not touch: each victim and
-- its record follow ({1, evicted, victim, record, ...}) for the caller to remove from
-- those indexes at once.
local entry, ranks, exp, meta, visited, bounds = KEYS[1], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local freq = KEYS[9]
local maxsize, policy = tonumber(ARGV[6]), ARGV[7]
local apart = ARGV[9] == '1'
local left = {1, 0}
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)

-- include: _touch

-- The uses this process saw come first, whatever becomes of the store.
for i = 10, #ARGV do
  if redis.call('ZSCORE', ranks, ARGV[i]) then
    touch(ARGV[i])
  end
end

local lease = redis.call('GET', KEYS[2])
if not lease then
  return {0, 0}
end
local sep = string.find(lease, ':', 1, true)
if not sep or string.sub(lease, 1, sep - 1) ~= ARGV[1] then
  return {0, 0}
end
local ttl = tonumber(ARGV[3])
if ttl == 0 then
  redis.call('SET', entry, ARGV[2])
else
  redis.call('SET', entry, ARGV[2], 'PX', ttl)
end
redis.call('DEL', KEYS[2])
if redis.call('DEL', KEYS[3]) == 1 then
  if #ARGV[2] <= tonumber(ARGV[5]) then
    redis.call('PUBLISH', ARGV[4], 'V' .. #entry .. ':' .. entry .. ARGV[2])
  else
    redis.call('PUBLISH', ARGV[4], 'K' .. #entry .. ':' .. entry)
  end
end

local function forget(member)
  redis.call('ZREM', ranks, member)
  redis.call('ZREM', exp, member)
  redis.call('SREM', visited, member)
  redis.call('HDEL', bounds, member)
  redis.call('HDEL', freq, member)
end

-- Entries past their time leave first (a few per call: the cost stays bounded).
for _, member in ipairs(redis.call('ZRANGEBYSCORE', exp, '-inf', now, 'LIMIT', 0, 16)) do
  forget(member)
end

local function pick()
  if policy == 'mru' then
    return redis.call('ZRANGE', ranks, -1, -1)[1]
  elseif policy == 'random' then
    return redis.call('ZRANDMEMBER', ranks)
  elseif policy == 'sieve' then
    local hand = tonumber(redis.call('HGET', meta, 'hand') or '-1')
    local n = redis.call('ZCARD', ranks)
    for _ = 1, 2 * n + 1 do
      local found = {}
      if hand >= 0 then
        found = redis.call('ZRANGEBYSCORE', ranks, hand, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
      end
      if #found == 0 then
        found = redis.call('ZRANGE', ranks, 0, 0, 'WITHSCORES')
      end
      hand = tonumber(found[2]) + 1
      if redis.call('SREM', visited, found[1]) == 0 then
        redis.call('HSET', meta, 'hand', hand)
        return found[1]
      end
    end
    return nil
  end
  local lowest = redis.call('ZRANGE', ranks, 0, 0, 'WITHSCORES')
  if policy == 'lfu' and lowest[2] then
    redis.call('HSET', meta, 'age', math.floor(tonumber(lowest[2]) / 2097152))
  end
  return lowest[1]
end

local function evict(victim)
  local record = redis.call('HGET', bounds, victim)
  if record and apart then
    table.insert(left, victim)
    table.insert(left, record)
  elseif record then
    local first = true
    for line in string.gmatch(record, '[^\n]+') do
      if not first then
        redis.call('ZREM', line, victim)  -- an index membership
      end
      first = false
    end
  end
  forget(victim)
  return redis.call('UNLINK', victim)
end

local evicted = 0
if redis.call('ZSCORE', ranks, entry) then
  touch(entry)  -- stored again (a refresh): a use, as a hit is
else
  while redis.call('ZCARD', ranks) >= maxsize do
    local victim = pick()
    if not victim then
      break
    end
    evicted = evicted + evict(victim)
  end
  if policy == 'lru-t' then
    redis.call('ZADD', ranks, now, entry)
  elseif policy == 'lfu' then
    local age = tonumber(redis.call('HGET', meta, 'age') or '0')
    local last = redis.call('HINCRBY', meta, 'seq', 1) % 2097152
    redis.call('HSET', freq, entry, 1)
    redis.call('ZADD', ranks, string.format('%.0f', (age + 1) * 2097152 + last), entry)
  elseif policy == 'random' then
    redis.call('ZADD', ranks, 0, entry)
  else
    redis.call('ZADD', ranks, redis.call('HINCRBY', meta, 'seq', 1), entry)
  end
end
if ttl == 0 then
  redis.call('ZREM', exp, entry)
else
  redis.call('ZADD', exp, now + ttl, entry)
end
redis.call('HSET', bounds, entry, ARGV[8])
left[2] = evicted
return left
