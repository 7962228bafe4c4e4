"""How long ``router.classify`` takes per message, next to a bare keyword search.

The corpus mixes the shapes real messages take: short commands, questions, negations, edits,
compound requests, paths and URLs, simplified and traditional Chinese, mixed language, one
long paragraph. The baseline is what the seed's table amounts to (``str.lower()`` and one
``re.search`` for the keywords) over the same corpus in the same run, so the ratio says what
understanding costs on whatever machine runs it. The target is under 50 microseconds a call.
"""

from __future__ import annotations

import re

from benchmarks._timing import ROUNDS, per_call
from router import classify, translate_gui

_CORPUS = [
    "export",
    "ok export it now",
    "can you export in 1080p?",
    "how do I export?",
    "don't download yet",
    "export the title in red",
    "make this image jiggle and bounce with a subtle looping motion",
    "how many credits do I have left",
    "what's my balance",
    "balance the colors",
    "show me the timeline",
    "where are we at",
    "upload this",
    "~/Pictures/cat.jpg",
    "https://x.com/a.png then make it wobble",
    "add BGM then export",
    "check my credits and then export",
    'add a title "Export Sale"',
    "exprot pls",
    "I'm done, send it over",
    "导出视频",
    "还剩多少积分",
    "目前进度",
    "先别导出",
    "加个字幕然后导出",
    "匯出影片",
    "餘額多少",
    "帮我 export 一下",
    "ＥＸＰＯＲＴ！",
    "Make her hair bounce a little more, slow the loop down to two seconds, add a lo-fi "
    "track at 35% volume and a title that says 'Summer Vibes' in the top corner, then "
    "preview it and if it looks good export it as an mp4 for TikTok.",
]
_GUI = [
    "Done! Click Export to download your video.",
    "点击导出即可下载",
    "Open the project panel to see your tracks",
    "I added a subtle jiggle that loops every two seconds.",
]
_KEYWORDS = re.compile(r"export|导出|download|credits|积分|balance|余额|status|状态|upload|上传")


def _baseline(text: str) -> object:
    return _KEYWORDS.search(text.lower())


def main() -> None:
    for text in _CORPUS:  # warm up: tables load, caches fill as they would in a session
        classify(text)
    baseline = per_call(_baseline, _CORPUS, 200)
    routed = per_call(classify, _CORPUS, 20)
    gui = per_call(translate_gui, _GUI, 50)
    verdict = "under" if routed < 50e-6 else "OVER"
    print(f"baseline (lower + re.search): {baseline * 1e6:8.2f} us/call")
    print(
        f"classify:                     {routed * 1e6:8.2f} us/call  "
        f"({routed / baseline:.0f}x baseline; {verdict} the 50 us target)"
    )
    print(f"translate_gui:                {gui * 1e6:8.2f} us/call  ({gui / baseline:.0f}x)")
    print(f"corpus: {len(_CORPUS)} messages, median of {ROUNDS} rounds")


if __name__ == "__main__":
    main()
