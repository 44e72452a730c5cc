-- Adds one node's membership, or pushes its expiry back if the node holds
-- it already, and stores the membership's data (last writer wins).
--
-- KEYS[1]  <prefix>:presence:expiry     ZSET member -> expiry (unix ms)
-- KEYS[2]  <prefix>:presence:ch:<ch>    HASH user -> number of nodes holding it
-- KEYS[3]  <prefix>:presence:data:<ch>  HASH user -> data (opaque to Valkey)
-- ARGV[1]  member "<channel>\0<user>\0<node>"
-- ARGV[2]  user
-- ARGV[3]  TTL in ms
-- ARGV[4]  data
--
-- Returns 1 when the user thereby joined the channel cluster-wide, else 0.
-- The server's clock decides expiry, so nodes' clocks may disagree.
local t = redis.call('TIME')
local expiry = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[3])
redis.call('HSET', KEYS[3], ARGV[2], ARGV[4])
if redis.call('ZADD', KEYS[1], string.format('%.0f', expiry), ARGV[1]) == 0 then
  return 0
end
if redis.call('HINCRBY', KEYS[2], ARGV[2], 1) == 1 then
  return 1
end
return 0
