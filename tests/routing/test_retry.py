from __future__ import annotations

from newapi.options import Options
from newapi.routing.retry import Failure, should_disable, should_retry

RANGES = Options({}).status_ranges("AutomaticRetryStatusCodes")
DISABLE = Options({}).status_ranges("AutomaticDisableStatusCodes")


def test_retry_classes_follow_new_api_defaults() -> None:
    assert should_retry(Failure(0, "connection refused"), RANGES)
    for status in (401, 403, 429, 500, 502, 503):
        assert should_retry(Failure(status), RANGES), status
    for status in (400, 408, 504, 524, 200):
        assert not should_retry(Failure(status), RANGES), status


def test_disable_triggers() -> None:
    keywords = Options({}).str("AutomaticDisableKeywords").splitlines()
    assert should_disable(Failure(401), DISABLE, keywords)
    assert should_disable(Failure(400, code="invalid_api_key"), DISABLE, keywords)
    assert should_disable(
        Failure(429, "You exceeded your current quota, please..."), DISABLE, keywords
    )
    assert not should_disable(Failure(429, "Rate limit reached"), DISABLE, keywords)
    assert not should_disable(Failure(500, "boom"), DISABLE, keywords)
