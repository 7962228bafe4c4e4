"""The host's reply templates: every message exists in both languages and renders cleanly."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from skill.replies import (
    Reply,
    ReplyKind,
    chinese_script,
    language_of,
    language_of_text,
    reply_language,
    say,
)

_TEMPLATES = Path(__file__).resolve().parent.parent / "skill" / "templates"
_MACRO = re.compile(r"\{%-?\s*macro\s+(\w+)\(")


def _macros(lang: str) -> set[str]:
    return set(_MACRO.findall((_TEMPLATES / f"{lang}.j2").read_text(encoding="utf-8")))


@pytest.mark.parametrize("lang", ["zh", "zh-Hant"])
def test_every_english_message_has_a_chinese_twin(lang: str) -> None:
    english, chinese = _macros("en"), _macros(lang)
    assert english, "no macros found in en.j2"
    assert english <= chinese, f"missing in {lang}.j2: {sorted(english - chinese)}"


_SAMPLES: dict[str, dict[str, object]] = {
    "connected": {"backend": "local", "credits": 100},
    "credits": {"available": 90, "frozen": 10, "total": 100},
    "uploaded": {"files": [{"name": "cat.jpg", "kind": "image", "width": 512, "height": 512}]},
    "saved": {
        "path": "/tmp/cat.mp4",
        "size": "1.2 MB",
        "duration": 2.0,
        "width": 1080,
        "height": 1920,
    },
    "batch_done": {"ok": 2, "failed": 1},
    "no_text_changes": {"changes": ["intensity subtle → strong"]},
}


@pytest.mark.parametrize("lang", ["en", "zh", "zh-Hant"])
@pytest.mark.parametrize("name", sorted(_SAMPLES))
def test_messages_fill_in_their_fields(lang: str, name: str) -> None:
    text = say(lang, name, **_SAMPLES[name])
    assert text
    assert "\n" not in text
    for key, value in _SAMPLES[name].items():
        if key != "backend" and isinstance(value, int | str) and not isinstance(value, bool):
            assert str(value) in text
    assert "{{" not in text
    assert "{%" not in text


def test_a_missing_field_is_an_error_not_a_blank() -> None:
    with pytest.raises(Exception, match="credits"):
        say("en", "connected", backend="cloud")


def test_an_unknown_message_is_an_error() -> None:
    with pytest.raises(KeyError):
        say("en", "no_such_message")


def test_chinese_follows_any_chinese_tag() -> None:
    assert language_of("zh-Hant") == "zh"
    assert language_of("zh_CN.UTF-8") == "zh"
    assert language_of("en_US") == "en"
    assert language_of(None) == "en"


def test_text_with_ideographs_is_chinese() -> None:
    assert language_of_text("让照片跳起来") == "zh"
    assert language_of_text("make it bounce, 谢谢") == "zh"
    assert language_of_text("make it bounce") == "en"
    assert say("zh-CN", "setting_up") == say("zh", "setting_up") != say("en", "setting_up")


def test_traditional_tags_and_text_get_traditional_replies() -> None:
    assert reply_language("zh-TW") == reply_language("zh-Hant") == "zh-Hant"
    assert reply_language("zh_HK.UTF-8") == "zh-Hant"
    assert reply_language("zh-CN") == "zh"
    assert say("zh-Hant", "downloading") == "正在下載影片..."
    assert chinese_script("讓這張圖片輕輕彈跳") == "zh-Hant"
    assert chinese_script("让这张图片轻轻抖动") == "zh"
    assert chinese_script("帮我 export 一下") == "zh"
    assert chinese_script("2秒") is None  # shared characters say nothing
    assert chinese_script("make it bounce") is None


def test_json_event_has_kind_text_and_data() -> None:
    reply = Reply(ReplyKind.PROGRESS, "", {"phase": "render", "done": 40, "total": 100})
    event = reply.to_json()
    assert event == {"event": "progress", "phase": "render", "done": 40, "total": 100}
    error = Reply(ReplyKind.ERROR, "You're out of credits.", {"code": "out_of_credits"})
    assert json.loads(json.dumps(error.to_json())) == {
        "event": "error",
        "text": "You're out of credits.",
        "code": "out_of_credits",
    }
