"""The token cache: per origin, mode 0600, written atomically, reused until it expires."""

from __future__ import annotations

import json
import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

from skill.client import CachedToken, TokenCache
from skill.paths import config_dir
from skill.redact import redact


def _token(value: str, days: float = 7) -> CachedToken:
    return CachedToken(value, "anon_1", datetime.now(UTC) + timedelta(days=days))


def test_saved_token_file_is_private_and_in_the_config_dir() -> None:
    cache = TokenCache()
    cache.save("https://api.example", _token("nmv_usr_cached000001"))
    assert cache.path.parent == config_dir()
    mode = stat.S_IMODE(os.stat(cache.path).st_mode)
    assert mode == 0o600
    loaded = cache.load("https://api.example")
    assert loaded is not None
    assert loaded.token == "nmv_usr_cached000001"
    assert loaded.user_id == "anon_1"
    # No temporary file left: only the cache and the (empty, private) lock file beside it.
    lock = cache.path.with_name(f".{cache.path.name}.lock")
    assert sorted(p.name for p in cache.path.parent.iterdir()) == [lock.name, cache.path.name]
    assert lock.stat().st_size == 0
    assert stat.S_IMODE(os.stat(lock).st_mode) == 0o600


def test_tokens_are_kept_per_origin_and_forgotten() -> None:
    cache = TokenCache()
    cache.save("https://cloud", _token("tok-cloud-000001"))
    cache.save("http://127.0.0.1:9", _token("tok-local-000001"))
    assert cache.load("https://cloud").token == "tok-cloud-000001"  # type: ignore[union-attr]
    cache.forget("http://127.0.0.1:9")
    assert cache.load("http://127.0.0.1:9") is None
    assert cache.load("https://cloud") is not None


def test_expired_or_nearly_expired_tokens_are_not_used() -> None:
    cache = TokenCache()
    cache.save("https://cloud", _token("tok-old-0000001", days=-1))
    assert cache.load("https://cloud") is None
    cache.save("https://cloud", _token("tok-soon-000001", days=1 / 24 / 60))  # one minute
    assert cache.load("https://cloud") is None


def test_a_corrupt_cache_is_treated_as_empty(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    path.write_text("{not json")
    cache = TokenCache(path)
    assert cache.load("https://cloud") is None
    cache.save("https://cloud", _token("tok-fresh-00001"))
    assert json.loads(path.read_text())["tokens"]["https://cloud"]["token"] == "tok-fresh-00001"


def test_repr_hides_the_token_and_the_token_is_registered() -> None:
    token = _token("nmv_usr_reprcheck0001")
    assert "reprcheck" not in repr(token)
    assert "zz" + token.token not in redact("zz" + token.token)


def test_api_answer_parsing() -> None:
    parsed = CachedToken.from_api(
        {"token": "nmv_usr_api0000001", "user_id": "anon_9", "expires_at": "2030-01-01T00:00:00Z"}
    )
    assert parsed.expires_at == datetime(2030, 1, 1, tzinfo=UTC)
    epoch = CachedToken.from_api({"token": "nmv_usr_api0000002", "expires_at": 1893456000})
    assert epoch.expires_at.year == 2030
    default = CachedToken.from_api({"token": "nmv_usr_api0000003"})
    assert default.expires_at > datetime.now(UTC) + timedelta(days=6)
