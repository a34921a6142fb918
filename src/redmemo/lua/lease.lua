-- Get-or-lease, atomically: the second round trip of a miss.
-- KEYS: entry, lease, wait flag (all share the entry's hash tag).
-- ARGV: token, lease milliseconds, mode ("fill": answer with the entry if one is there;
--       "force": take the lease even if an entry exists, to replace an expired one).
-- Returns {1, entry} | {2} (the lease is ours) | {3, ms left on the holder's lease}.
if ARGV[3] == 'fill' then
  local entry = redis.call('GET', KEYS[1])
  if entry then
    return {1, entry}
  end
end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {2}
end
local left = redis.call('PTTL', KEYS[2])
if left < 1 then
  left = 1
end
-- Tell the holder that someone waits, so that it publishes its result; fills nobody waits
-- for publish nothing.
redis.call('SET', KEYS[3], '1', 'PX', left)
return {3, left}
