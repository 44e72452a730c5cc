-- Removes one node's membership.
--
-- KEYS[1]  <prefix>:presence:expiry     ZSET member -> expiry (unix ms)
-- KEYS[2]  <prefix>:presence:ch:<ch>    HASH user -> number of nodes holding it
-- KEYS[3]  <prefix>:presence:data:<ch>  HASH user -> data
-- ARGV[1]  member "<channel>\0<user>\0<node>"
-- ARGV[2]  user
--
-- Returns { 1, data } when the user thereby left the channel cluster-wide,
-- else { 0 } (also when this node did not hold the membership: removing is
-- idempotent).
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then
  return { 0 }
end
if redis.call('HINCRBY', KEYS[2], ARGV[2], -1) <= 0 then
  redis.call('HDEL', KEYS[2], ARGV[2])
  local data = redis.call('HGET', KEYS[3], ARGV[2]) or ''
  redis.call('HDEL', KEYS[3], ARGV[2])
  return { 1, data }
end
return { 0 }
