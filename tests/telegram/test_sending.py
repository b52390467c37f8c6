"""Retrying Bot API calls: transient errors are retried within the patience, the others are raised at once."""

from __future__ import annotations

import pytest
from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut

from bot.telegram import sending


class Flaky:
    """A call that raises the given errors in turn, then returns "sent"."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "sent"


@pytest.fixture(autouse=True)
def quick(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sending, "BACKOFF", 0.001)
    monkeypatch.setattr(sending, "BACKOFF_CAP", 0.002)


async def test_a_storm_of_server_errors_longer_than_a_few_tries_is_outlasted() -> None:
    call = Flaky(*[NetworkError("502 Bad Gateway") for _ in range(12)])
    assert await sending.retrying(call, "sendMessage") == "sent"
    assert call.calls == 13


async def test_flood_control_that_outlasts_the_rate_limiter_is_waited_out() -> None:
    call = Flaky(RetryAfter(0), RetryAfter(0))
    assert await sending.retrying(call, "sendMessage") == "sent"
    assert call.calls == 3


async def test_past_the_patience_the_last_error_is_raised() -> None:
    call = Flaky(*[NetworkError("timed out") for _ in range(10_000)])
    with pytest.raises(NetworkError, match="timed out"):
        await sending.retrying(call, "sendMessage", patience=0.05)
    assert 1 < call.calls < 10_000


async def test_a_wait_longer_than_the_patience_is_not_started() -> None:
    call = Flaky(RetryAfter(3600))
    with pytest.raises(RetryAfter):
        await sending.retrying(call, "sendMessage", patience=5)
    assert call.calls == 1


async def test_timeouts_keep_a_short_count_since_a_timed_out_request_may_have_been_sent() -> None:
    call = Flaky(*[TimedOut() for _ in range(100)])
    with pytest.raises(TimedOut):
        await sending.retrying(call, "sendMessage")
    assert call.calls == sending.TIMEOUTS


async def test_a_bad_request_is_not_retried() -> None:
    call = Flaky(BadRequest("message is too long"))
    with pytest.raises(BadRequest):
        await sending.retrying(call, "sendMessage")
    assert call.calls == 1


async def test_a_count_of_attempts_is_kept() -> None:
    call = Flaky(*[NetworkError("502") for _ in range(5)])
    with pytest.raises(NetworkError):
        await sending.retrying(call, "answerCallbackQuery", attempts=3)
    assert call.calls == 3
