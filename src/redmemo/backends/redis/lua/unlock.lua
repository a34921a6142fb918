-- Give back the lock KEYS[1] if the holder ARGV[1] still holds it. Returns 1, or 0 when
-- it had run out (and may be another's now: that one is left alone).
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
