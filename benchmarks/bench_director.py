"""How long the local director takes to plan one message, next to a bare keyword search.

The corpus is every phrasing of the three evaluation sets in tests/data (English, simplified
and traditional Chinese, mixed; typos, emoji, multi-edit, negation, undo, out of scope...).
Baselines from the same run: ``str.lower()`` plus one ``re.search`` for the edit keywords (what
a keyword table costs), and ``router.classify`` on the same messages (the other reader of each
message). The target is at most 0.5 ms a message on average: planning sits in front of a
multi-second render. Planning, running the plan on a draft and writing the reply are timed
apart.
"""

from __future__ import annotations

import copy
import re
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from router import classify
from skill.local.server import draft as drafts
from skill.local.server.director import Director, Plan

_DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
_SETS = ("director_phrasings.yaml", "director_heldout.yaml", "director_blind.yaml")
_KEYWORDS = re.compile(
    r"jiggle|bounce|wobble|jelly|subtle|strong|second|square|landscape|portrait|music|title|"
    r"undo|export|抖|弹|摇|秒|横|竖|音乐|标题|撤销|导出"
)
_ROUNDS = 7
_TARGET = 0.5e-3


def _corpus() -> list[str]:
    messages: list[str] = []
    for name in _SETS:
        data = yaml.safe_load((_DATA / name).read_text(encoding="utf-8"))
        messages.extend(str(entry["say"]) for entry in data["phrasings"])
    return messages


def _per_call(function: Callable[[str], object], corpus: list[str], repeat: int) -> float:
    """Median over rounds of the mean seconds per call."""
    rounds = []
    for _ in range(_ROUNDS):
        start = time.perf_counter()
        for _ in range(repeat):
            for text in corpus:
                function(text)
        rounds.append((time.perf_counter() - start) / (repeat * len(corpus)))
    return statistics.median(rounds)


@dataclass
class _Session:
    draft: dict[str, Any]
    style: dict[str, Any] = field(default_factory=dict)
    undo: list[dict[str, Any]] = field(default_factory=list)
    redo: list[dict[str, Any]] = field(default_factory=list)


def _fresh() -> _Session:
    draft = drafts.new_draft(5.0)
    drafts.place_photo(draft, name="cat.jpg", src="http://cdn/cat.jpg", media_id="m_1", style={})
    return _Session(draft)


def main() -> None:
    corpus = _corpus()
    director = Director()
    plans = [director.plan(text) for text in corpus]  # warm up: tables load, caches fill
    for text in corpus:
        classify(text)
    baseline = _per_call(lambda text: _KEYWORDS.search(text.lower()), corpus, 100)
    routed = _per_call(classify, corpus, 10)
    planned = _per_call(director.plan, corpus, 5)
    template = _fresh()

    def run(plan: Plan) -> str:
        session = _Session(copy.deepcopy(template.draft))
        lang = director.language(plan, "en")
        if plan.kind != "edit":
            return director.answer(plan, director.look(session), lang)
        outcome = director.execute(plan, session)
        return director.closing(plan, outcome, lang)

    rounds = []
    for _ in range(_ROUNDS):
        start = time.perf_counter()
        for plan in plans:
            run(plan)
        rounds.append((time.perf_counter() - start) / len(plans))
    executed = statistics.median(rounds)
    verdict = "under" if planned <= _TARGET else "OVER"
    print(f"baseline (lower + re.search):  {baseline * 1e6:8.1f} us/message")
    ratio = routed / baseline
    print(f"router.classify:               {routed * 1e6:8.1f} us/message ({ratio:.0f}x)")
    print(
        f"director.plan:                 {planned * 1e6:8.1f} us/message "
        f"({planned / baseline:.0f}x baseline, {planned / routed:.1f}x classify; "
        f"{verdict} the 500 us target)"
    )
    print(f"execute + reply (on a draft):  {executed * 1e6:8.1f} us/message")
    print(f"corpus: {len(corpus)} messages, median of {_ROUNDS} rounds")


if __name__ == "__main__":
    main()
