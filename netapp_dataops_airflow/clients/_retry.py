"""The one retry policy for transient API failures, shared by every client.

Transient means the request may succeed if sent again unchanged: connection errors, timeouts,
5xx answers, 429 (after the delay the server asks for) and service-specific "try again" codes.
Each client says which of its errors are transient; the pacing is decided here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt
from tenacity.wait import wait_exponential, wait_random

IsTransient = Callable[[BaseException], bool]
RetryAfter = Callable[[BaseException], "float | None"]


def _no_retry_after(exc: BaseException) -> float | None:
    return None


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to repeat a request that failed transiently.

    :param attempts: total tries, the first included.
    :param initial_wait: seconds before the first retry; doubles each time, with jitter.
    :param max_wait: cap of one wait, also of a server's ``Retry-After``.
    """

    attempts: int = 5
    initial_wait: float = 0.5
    max_wait: float = 15.0

    def retrying(self, is_transient: IsTransient, retry_after: RetryAfter = _no_retry_after) -> AsyncRetrying:
        """Build a tenacity controller: ``async for attempt in policy.retrying(...): with attempt: ...``."""
        # Not wait_exponential_jitter: its `initial` is deprecated in tenacity 9.2 (an error under the
        # test suite's warning filter) and its default jitter of 1 s ignores initial_wait.
        backoff = wait_exponential(multiplier=self.initial_wait, max=self.max_wait) + wait_random(
            0, self.initial_wait
        )

        def wait(state: RetryCallState) -> float:
            outcome = state.outcome
            exc = outcome.exception() if outcome is not None else None
            asked = retry_after(exc) if exc is not None else None
            if asked is not None:
                return min(max(asked, 0.0), self.max_wait)
            return min(float(backoff(state)), self.max_wait)

        return AsyncRetrying(
            retry=retry_if_exception(is_transient),
            stop=stop_after_attempt(self.attempts),
            wait=wait,
            reraise=True,
        )
