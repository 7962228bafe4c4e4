"""Redaction: tokens never reach a message, a log line or a traceback."""

from __future__ import annotations

import logging

import pytest

from skill.redact import install_log_redaction, redact, register_secret


@pytest.mark.parametrize(
    "text",
    [
        "Authorization: Bearer abc.DEF-123_456",
        "token=nmv_usr_abcdef123",
        '{"token": "plain-secret-value"}',
        "NEMO_TOKEN=whatever-value-1",
        "see nmv_usr_0123456789 here",
    ],
)
def test_token_shapes_are_masked(text: str) -> None:
    cleaned = redact(text)
    assert "***" in cleaned
    for secret in (
        "abc.DEF-123_456",
        "nmv_usr_abcdef123",
        "plain-secret-value",
        "whatever-value-1",
        "nmv_usr_0123456789",
    ):
        assert secret not in cleaned


def test_registered_secret_is_masked_whatever_its_shape() -> None:
    register_secret("zz-odd-shaped-secret")
    assert redact("x zz-odd-shaped-secret y") == "x *** y"
    register_secret("abc")  # too short to mask safely: ignored
    assert redact("abc") == "abc"


def test_child_logger_records_are_redacted(caplog: pytest.LogCaptureFixture) -> None:
    secret = "nmv_usr_childlogger0001"
    register_secret(secret)
    install_log_redaction("skill.client")
    logger = logging.getLogger("skill.client")
    with caplog.at_level(logging.DEBUG, logger="skill.client"):
        logger.debug("token is %s", secret)
        try:
            raise ValueError(f"failed with {secret}")
        except ValueError:
            logger.exception("boom")
    assert caplog.records
    assert secret not in caplog.text
    assert "***" in caplog.text
