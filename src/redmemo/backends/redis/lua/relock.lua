-- Give the lock KEYS[1] ARGV[2] ms more if the holder ARGV[1] still holds it (1), else 0.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
