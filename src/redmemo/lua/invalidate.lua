-- Invalidate entries: delete each entry with its lease, so that a computation already
-- running cannot store its now outdated result, and wake its waiters to compute anew.
-- KEYS: entry, lease, wait flag, entry, lease, wait flag, ... ARGV: channel.
-- Returns the number of entries that existed.
local removed = 0
for i = 1, #KEYS, 3 do
  removed = removed + redis.call('DEL', KEYS[i])
  redis.call('DEL', KEYS[i + 1])
  if redis.call('DEL', KEYS[i + 2]) == 1 then
    redis.call('PUBLISH', ARGV[1], 'W' .. #KEYS[i] .. ':' .. KEYS[i])
  end
end
return removed
