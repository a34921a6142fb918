-- Get-or-lease for one entry, atomically: the second round trip of a miss.
-- KEYS: entry, lease, wait flag (one hash slot: core/keyspace.py).
-- ARGV: token, lease milliseconds, mode:
--   "fill"    answer with the entry if there is one, else take the lease if it is free;
--   "force"   take the lease if it is free, even if an entry exists (to replace it);
--   "refresh" like force, but a held lease is not waited for (no wait flag);
--   "take"    take the lease whoever holds it (an explicit refresh pre-empts others).
-- The lease holds "token:start", start in server microseconds: registrations made after
-- the computation (register.lua) compare it with their index's invalidation marker.
-- Returns {1, entry} | {2, start} (the lease is ours) | {3, ms left on the holder's lease}.
local mode = ARGV[3]
if mode == 'fill' then
  -- pcall: a key of another type (a list, say) is no entry; the fill replaces it.
  local entry = redis.pcall('GET', KEYS[1])
  if type(entry) == 'string' then
    return {1, entry}
  end
end
local t = redis.call('TIME')
-- Built as text: Lua 5.1 would print a 16-digit number in exponent form, losing digits.
local start = t[1] .. string.format('%06d', tonumber(t[2]))
local value = ARGV[1] .. ':' .. start
if mode == 'take' then
  redis.call('SET', KEYS[2], value, 'PX', ARGV[2])
  return {2, start}
end
if redis.call('SET', KEYS[2], value, 'NX', 'PX', ARGV[2]) then
  return {2, start}
end
local held = redis.call('GET', KEYS[2])
if held and string.sub(held, 1, #ARGV[1] + 1) == ARGV[1] .. ':' then
  -- Our own request, sent again after a lost connection: the lease is already ours.
  return {2, string.sub(held, #ARGV[1] + 2)}
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
