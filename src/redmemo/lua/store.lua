-- Store a computed entry if, and only if, it is still wanted: the caller still holds the
-- lease (it was not taken over, nor deleted by an invalidation of the key), and none of
-- the entry's tags or dependencies was invalidated after the computation began.
-- KEYS: entry, lease, wait flag, then pairs (index, its invalidation marker) for every tag
--       and dependency of the entry.
-- ARGV: token, entry bytes, ttl milliseconds ('0': none), channel, largest entry to
--       publish.
-- Returns 1 when stored, 0 when not.
local lease = redis.call('GET', KEYS[2])
if not lease then
  return 0
end
local sep = string.find(lease, ':', 1, true)
if string.sub(lease, 1, sep - 1) ~= ARGV[1] then
  return 0
end
local started = tonumber(string.sub(lease, sep + 1))
local function wake(kind, payload)
  if redis.call('DEL', KEYS[3]) == 1 then
    redis.call('PUBLISH', ARGV[4], kind .. #KEYS[1] .. ':' .. KEYS[1] .. payload)
  end
end
for i = 4, #KEYS, 2 do
  local invalidated = redis.call('GET', KEYS[i + 1])
  if invalidated and tonumber(invalidated) >= started then
    -- Invalidated while we computed: our result may be outdated. Store nothing, and let
    -- the waiters compute anew.
    redis.call('DEL', KEYS[2])
    wake('W', '')
    return 0
  end
end
local ttl = tonumber(ARGV[3])
if ttl == 0 then
  redis.call('SET', KEYS[1], ARGV[2])
else
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ttl)
end
redis.call('DEL', KEYS[2])
if #KEYS > 3 then
  local t = redis.call('TIME')
  local now = t[1] * 1000 + math.floor(t[2] / 1000)
  local expires = ttl == 0 and '+inf' or (now + ttl)
  for i = 4, #KEYS, 2 do
    -- Members that expired on their own leave the index here; the index itself expires
    -- with its longest-lived member, so the bookkeeping shrinks when entries expire.
    redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now)
    redis.call('ZADD', KEYS[i], expires, KEYS[1])
    local last = redis.call('ZRANGE', KEYS[i], -1, -1, 'WITHSCORES')[2]
    if last == 'inf' or last == '+inf' then
      redis.call('PERSIST', KEYS[i])
    else
      redis.call('PEXPIREAT', KEYS[i], last)
    end
  end
end
if #ARGV[2] <= tonumber(ARGV[5]) then
  wake('V', ARGV[2])
else
  wake('K', '')
end
return 1
