"""The error tree: one class per thing a caller handles, messages in English and Chinese."""

from __future__ import annotations

import pytest

from skill import errors
from skill.errors import (
    ApiError,
    AuthError,
    Cancelled,
    ConnectionLost,
    ExportBlockedByPlan,
    FileTooLarge,
    InputError,
    JiggleError,
    OutOfCredits,
    PermissionDenied,
    RateLimited,
    ServerError,
    SessionNotFound,
    TokenExpired,
    TransportError,
    UnsupportedFile,
    error_for_api_code,
)
from skill.redact import register_secret
from skill.timeline import Timeline

ALL_CLASSES = [
    getattr(errors, name)
    for name in errors.__all__
    if isinstance(getattr(errors, name), type) and issubclass(getattr(errors, name), JiggleError)
]


@pytest.mark.parametrize(
    ("api_code", "status", "expected"),
    [
        (1001, 401, TokenExpired),
        (1002, 404, SessionNotFound),
        (2001, 403, OutOfCredits),
        (4001, 415, UnsupportedFile),
        (4002, 413, FileTooLarge),
        # A 400 is a missing X-Client-Id on the anonymous-token call only (the client says
        # so there); elsewhere it is what its body says. A 403 is a scope or plan refusal.
        (None, 400, ApiError),
        (None, 403, PermissionDenied),
        (None, 401, TokenExpired),
        (None, 402, ExportBlockedByPlan),
        (None, 429, RateLimited),
        (None, 500, ServerError),
        (None, 503, ServerError),
        (None, 413, FileTooLarge),
        (None, 415, UnsupportedFile),
        (9999, 200, ApiError),
    ],
)
def test_codes_map_to_classes(api_code: int | None, status: int, expected: type) -> None:
    error = error_for_api_code(api_code, status, "x")
    assert type(error) is expected


def test_the_tree() -> None:
    assert issubclass(TokenExpired, AuthError)
    assert issubclass(AuthError, ApiError)
    assert issubclass(UnsupportedFile, InputError)
    assert issubclass(FileTooLarge, InputError)
    assert issubclass(ConnectionLost, TransportError)
    assert TokenExpired.exit_code == 3
    assert InputError.exit_code == 2
    assert ServerError.exit_code == 4
    assert Cancelled.exit_code == 130


@pytest.mark.parametrize("cls", ALL_CLASSES)
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_class_has_a_message_in_both_languages(cls: type[JiggleError], lang: str) -> None:
    error = cls("detail text", path="cat.jpg", render_id="render_1", origin="https://x")
    message = error.human(lang)
    assert message
    assert "{" not in message
    assert "}" not in message
    catalogue = errors._catalogue()
    assert cls.code in catalogue
    assert lang in catalogue[cls.code]
    if lang == "zh":
        assert any("\u4e00" <= ch <= "\u9fff" for ch in message)


def test_messages_say_what_to_do_next() -> None:
    assert "NEMO_TOKEN" in TokenExpired(user_token=True).human()
    assert "free token" in TokenExpired().human()
    link = "https://nemovideo.com/register?bind=anon_1"
    assert link in OutOfCredits(register_url=link).human()
    assert link in OutOfCredits(register_url=link).human("zh")
    assert "Top up" in OutOfCredits().human()
    assert "Wait 7 seconds" in RateLimited(retry_after=7).human()
    assert RateLimited().retry_after == 30.0
    assert "jiggle resume render_9" in Cancelled(render_id="render_9").human()
    lost = ConnectionLost("cut", during="export", render_id="render_5")
    assert "jiggle resume render_5" in lost.human()
    assert "mp4 mov" in UnsupportedFile(path="a.txt").human()
    assert "200 MB" in FileTooLarge(path="big.mov").human()


def test_connection_lost_with_state_summarises_in_each_language() -> None:
    class State:
        timeline = Timeline.from_draft(
            {"t": [{"tt": 7, "sg": [{"st": 0, "d": 3000, "m": {"text": "Hi"}}]}]}
        )

    lost = ConnectionLost("cut", state=State(), during="chat")
    assert 'The project now has: Timeline (1 track): 1. Title: "Hi" (0-3s).' in lost.human()
    assert "标题" in lost.human("zh")
    assert lost.applied.startswith("The project now has")
    unknown = ConnectionLost("cut", during="chat")
    assert "unknown what was applied" in unknown.human()


def test_no_message_or_repr_contains_a_token() -> None:
    token = "sekrit-token-value-123456"
    register_secret(token)
    error = ServerError(f"upstream said Bearer {token}", http_status=500)
    assert token not in error.human()
    assert token not in str(error)
    assert token not in repr(error)
    assert token not in str(error.to_dict())
    assert token not in ApiError(f"token={token}").human("zh")


def test_to_dict_is_json_ready() -> None:
    error = OutOfCredits(register_url="https://nemovideo.com/register?bind=u")
    assert error.to_dict() == {
        "code": "out_of_credits",
        "message": error.human(),
        "register_url": "https://nemovideo.com/register?bind=u",
    }
