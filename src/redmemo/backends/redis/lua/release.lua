-- Give a lease back (the computation failed or its result is not to be stored), and wake
-- any waiters so that one of them can try.
-- KEYS: entry, lease, wait flag. ARGV: token, channel.
local lease = redis.call('GET', KEYS[2])
if not lease or string.sub(lease, 1, #ARGV[1] + 1) ~= ARGV[1] .. ':' then
  return 0
end
redis.call('DEL', KEYS[2])
if redis.call('DEL', KEYS[3]) == 1 then
  redis.call('PUBLISH', ARGV[2], 'W' .. #KEYS[1] .. ':' .. KEYS[1])
end
return 1
