-- Register an entry in an index (a tag's, a function's, a node class's, or the entries
-- depending on a key), in the index's own hash slot.
-- KEYS: index, its invalidation marker (one hash slot).
-- ARGV: entry key, milliseconds the registration must last ('0': forever),
--       start of the fill's lease in server microseconds ('0': not checked),
--       milliseconds invalidation markers live.
-- Fills register their tags, function and node before they compute, so an invalidation
-- either comes first (and the computation sees its effect) or finds them registered
-- and deletes their lease. Dependencies may be known only from the result: those
-- registrations come after the computation and are checked against the marker that the
-- index's invalidation left. Returns 1, or 0 when refused (the result must not be
-- stored: the index was invalidated after the fill began, or too long ago to tell).
local t = redis.call('TIME')
local now_ms = t[1] * 1000 + math.floor(t[2] / 1000)
local started = tonumber(ARGV[3])
if started > 0 then
  local now_us = t[1] * 1000000 + t[2]
  if now_us - started >= tonumber(ARGV[4]) * 1000 then
    return 0
  end
  local invalidated = redis.call('GET', KEYS[2])
  if invalidated and tonumber(invalidated) >= started then
    return 0
  end
end
-- Members that expired leave here; the index itself expires with its longest-lived
-- member, so the bookkeeping shrinks as entries expire.
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now_ms)
local life = tonumber(ARGV[2])
if life == 0 then
  redis.call('ZADD', KEYS[1], 'GT', 'inf', ARGV[1])
else
  redis.call('ZADD', KEYS[1], 'GT', now_ms + life, ARGV[1])
end
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')[2]
if last == 'inf' or last == '+inf' then
  redis.call('PERSIST', KEYS[1])
else
  redis.call('PEXPIREAT', KEYS[1], last)
end
return 1
