"""The one Retry-After parser and the one shape of "transient" shared by the HTTP and Kubernetes clients."""

from __future__ import annotations

import email.utils
import time

import aiohttp
import pytest
from kubernetes_asyncio.client.exceptions import ApiException
from multidict import CIMultiDict, CIMultiDictProxy

from netapp_dataops_airflow.clients._http import (
    HttpResult,
    TransientFailures,
    TransientHttpError,
    retry_after_seconds,
)


def test_retry_after_takes_delta_seconds_and_http_dates() -> None:
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds("-3") == 0.0
    in_a_minute = email.utils.formatdate(time.time() + 60, usegmt=True)
    assert 50 < (retry_after_seconds(in_a_minute) or 0) <= 60
    assert retry_after_seconds(email.utils.formatdate(time.time() - 60, usegmt=True)) == 0.0
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


def kubernetes_answer(status: int, retry_after: str | None = None) -> ApiException:
    failure = ApiException(status=status, reason="injected")
    failure.headers = CIMultiDictProxy(CIMultiDict({"Retry-After": retry_after} if retry_after else {}))
    return failure


def tls_failure() -> aiohttp.ClientSSLError:
    key = aiohttp.client_reqrep.ConnectionKey("api.example", 443, True, None, None, None, None)
    return aiohttp.ClientSSLError(key, OSError("certificate verify failed"))


KUBERNETES = TransientFailures(lambda exc: exc if isinstance(exc, ApiException) else None)


@pytest.mark.parametrize(
    ("failure", "transient"),
    [
        (kubernetes_answer(429), True),
        (kubernetes_answer(503), True),
        (kubernetes_answer(401), False),
        (kubernetes_answer(404), False),
        (aiohttp.ServerDisconnectedError(), True),
        (TimeoutError(), True),
        (tls_failure(), False),
        (ValueError("a bug"), False),
    ],
    ids=["429", "503", "401", "404", "disconnected", "timeout", "tls", "bug"],
)
def test_kubernetes_failures_are_transient_as_http_ones_are(failure: BaseException, transient: bool) -> None:
    assert KUBERNETES(failure) is transient


def test_a_kubernetes_answer_may_ask_for_a_pause_as_a_date_too() -> None:
    assert KUBERNETES.retry_after(kubernetes_answer(429, "3")) == 3.0
    later = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 20 < (KUBERNETES.retry_after(kubernetes_answer(503, later)) or 0) <= 30
    assert KUBERNETES.retry_after(kubernetes_answer(503)) is None
    assert KUBERNETES.retry_after(aiohttp.ServerDisconnectedError()) is None


def test_an_http_endpoint_decides_which_answers_are_transient() -> None:
    def result(status: int, body: bytes = b"") -> HttpResult:
        return HttpResult(status, CIMultiDictProxy(CIMultiDict({"Retry-After": "2"})), body)

    busy = TransientFailures(
        lambda exc: exc.result if isinstance(exc, TransientHttpError) else None,
        lambda answer: answer.status == 409 and b"busy" in answer.body,
    )
    assert busy(TransientHttpError(result(409, b"busy")))
    assert not busy(TransientHttpError(result(500)))
    assert busy.retry_after(TransientHttpError(result(409, b"busy"))) == 2.0
