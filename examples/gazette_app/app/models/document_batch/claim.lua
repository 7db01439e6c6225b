-- ARGV: chunk, jid, worker. Returns {'run', range, flags, ms left} or {'taken'|'skip'|'gone', state}.
if redis.call('EXISTS', KEYS[1]) == 0 then return {'gone', ''} end
local c = 'c' .. ARGV[1] .. ':'
local chunk = redis.call('HGET', KEYS[1], c .. 'state')
if not chunk then return {'gone', ''} end
if chunk ~= 'pending' then
  redis.call('HINCRBY', KEYS[1], c .. 'duplicates', 1)
  return {'taken', chunk}
end
local now = now_ms()
local state = redis.call('HGET', KEYS[1], 'state')
if state ~= 'running' then
  redis.call('HSET', KEYS[1], c .. 'state', 'skipped', c .. 'finished_at', now)
  return {'skip', state}
end
redis.call('HSET', KEYS[1], c .. 'state', 'running', c .. 'started_at', now, c .. 'jid', ARGV[2],
           c .. 'worker', ARGV[3])
local b = redis.call('HMGET', KEYS[1], 'deadline_at', c .. 'range', c .. 'flags')
return {'run', b[2], b[3], tostring(tonumber(b[1]) - now)}
