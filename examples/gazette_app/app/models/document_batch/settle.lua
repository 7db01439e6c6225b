-- ARGV: chunk, new state (cancelled, or pending to give the claim back), jid.
if redis.call('EXISTS', KEYS[1]) == 0 then return 'gone' end
local c = 'c' .. ARGV[1] .. ':'
local chunk = redis.call('HMGET', KEYS[1], c .. 'state', c .. 'jid')
if chunk[1] ~= 'running' or chunk[2] ~= ARGV[3] then return 'stale' end
redis.call('HSET', KEYS[1], c .. 'state', ARGV[2], c .. 'finished_at', now_ms())
return 'ok'
