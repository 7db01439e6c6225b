-- ARGV: chunk, files (JSON). Returns {'finalize'|'done'|'late'|'stale'|'gone', done, total}.
if redis.call('EXISTS', KEYS[1]) == 0 then return {'gone', 0, 0} end
local c = 'c' .. ARGV[1] .. ':'
if redis.call('HGET', KEYS[1], c .. 'state') ~= 'running' then return {'stale', 0, 0} end
local now = now_ms()
redis.call('HSET', KEYS[1], c .. 'state', 'done', c .. 'files', ARGV[2], c .. 'finished_at', now)
local total = tonumber(redis.call('HGET', KEYS[1], 'total'))
if redis.call('HGET', KEYS[1], 'state') ~= 'running' then return {'late', 0, total} end
local done = redis.call('HINCRBY', KEYS[1], 'done', 1)
if done < total then return {'done', done, total} end
redis.call('HSET', KEYS[1], 'state', 'finalizing', 'finalizing_at', now)
return {'finalize', done, total}
