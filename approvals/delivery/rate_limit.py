"""A token bucket shared by every worker, so a campaign never exceeds the ESP's rate limit.

Redis holds the bucket when one is configured (the production broker); the
embedded mode keeps it in a database row instead. Both refill continuously at
``RATE_PER_SECOND`` up to ``RATE_BURST`` tokens; each message takes one. A batch
larger than the burst waits for a full bucket and then leaves the bucket in debt,
so the following calls wait until the average is back under the rate.
"""

import time

from django.conf import settings
from django.db import transaction

from ..models import RateBucket

BUCKET = "esp"

# Refill and take in one atomic step on the Redis server, using the server's clock
# so that workers on machines with skewed clocks still share one rate.
_REDIS_TAKE = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local wanted = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1]) or burst
local ts = tonumber(state[2]) or now
tokens = math.min(burst, tokens + (now - ts) * rate)
local need = math.min(wanted, burst)
local wait = 0
if tokens >= need then
  tokens = tokens - wanted
else
  wait = (need - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'ts', now)
redis.call('EXPIRE', KEYS[1], 3600)
return tostring(wait)
"""


def _limits() -> tuple[float, float]:
    rate = float(settings.MAILGUARD["RATE_PER_SECOND"])
    return rate, float(settings.MAILGUARD["RATE_BURST"] or 1)


def _refill(tokens: float, last: float, now: float, rate: float, burst: float) -> float:
    return min(burst, tokens + (now - last) * rate)


class RedisBucket:
    def __init__(self, url: str):
        import redis

        self.client = redis.Redis.from_url(url)
        self.script = self.client.register_script(_REDIS_TAKE)

    def try_take(self, n: int, rate: float, burst: float) -> float:
        return float(self.script(keys=[f"mailguard:rate:{BUCKET}"], args=[rate, burst, n]))


class DatabaseBucket:
    def try_take(self, n: int, rate: float, burst: float) -> float:
        with transaction.atomic():
            now = time.time()
            bucket, _ = RateBucket.objects.select_for_update().get_or_create(
                name=BUCKET, defaults={"tokens": burst, "updated": now})
            tokens = _refill(bucket.tokens, bucket.updated, now, rate, burst)
            need = min(n, burst)
            wait = 0.0 if tokens >= need else (need - tokens) / rate
            bucket.tokens = tokens - n if wait == 0 else tokens
            bucket.updated = now
            bucket.save(update_fields=["tokens", "updated"])
            return wait


_bucket = None


def _shared_bucket():
    global _bucket
    if _bucket is None:
        url = settings.MAILGUARD["RATE_LIMIT_REDIS_URL"]
        _bucket = RedisBucket(url) if url else DatabaseBucket()
    return _bucket


def acquire(n: int = 1) -> None:
    """Block until ``n`` messages may be sent; returns at once when no limit is set."""
    rate, burst = _limits()
    if rate <= 0:
        return
    while True:
        wait = _shared_bucket().try_take(n, rate, burst)
        if wait <= 0:
            return
        time.sleep(wait)
