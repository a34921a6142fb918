-- Extend a lease whose holder is still computing (a heartbeat), if it is still its own.
-- KEYS: entry, lease, wait flag (one hash slot). ARGV: token, lease milliseconds.
-- Returns 1 when extended, 0 when the lease is gone or another's.
local lease = redis.call('GET', KEYS[2])
if not lease or string.sub(lease, 1, #ARGV[1] + 1) ~= ARGV[1] .. ':' then
  return 0
end
redis.call('PEXPIRE', KEYS[2], ARGV[2])
-- The wait flag lives as long as the lease it waits for.
redis.call('PEXPIRE', KEYS[3], ARGV[2])
return 1
