-- Replace a value only if it is still the one observed (compare and set).
-- KEYS: the key (one hash slot). ARGV: observed bytes, new bytes, ttl milliseconds
-- ('0': none). Returns 1 when replaced, 0 when the key changed meanwhile.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
local ttl = tonumber(ARGV[3])
if ttl == 0 then
  redis.call('SET', KEYS[1], ARGV[2])
else
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ttl)
end
return 1
