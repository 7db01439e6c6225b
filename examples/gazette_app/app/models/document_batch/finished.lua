-- The document is recorded and its user mailed.
if redis.call('EXISTS', KEYS[1]) == 0 then return 'gone' end
if redis.call('HGET', KEYS[1], 'state') == 'finalizing' then redis.call('HSET', KEYS[1], 'state', 'done') end
redis.call('HSET', KEYS[1], 'finished_at', now_ms())
return 'ok'
