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
from pathlib import Path

import yaml

from benchmarks._timing import ROUNDS, per_call
from router import classify
from skill.local.server.director import Director, Plan, Workspace

_DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
_SETS = ("director_phrasings.yaml", "director_heldout.yaml", "director_blind.yaml")
_KEYWORDS = re.compile(
    r"jiggle|bounce|wobble|jelly|subtle|strong|second|square|landscape|portrait|music|title|"
    r"undo|export|抖|弹|摇|秒|横|竖|音乐|标题|撤销|导出"
)
_TARGET = 0.5e-3


def _corpus() -> list[str]:
    messages: list[str] = []
    for name in _SETS:
        data = yaml.safe_load((_DATA / name).read_text(encoding="utf-8"))
        messages.extend(str(entry["say"]) for entry in data["phrasings"])
    return messages


def main() -> None:
    corpus = _corpus()
    director = Director()
    plans = {text: director.plan(text) for text in corpus}  # warm up: tables load, caches fill
    for text in corpus:
        classify(text)
    baseline = per_call(lambda text: _KEYWORDS.search(text.lower()), corpus, 100)
    routed = per_call(classify, corpus, 10)
    planned = per_call(director.plan, corpus, 5)
    template = Workspace.with_photo()

    def run(plan: Plan) -> str:
        session = Workspace(copy.deepcopy(template.draft))
        lang = director.language(plan, "en")
        if plan.kind != "edit":
            return director.answer(plan, director.look(session), lang)
        outcome = director.execute(plan, session)
        return director.closing(plan, outcome, lang)

    executed = per_call(lambda text: run(plans[text]), corpus, 1)
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
    print(f"corpus: {len(corpus)} messages, median of {ROUNDS} rounds")


if __name__ == "__main__":
    main()
