-- Take the lock KEYS[1] for the holder ARGV[1] for ARGV[2] ms, and count the acquisition
-- in its fencing counter KEYS[2] (same slot). Returns the fencing token, or 0 when
-- another holds the lock. Asked again by the holder (a reply that was lost), it answers
-- the same token: the counter cannot have moved while the lock was held.
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return redis.call('INCR', KEYS[2])
end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return tonumber(redis.call('GET', KEYS[2]) or '0')
end
return 0
