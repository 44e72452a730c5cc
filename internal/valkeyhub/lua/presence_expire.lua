-- Removes up to ARGV[3] memberships whose expiry has passed: their node
-- stopped refreshing them (it crashed or lost Valkey for a whole TTL).
-- Atomic, so when several nodes sweep at once each expired membership is
-- removed, and its leave reported, by exactly one of them.
--
-- KEYS[1]  <prefix>:presence:expiry   ZSET member -> expiry (unix ms)
-- ARGV[1]  "<prefix>:presence:ch:", the prefix of the channels' count HASH keys
-- ARGV[2]  "<prefix>:presence:data:", the prefix of the channels' data HASH keys
-- ARGV[3]  the most memberships to remove in this call
--
-- Returns { number removed, { member, data, member, data, ... } } for the
-- members whose user thereby left. A member is "<channel>\0<user>\0<node>";
-- channel names hold no NUL byte and node ids are hex, so the user is
-- everything between the first and the last NUL.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', string.format('%.0f', now), 'LIMIT', 0, tonumber(ARGV[3]))
local left = {}
for _, member in ipairs(expired) do
  redis.call('ZREM', KEYS[1], member)
  local channel, user = string.match(member, '^(.-)%z(.*)%z[^%z]*$')
  if channel then
    local key = ARGV[1] .. channel
    if redis.call('HINCRBY', key, user, -1) <= 0 then
      redis.call('HDEL', key, user)
      local dataKey = ARGV[2] .. channel
      left[#left + 1] = member
      left[#left + 1] = redis.call('HGET', dataKey, user) or ''
      redis.call('HDEL', dataKey, user)
    end
  end
end
return { #expired, left }
