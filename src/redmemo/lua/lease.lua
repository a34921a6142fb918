-- Get-or-lease, atomically: the second round trip of a miss.
-- KEYS: entry, lease, wait flag (one hash slot).
-- ARGV: token, lease milliseconds, mode:
--   "fill"    answer with the entry if there is one, else take the lease if it is free;
--   "force"   take the lease if it is free, even if an entry exists (to replace it);
--   "refresh" like force, but a held lease is not waited for (no wait flag);
--   "take"    take the lease whoever holds it (an explicit refresh pre-empts others).
-- The lease holds "token:start" with start in server microseconds, so that the store can
-- tell invalidations that happened after the computation began.
-- Returns {1, entry} | {2} (the lease is ours) | {3, ms left on the holder's lease}.
local mode = ARGV[3]
if mode == 'fill' then
  local entry = redis.call('GET', KEYS[1])
  if entry then
    return {1, entry}
  end
end
local t = redis.call('TIME')
local value = ARGV[1] .. ':' .. (t[1] * 1000000 + t[2])
if mode == 'take' then
  redis.call('SET', KEYS[2], value, 'PX', ARGV[2])
  return {2}
end
if redis.call('SET', KEYS[2], value, 'NX', 'PX', ARGV[2]) then
  return {2}
end
local left = redis.call('PTTL', KEYS[2])
if left < 1 then
  left = 1
end
if mode ~= 'refresh' then
  -- Tell the holder that someone waits, so that it publishes its result; fills nobody
  -- waits for publish nothing.
  redis.call('SET', KEYS[3], '1', 'PX', left)
end
return {3, left}
