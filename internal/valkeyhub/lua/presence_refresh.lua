-- Pushes back the expiry of one node's membership, only if Valkey still
-- holds it: a refresh never re-adds (the node re-adds, with the add
-- script, what this reports lost, and only if it still holds it).
--
-- KEYS[1]  <prefix>:presence:expiry   ZSET member -> expiry (unix ms)
-- ARGV[1]  member "<channel>\0<user>\0<node>"
-- ARGV[2]  TTL in ms
--
-- Returns 1 when the membership was there, 0 when Valkey lost it.
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  return 0
end
local t = redis.call('TIME')
local expiry = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], string.format('%.0f', expiry), ARGV[1])
return 1
