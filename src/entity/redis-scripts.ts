/**
 * The Lua scripts of the Redis store: each rule (fencing, compare-and-set,
 * leases, idempotency claims) runs as one script, which Redis runs alone, so
 * reading and writing a key is one atomic step. Leases use the server's
 * clock (`TIME`), so clients' clocks do not matter to expiry.
 */

/** KEYS[1] entity hash; ARGV expected version, token, data, mode ("s" save, "d" delete). → {status, version, token}: 0 ok, 1 stale, 2 conflict. */
export const SAVE = `
local cur = redis.call('HMGET', KEYS[1], 'v', 't')
local v = tonumber(cur[1]) or 0
local t = tonumber(cur[2]) or 0
local token = tonumber(ARGV[2])
if token < t then return {1, v, t} end
if v ~= tonumber(ARGV[1]) then return {2, v, t} end
v = v + 1
if ARGV[4] == 's' then
  redis.call('HSET', KEYS[1], 'v', v, 't', token, 'd', ARGV[3])
else
  redis.call('HSET', KEYS[1], 'v', v, 't', token)
  redis.call('HDEL', KEYS[1], 'd')
end
return {0, v, token}
`;

// The server's time in milliseconds.
const NOW = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local cur = redis.call('HMGET', KEYS[1], 'o', 'k', 'x')
local owner = cur[1] or ''
local token = tonumber(cur[2]) or 0
local expires = tonumber(cur[3]) or 0
`;

/** KEYS[1] lease hash; ARGV owner, ttl. → {0, token} taken, {1, holder, token} held. */
export const ACQUIRE = `${NOW}
local live = owner ~= '' and expires > now
if live and owner ~= ARGV[1] then return {1, owner, token} end
if not live then token = token + 1 end
redis.call('HSET', KEYS[1], 'o', ARGV[1], 'k', token, 'x', now + tonumber(ARGV[2]))
return {0, token}
`;

/** KEYS[1] lease hash; ARGV owner, token, ttl. → {0, token} renewed, {1, current token} stale. */
export const RENEW = `${NOW}
if owner ~= ARGV[1] or token ~= tonumber(ARGV[2]) then return {1, token} end
redis.call('HSET', KEYS[1], 'x', now + tonumber(ARGV[3]))
return {0, token}
`;

/** KEYS[1] lease hash; ARGV owner, token. Keeps the token so the next holder's is greater. */
export const RELEASE = `${NOW}
if owner ~= ARGV[1] or token ~= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], 'o', '', 'x', math.min(expires, now))
return 1
`;

/** KEYS[1] idempotency hash; ARGV claim, hold. → {0} started, {1} running, {2, result} done. Expiry is the key's TTL. */
export const BEGIN = `
local cur = redis.call('HMGET', KEYS[1], 's', 'r')
if cur[1] == 'd' then return {2, cur[2]} end
if cur[1] == 'r' then return {1} end
redis.call('HSET', KEYS[1], 's', 'r', 'c', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {0}
`;

/** KEYS[1] idempotency hash; ARGV claim, result, retain. → 0 recorded, 1 claim lost. */
export const COMPLETE = `
local cur = redis.call('HMGET', KEYS[1], 's', 'c')
if cur[1] ~= 'r' or cur[2] ~= ARGV[1] then return 1 end
redis.call('HSET', KEYS[1], 's', 'd', 'r', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 0
`;

/** KEYS[1] idempotency hash; ARGV claim. Drops the claim when it is still this one and running. */
export const ABANDON = `
local cur = redis.call('HMGET', KEYS[1], 's', 'c')
if cur[1] == 'r' and cur[2] == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0
`;
