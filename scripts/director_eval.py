"""Score the local director on creator phrasings: ``python scripts/director_eval.py [--verbose]``.

Every entry of ``tests/data/director_phrasings.yaml`` (its header explains the format) runs
through the real local backend, started in this process on a free loopback port as the tests
do: a fresh session, a small generated photo uploaded, the entry's ``before`` settings applied
with the draft module (no director involved), its ``history`` sent as chat turns, then ``say``.
The draft is read back from the state endpoint, mapped to the neutral vocabulary (motion,
intensity, duration, aspect, loop, title, music, music_volume) and compared with ``expect``.

Scoring:

- fields: every field of ``expect`` holds afterwards (a value, or a comparison such as ">35");
  an entry whose expected fields all held already before ``say`` is a miss (its setup failed,
  or it measures nothing); ``unchanged: true``: nothing in the draft changed;
- ``export: true``: the turn is taken as an export. Today the director signals that with a
  turn plan of kind ``export`` (its reply then points to the Export step); a tool call whose
  name mentions export or render counts too, for a director that exports from the chat;
- ``cannot: true``: nothing changed, no tool call, no claim of success, and the reply says
  plainly that it cannot ("can't", "无法", "不支援"...);
- ``unknown: true``: nothing changed, no tool call, no claim of success, and the reply says it
  did not understand (or that it cannot read the message);
- category ``chat``: besides ``unchanged``, an answer in words that is not "I didn't
  understand".

The backend runs with its shipped defaults (including the share of edit turns that end
without text), only without thinking delays. Runs offline in a few seconds.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import re
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml
from PIL import Image

from skill.local.server import Director, LocalBackend
from skill.local.server import draft as drafts
from skill.manifest import attribution_headers

ROOT = Path(__file__).resolve().parent.parent
PHRASINGS = ROOT / "tests" / "data" / "director_phrasings.yaml"

CATEGORIES = (
    "keyword",
    "typo",
    "slang",
    "number",
    "multi",
    "relative",
    "negation",
    "text_argument",
    "traditional",
    "undo",
    "export",
    "cannot",
    "unknown",
    "chat",
)
LANGS = ("en", "zh-Hans", "zh-Hant", "mixed")
SETTINGS = ("motion", "intensity", "duration", "aspect", "loop", "title", "music", "music_volume")
FLAGS = ("unchanged", "export", "cannot", "unknown")
LEVELS = ("subtle", "medium", "strong")
_COMPARISON = re.compile(r"^\s*(<=|>=|<|>)\s*(\S+)\s*$")

_SUCCESS = re.compile(
    r"\b(done|all set|updated|i set|i've|i have (set|added|changed|made|removed)|i added|"
    r"i changed|i made|i removed|i trimmed|now (jiggles|bounces|wobbles|loops))\b|"
    r"完成|已设置|已设定|已添加|已更改|已修改|已移除|已删除|已调整|已剪|搞定|好了|"
    r"已設定|已新增|已刪除|已調整|已變更",
    re.IGNORECASE,
)
_CANNOT = re.compile(
    r"\b(can't|cannot|can not|unable|not able|isn't possible|not possible|not supported|"
    r"don't support|doesn't support|no way to|not yet)\b|"
    r"无法|不能|做不到|做不了|不支持|暂不|还不会|还不能|無法|辦不到|不支援|暫不|還不能|還不會",
    re.IGNORECASE,
)
_NOT_UNDERSTOOD = re.compile(
    r"not sure what|didn't (understand|get|catch)|did not (understand|get)|"
    r"(don't|do not|couldn't|could not) understand|what do you mean|rephrase|"
    r"不确定|不明白|没听懂|不太懂|看不懂|不理解|没明白|什么意思|"
    r"不確定|沒聽懂|看不懂|沒明白|什麼意思",
    re.IGNORECASE,
)


# -- the phrasings ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One phrasing of the evaluation set."""

    index: int
    say: str
    lang: str
    category: str
    expect: Mapping[str, Any]
    before: Mapping[str, Any] = field(default_factory=dict)
    history: tuple[str, ...] = ()


def load_entries(path: Path) -> tuple[dict[str, Any], list[Entry]]:
    """The baseline draft settings and the entries, checked against the format."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("phrasings"), list):
        raise SystemExit(f"{path}: expected a mapping with a 'phrasings' list")
    baseline = dict(data.get("baseline") or {})
    entries: list[Entry] = []
    for index, raw in enumerate(data["phrasings"]):
        where = f"{path.name} entry {index} ({raw.get('say')!r})"
        if not isinstance(raw, dict) or not isinstance(raw.get("say"), str):
            raise SystemExit(f"{where}: needs a 'say' string")
        if raw.get("category") not in CATEGORIES:
            raise SystemExit(f"{where}: category must be one of {', '.join(CATEGORIES)}")
        if raw.get("lang") not in LANGS:
            raise SystemExit(f"{where}: lang must be one of {', '.join(LANGS)}")
        expect = raw.get("expect")
        if not isinstance(expect, dict) or not expect:
            raise SystemExit(f"{where}: needs a non-empty 'expect' mapping")
        before = raw.get("before") or {}
        for key in expect:
            if key not in SETTINGS and key not in FLAGS:
                raise SystemExit(f"{where}: unknown expect field {key!r}")
        for key in before:
            if key not in SETTINGS:
                raise SystemExit(f"{where}: unknown before field {key!r}")
        history = raw.get("history") or []
        if not isinstance(history, list) or not all(isinstance(h, str) for h in history):
            raise SystemExit(f"{where}: history must be a list of messages")
        entries.append(
            Entry(
                index=index,
                say=raw["say"],
                lang=raw["lang"],
                category=raw["category"],
                expect=expect,
                before=before,
                history=tuple(history),
            )
        )
    return baseline, entries


# -- the draft in the neutral vocabulary -----------------------------------------------------


def neutral(draft: Mapping[str, Any]) -> dict[str, Any]:
    """What a creator would see of ``draft``, as the renderer reads it."""
    settings = drafts.read_settings(draft)
    segment = drafts.video_segment(draft) or {}
    loop = (segment.get("m") or {}).get("loop", True)
    return {
        "motion": settings.motion,
        "intensity": settings.intensity,
        "duration": settings.duration,
        "aspect": settings.aspect,
        "loop": bool(loop),
        "title": settings.title,
        "music": settings.bgm,
        "music_volume": round(settings.bgm_volume * 100) if settings.bgm else None,
    }


def _ordinal(key: str, value: Any) -> float | None:
    if key == "intensity":
        return float(LEVELS.index(value)) if value in LEVELS else None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return float(value)
    except ValueError:
        return None


def matches(key: str, want: Any, got: Any) -> bool:
    """Whether the setting ``key`` with value ``got`` satisfies the expectation ``want``."""
    if want is None or got is None:
        return want is None and got is None
    comparison = _COMPARISON.match(want) if isinstance(want, str) else None
    if comparison is not None and key in ("intensity", "duration", "music_volume"):
        op, raw = comparison.groups()
        bound, actual = _ordinal(key, raw), _ordinal(key, got)
        if bound is None or actual is None:
            return False
        return {
            "<": actual < bound,
            ">": actual > bound,
            "<=": actual <= bound,
            ">=": actual >= bound,
        }[op]
    if isinstance(want, bool) or isinstance(got, bool):
        return want is got
    if isinstance(want, int | float) and isinstance(got, int | float):
        return math.isclose(float(want), float(got), abs_tol=1e-6)
    if key == "title":
        return str(want).strip() == str(got).strip()
    return bool(str(want) == str(got))


# -- talking to the backend ------------------------------------------------------------------


@dataclass
class TurnResult:
    """What a chat turn sent back."""

    texts: list[str]
    calls: list[tuple[str, dict[str, Any]]]
    error: str | None

    @property
    def reply(self) -> str:
        return " ".join(t for t in self.texts if t).strip()


def _photo_bytes() -> bytes:
    """A small photo: a warm disc on a cool background, as a JPEG."""
    image = Image.new("RGB", (120, 160), (70, 110, 160))
    pixels = image.load()
    assert pixels is not None
    for y in range(160):
        for x in range(120):
            if (x - 60) ** 2 + (y - 90) ** 2 < 40**2:
                pixels[x, y] = (220, 150 + (x % 20), 90)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


class Client:
    """The wire protocol, spoken by hand (as the server tests do)."""

    def __init__(self, backend: LocalBackend) -> None:
        self.backend = backend
        self.http = httpx.Client(
            base_url=backend.base_url, timeout=30.0, headers=attribution_headers()
        )
        response = self.http.post(
            "/api/auth/anonymous-token", headers={"X-Client-Id": str(uuid.uuid4())}
        )
        response.raise_for_status()
        self.auth = {"Authorization": f"Bearer {response.json()['data']['token']}"}
        self.photo = _photo_bytes()

    def close(self) -> None:
        self.http.close()

    def new_session(self, language: str) -> str:
        response = self.http.post(
            "/api/tasks/me/with-session/nemo_agent",
            json={"task_name": "director-eval", "language": language},
            headers=self.auth,
        )
        response.raise_for_status()
        return str(response.json()["data"]["session_id"])

    def upload_photo(self, sid: str) -> None:
        response = self.http.post(
            f"/api/upload-video/nemo_agent/me/{sid}",
            files=[("files", ("photo.jpg", self.photo, "image/jpeg"))],
            headers=self.auth,
        )
        response.raise_for_status()

    def draft(self, sid: str) -> dict[str, Any]:
        response = self.http.get(f"/api/state/nemo_agent/me/{sid}/latest", headers=self.auth)
        response.raise_for_status()
        value = response.json()["data"]["state"]["draft"]
        assert isinstance(value, dict)
        return value

    def chat(self, sid: str, text: str) -> TurnResult:
        body = {
            "app_name": "nemo_agent",
            "user_id": "me",
            "session_id": sid,
            "new_message": {"role": "user", "parts": [{"text": text}]},
            "streaming": True,
        }
        with self.http.stream(
            "POST",
            "/run_sse",
            json=body,
            headers={**self.auth, "Accept": "text/event-stream"},
        ) as response:
            raw = response.read()
        if response.status_code != 200:
            return TurnResult([], [], f"HTTP {response.status_code}: {raw[:200]!r}")
        return parse_turn(raw.decode("utf-8"))


def parse_turn(raw: str) -> TurnResult:
    """The whole texts, tool calls and error of an SSE chat stream (heartbeats skipped)."""
    result = TurnResult([], [], None)
    for block in raw.split("\n\n"):
        data = "\n".join(
            line[5:].lstrip(" ") for line in block.split("\n") if line.startswith("data:")
        )
        if not data:
            continue
        try:
            event = json.loads(data)
        except json.JSONDecodeError:
            continue
        if not isinstance(event, dict) or event.get("type") == "heartbeat":
            continue
        if event.get("errorCode"):
            result.error = str(event.get("errorMessage") or event["errorCode"])
        for part in (event.get("content") or {}).get("parts") or []:
            if not isinstance(part, dict):
                continue
            if "text" in part and not event.get("partial"):
                result.texts.append(str(part["text"]))
            call = part.get("functionCall")
            if isinstance(call, dict):
                result.calls.append((str(call.get("name")), dict(call.get("args") or {})))
    return result


def apply_before(backend: LocalBackend, sid: str, before: Mapping[str, Any]) -> None:
    """Set ``before`` on the session's draft with the draft module's own edits."""
    service = backend._service
    assert service is not None, "the backend is not running"
    store = service.store
    with store.lock:
        session = store.sessions[sid]
        draft, style = session.draft, session.style
        motion = {k: before[k] for k in ("motion", "intensity", "loop") if k in before}
        if motion:
            segment = drafts.video_segment(draft) or {}
            current = {**drafts.DEFAULT_STYLE, **(segment.get("m") or {})}
            args = {k: motion.get(k, current[k]) for k in ("motion", "intensity", "loop")}
            drafts.apply_edit(draft, style, "apply_motion", args)
        if "duration" in before:
            drafts.apply_edit(draft, style, "set_duration", {"seconds": before["duration"]})
        if "aspect" in before:
            drafts.apply_edit(draft, style, "set_aspect_ratio", {"aspect": before["aspect"]})
        if "title" in before:
            if before["title"] is None:
                drafts.apply_edit(draft, style, "remove_title", {})
            else:
                drafts.apply_edit(draft, style, "set_title", {"text": str(before["title"])})
        if before.get("music") is True or (
            "music_volume" in before and before.get("music") is not False
        ):
            volume = int(before.get("music_volume", drafts.DEFAULT_VOLUME))
            drafts.apply_edit(draft, style, "add_bgm", {"volume": volume})
        elif before.get("music") is False:
            drafts.apply_edit(draft, style, "remove_bgm", {})
        store.save_session(session)


# -- scoring ---------------------------------------------------------------------------------


@dataclass
class Outcome:
    """How one entry went."""

    entry: Entry
    passed: bool
    reasons: list[str]
    reply: str
    calls: list[tuple[str, dict[str, Any]]]
    pre: dict[str, Any]
    post: dict[str, Any]
    lenient_pass: bool  # cannot/unknown: nothing changed and no claim of success


def _said(pattern: re.Pattern[str], text: str) -> bool:
    return pattern.search(text.replace("’", "'")) is not None


def score(
    entry: Entry,
    pre: dict[str, Any],
    post: dict[str, Any],
    turn: TurnResult,
    export_planned: bool,
) -> Outcome:
    """Pass or miss, with the reasons of a miss."""
    reasons: list[str] = []
    expect = entry.expect
    changed = pre != post
    reply = turn.reply
    claims = bool(turn.calls) or _said(_SUCCESS, reply)
    if turn.error:
        reasons.append(f"error: {turn.error}")
    lenient = not changed and not claims
    if expect.get("cannot") or expect.get("unknown"):
        if changed:
            reasons.append("changed the draft")
        if claims:
            reasons.append("claimed a change" if turn.calls else "reply reads as a success")
        if expect.get("cannot") and not _said(_CANNOT, reply):
            reasons.append("did not say it cannot")
        if expect.get("unknown") and not (_said(_NOT_UNDERSTOOD, reply) or _said(_CANNOT, reply)):
            reasons.append("did not say it did not understand")
    fields = {k: v for k, v in expect.items() if k in SETTINGS}
    for key, want in fields.items():
        if not matches(key, want, post.get(key)):
            reasons.append(f"{key}: want {want!r}, got {post.get(key)!r}")
    if (
        fields
        and not expect.get("unchanged")
        and all(matches(k, v, pre[k]) for k, v in fields.items())
    ):
        reasons.append("setup: the expected settings already held before the message")
    if expect.get("unchanged") and changed:
        reasons.append("changed the draft")
    if expect.get("export"):
        named = any(re.search(r"export|render", name, re.IGNORECASE) for name, _ in turn.calls)
        if not (export_planned or named):
            reasons.append("not taken as an export")
    if entry.category == "chat":
        if not reply:
            reasons.append("no answer in words")
        if turn.calls:
            reasons.append("made tool calls")
        if _said(_NOT_UNDERSTOOD, reply):
            reasons.append("answered 'did not understand'")
    return Outcome(entry, not reasons, reasons, reply, turn.calls, pre, post, lenient)


def _diff(pre: Mapping[str, Any], post: Mapping[str, Any]) -> str:
    changes = [f"{k} {pre[k]!r}->{post[k]!r}" for k in SETTINGS if pre.get(k) != post.get(k)]
    return ", ".join(changes) or "no change"


def run(entries: Sequence[Entry], baseline: Mapping[str, Any]) -> tuple[list[Outcome], int, int]:
    """Every entry through a fresh session; also counts the silent turns and false successes."""
    outcomes: list[Outcome] = []
    silent = false_success = 0
    director = Director()
    backend = LocalBackend(
        heartbeat_interval=0.05,
        chat_delay=0.0,
        default_duration=5.0,
        starting_credits=10**9,
        tokens_per_client=None,
        tokens_per_ip=None,
    )
    with backend:
        client = Client(backend)
        try:
            for entry in entries:
                language = "zh" if entry.lang.startswith("zh") else "en"
                sid = client.new_session(language)
                client.upload_photo(sid)
                start = neutral(client.draft(sid))
                drift = {k: (v, start.get(k)) for k, v in baseline.items() if start.get(k) != v}
                if drift:
                    raise SystemExit(f"the fresh draft is not the baseline: {drift}")
                if entry.before:
                    apply_before(backend, sid, entry.before)
                for message in entry.history:
                    client.chat(sid, message)
                pre_draft = client.draft(sid)
                pre = neutral(pre_draft)
                turn = client.chat(sid, entry.say)
                post = neutral(client.draft(sid))
                plan = director.plan(entry.say)
                outcome = score(entry, pre, post, turn, plan.export)
                outcomes.append(outcome)
                if not turn.texts and not turn.error:
                    silent += 1
                if pre == post and (turn.calls or _said(_SUCCESS, turn.reply)):
                    false_success += 1
        finally:
            client.close()
    return outcomes, silent, false_success


def report(outcomes: Sequence[Outcome], silent: int, false_success: int, *, verbose: bool) -> float:
    """Print the scores (and with ``verbose`` every miss); the overall score as a fraction."""
    if verbose:
        for o in outcomes:
            if o.passed:
                continue
            e = o.entry
            print(f"MISS [{e.category}/{e.lang}] #{e.index} {e.say!r}")
            if e.before:
                print(f"    before:  {dict(e.before)}")
            if e.history:
                print(f"    history: {list(e.history)}")
            print(f"    expect:  {dict(e.expect)}")
            print(f"    why:     {'; '.join(o.reasons)}")
            print(f"    change:  {_diff(o.pre, o.post)}")
            calls = ", ".join(f"{name}{args}" for name, args in o.calls)
            print(f"    calls:   {calls or '-'}")
            print(f"    reply:   {o.reply or '(no text)'}")
        print()
    print(f"{'category':<14} {'pass':>5} {'total':>6} {'score':>7}")
    for category in CATEGORIES:
        mine = [o for o in outcomes if o.entry.category == category]
        if not mine:
            continue
        passed = sum(o.passed for o in mine)
        print(f"{category:<14} {passed:>5} {len(mine):>6} {passed / len(mine):>7.1%}")
    passed = sum(o.passed for o in outcomes)
    overall = passed / len(outcomes) if outcomes else 0.0
    print(f"{'overall':<14} {passed:>5} {len(outcomes):>6} {overall:>7.1%}")
    print()
    for lang in LANGS:
        mine = [o for o in outcomes if o.entry.lang == lang]
        if mine:
            ok = sum(o.passed for o in mine)
            print(f"lang {lang:<9} {ok:>5} {len(mine):>6} {ok / len(mine):>7.1%}")
    refusals = [o for o in outcomes if o.entry.expect.get("cannot")]
    if refusals:
        lenient = sum(o.lenient_pass for o in refusals)
        print(
            f"cannot, lenient (nothing changed, no claim of success, wording not checked): "
            f"{lenient}/{len(refusals)}"
        )
    print(f"turns without any text: {silent}/{len(outcomes)}")
    print(f"claimed a change but changed nothing: {false_success}/{len(outcomes)}")
    return overall


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--verbose", "-v", action="store_true", help="print every miss")
    parser.add_argument("--file", type=Path, default=PHRASINGS, help="the phrasings YAML")
    parser.add_argument(
        "--category", action="append", choices=CATEGORIES, help="only these categories"
    )
    parser.add_argument(
        "--min-score", type=float, default=None, help="exit 1 below this overall score (0-1)"
    )
    args = parser.parse_args(argv)
    baseline, entries = load_entries(args.file)
    if args.category:
        entries = [e for e in entries if e.category in args.category]
    began = time.monotonic()
    outcomes, silent, false_success = run(entries, baseline)
    overall = report(outcomes, silent, false_success, verbose=args.verbose)
    print(f"{len(outcomes)} phrasings in {time.monotonic() - began:.1f}s")
    if args.min_score is not None and overall < args.min_score:
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
