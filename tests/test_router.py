"""The utterance router: table-driven accuracy, a held-out list, properties, the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from router import Action, GuiAction, GuiKind, Intent, classify, translate_gui
from router._files import extract_files
from router._typos import TypoFixer

ROOT = Path(__file__).resolve().parent.parent

# (message, expected actions in order, attachments). Each expected answer follows the
# decisions written down in docs/router.md.
CASES: list[tuple[str, str, tuple[str, ...]]] = [
    # English: export
    ("export", "export", ()),
    ("Export!", "export", ()),
    ("ok export it now", "export", ()),
    ("export in 1080p", "export", ()),
    ("export 1080p MP4", "export", ()),
    ("can you export?", "export", ()),
    ("could you export it for me please", "export", ()),
    ("render it", "export", ()),
    ("render the final video", "export", ()),
    ("give me the mp4", "export", ()),
    ("I'm done, send it over", "export", ()),
    ("send me the video", "export", ()),
    ("save it", "export", ()),
    ("save it as an mp4", "export", ()),
    ("download", "export", ()),
    ("download it", "export", ()),
    ("let me download the video", "export", ()),
    ("finalize the video", "export", ()),
    ("ship it", "export", ()),
    ("looks great, export", "export", ()),
    ("EXPORT NOW", "export", ()),
    ("ｅｘｐｏｒｔ", "export", ()),
    ("  export   it  ", "export", ()),
    ("exprot", "export", ()),
    ("dowload the video", "export", ()),
    ("rendr it pls", "export", ()),
    ("export for tiktok", "export", ()),
    ("i want the mp4", "export", ()),
    ("can I get the video now?", "export", ()),
    ("hit export", "export", ()),
    ("export it in 4k", "export", ()),
    ("perfect! download it", "export", ()),
    ("convert it to mp4", "export", ()),
    ("turn this into an mp4", "export", ()),
    ("export the jiggle video", "export", ()),
    ("ok render", "export", ()),
    ("export at 60fps", "export", ()),
    ("export in 9:16", "export", ()),
    ("how about we export now", "export", ()),
    ("why not export it now", "export", ()),
    # English: not an export
    ("how do I export?", "chat", ()),
    ("how to download the video", "chat", ()),
    ("don't download yet", "chat", ()),
    ("don't export yet", "chat", ()),
    ("do not export", "chat", ()),
    ("not ready to export", "chat", ()),
    ("no need to export", "chat", ()),
    ("export later", "chat", ()),
    ("why can't I export", "chat", ()),
    ("export failed", "chat", ()),
    ("the export is blurry", "chat", ()),
    ("where is the export button", "chat", ()),
    ("how long does rendering take?", "chat", ()),
    ("is it done exporting?", "chat", ()),
    ("before exporting, add a title", "chat", ()),
    ("export the title in red", "chat", ()),
    ("make the export look sharper", "chat", ()),
    ('add a title "Export Sale"', "chat", ()),
    ("add a title “Download now”", "chat", ()),
    ("download some music and add it", "chat", ()),
    ("render it with more bounce", "chat", ()),
    ("what export settings do you use", "chat", ()),
    # English: look-alikes and edits
    ("balance the colors", "chat", ()),
    ("white balance looks off", "chat", ()),
    ("the status bar in the photo should be removed", "chat", ()),
    ("add a progress bar", "chat", ()),
    ("add credits at the end", "chat", ()),
    ("roll the credits", "chat", ()),
    ("make the timeline longer", "chat", ()),
    ("add a caption that says 'check my credits'", "chat", ()),
    ("make this image jiggle and bounce with a subtle looping motion", "chat", ()),
    ("add lo-fi BGM", "chat", ()),
    ("make it bounce harder", "chat", ()),
    ("add an audio track", "chat", ()),
    ("credit the photographer in the corner", "chat", ()),
    ("track the face", "chat", ()),
    ("make it look like an expert edited it", "chat", ()),
    ("unload the music", "chat", ()),
    ("hello", "chat", ()),
    ("", "chat", ()),
    ("thanks!", "chat", ()),
    ("convert my still images", "chat", ()),
    ("make the jiggle stronger", "chat", ()),
    # English: credits
    ("credits", "credits", ()),
    ("how many credits do I have left", "credits", ()),
    ("what's my balance", "credits", ()),
    ("how much credit is left", "credits", ()),
    ("check my credits", "credits", ()),
    ("credts?", "credits", ()),
    ("am I out of credits?", "credits", ()),
    ("do I have enough credits to export?", "credits", ()),
    ("remaining balance", "credits", ()),
    ("balance?", "credits", ()),
    ("credit balance please", "credits", ()),
    ("how many points do I have", "credits", ()),
    ("top up", "credits", ()),
    ("buy more credits", "credits", ()),
    ("CREDITS", "credits", ()),
    ("balanse", "credits", ()),
    # English: state
    ("status", "state", ()),
    ("staus", "state", ()),
    ("show tracks", "state", ()),
    ("list the tracks", "state", ()),
    ("show me the timeline", "state", ()),
    ("what's in my project", "state", ()),
    ("where are we at", "state", ()),
    ("what's the progress?", "state", ()),
    ("timeline", "state", ()),
    ("show the current draft", "state", ()),
    ("what have we got so far", "state", ()),
    ("preview in timeline", "state", ()),
    ("what's the status of my export?", "state", ()),
    ("timline pls", "state", ()),
    # English: upload
    ("upload", "upload", ()),
    ("upload this", "upload", ()),
    ("~/Pictures/cat.jpg", "upload", ()),
    ("https://x.com/a.png", "upload", ()),
    ("/tmp/photo.png make it jiggle", "upload chat", ()),
    ("upload ~/cat.jpg then export", "upload export", ()),
    ("here's my photo", "upload", ("cat.png",)),
    ("make this jiggle", "upload chat", ("cat.png",)),
    ("", "upload", ("cat.png",)),
    ("C:\\Users\\me\\cat.png", "upload", ()),
    ("cat.jpg", "upload", ()),
    ("uplod a photo", "upload", ()),
    ("upload it to tiktok", "chat", ()),
    ("don't upload anything", "chat", ()),
    ("use this photo", "upload", ("~/a.jpg",)),
    # Compound
    ("add BGM then export", "chat export", ()),
    ("check my credits and then export", "credits export", ()),
    ("add a title, then render it", "chat export", ()),
    ("check status; export", "state export", ()),
    ("export and then check my credits", "export credits", ()),
    ("show the timeline then add a title then export", "state chat export", ()),
    ("export it, but first add a title", "chat export", ()),
    ("make it bounce and export", "chat export", ()),
    ("check credits then status", "credits state", ()),
    ("jiggle and bounce then download", "chat export", ()),
    ("add music. after that export in 1080p", "chat export", ()),
    ("upload ~/a.jpg and ~/b.jpg", "upload", ()),
    # Simplified Chinese
    ("导出", "export", ()),
    ("导出视频", "export", ()),
    ("出片", "export", ()),
    ("下载成片", "export", ()),
    ("帮我导出一下", "export", ()),
    ("可以导出了吗", "export", ()),
    ("能导出吗", "export", ()),
    ("导出高清视频", "export", ()),
    ("保存视频", "export", ()),
    ("怎么导出", "chat", ()),
    ("如何下载视频", "chat", ()),
    ("先别导出", "chat", ()),
    ("不要导出", "chat", ()),
    ("暂时不导出", "chat", ()),
    ("导出失败了", "chat", ()),
    ("导出好了吗", "chat", ()),
    ("积分", "credits", ()),
    ("还剩多少积分", "credits", ()),
    ("我的余额", "credits", ()),
    ("查一下积分", "credits", ()),
    ("导出需要多少积分", "credits", ()),
    ("状态", "state", ()),
    ("目前进度", "state", ()),
    ("看看时间线", "state", ()),
    ("项目里有什么", "state", ()),
    ("上传", "upload", ()),
    ("上传这张图", "upload", ("a.jpg",)),
    ("加个字幕然后导出", "chat export", ()),
    ("先查积分再导出", "credits export", ()),
    ("让图片抖动起来", "chat", ()),
    ("把背景音乐调小一点", "chat", ()),
    ("导出的视频太模糊了", "chat", ()),
    ("添加标题“导出大促”", "chat", ()),
    ("下载一首音乐加进去", "chat", ()),
    ("加一个状态栏", "chat", ()),
    ("你好", "chat", ()),
    ("好的，导出吧", "export", ()),
    ("导 出", "export", ()),
    # Traditional Chinese
    ("匯出", "export", ()),
    ("匯出影片", "export", ()),
    ("下載", "export", ()),
    ("餘額多少", "credits", ()),
    ("積分還剩多少", "credits", ()),
    ("狀態", "state", ()),
    ("上傳", "upload", ()),
    ("先別匯出", "chat", ()),
    ("加字幕然後匯出", "chat export", ()),
    ("時間軸", "state", ()),
    ("目前進度如何", "state", ()),
    ("yo export that", "export", ()),
    ("export pls", "export", ()),
    ("Export it!!", "export", ()),
    ("can you render the video now", "export", ()),
    ("I'd like to download my video", "export", ()),
    ("please send over the mp4", "export", ()),
    ("gimme the video", "export", ()),
    ("let's export", "export", ()),
    ("go ahead and export", "export", ()),
    ("export now please, thanks!", "export", ()),
    ("all good, render it out", "export", ()),
    ("that's perfect, download", "export", ()),
    ("we're done here, export the final version", "export", ()),
    ("export as gif", "export", ()),
    ("Export the video in HD", "export", ()),
    ("i need the final video", "export", ()),
    ("save to my camera roll", "export", ()),
    ("save", "export", ()),
    ("download the final cut", "export", ()),
    ("start the export", "export", ()),
    ("hold on, don't export", "chat", ()),
    ("wait don't render yet", "chat", ()),
    ("never mind the export", "chat", ()),
    ("cancel the export", "chat", ()),
    ("what does export do?", "chat", ()),
    ("can't download the video", "chat", ()),
    ("the download link doesn't work", "chat", ()),
    ("export with transparent background", "chat", ()),
    ("add a download button sticker", "chat", ()),
    ("write 'credits' on the bottom", "chat", ()),
    ("make the status text pink", "chat", ()),
    ("balance the lighting", "chat", ()),
    ("i love the bounce", "chat", ()),
    ("make her hair bounce more", "chat", ()),
    ("slow down the jiggle", "chat", ()),
    ("use a lo-fi song as bgm", "chat", ()),
    ("how much does it cost?", "chat", ()),
    ("how many credits left?", "credits", ()),
    ("what's my credit balance", "credits", ()),
    ("show balance", "credits", ()),
    ("credits?", "credits", ()),
    ("how many credits does an export cost", "credits", ()),
    ("any credits left", "credits", ()),
    ("check balance then export", "credits export", ()),
    ("where's my project at", "state", ()),
    ("show me what we have", "chat", ()),
    ("what's on the timeline", "state", ()),
    ("list tracks", "state", ()),
    ("current status?", "state", ()),
    ("project status", "state", ()),
    ("status update pls", "state", ()),
    ("summarize the edit", "state", ()),
    ("upload pic", "upload", ()),
    ("I want to upload a photo", "upload", ()),
    ("uploading now", "upload", ()),
    ("https://cdn.example.com/pics/dog.png jiggle it", "upload chat", ()),
    ("animate ~/Downloads/IMG_0042.HEIC with a subtle bounce", "upload chat", ()),
    ("here are my photos", "upload", ()),
    ("use these", "upload", ("a.jpg", "b.jpg")),
    ("bounce this one please", "upload chat", ("a.jpg",)),
    ("导出吧谢谢", "export", ()),
    ("直接导出", "export", ()),
    ("好了，可以出片了", "export", ()),
    ("帮我保存一下", "export", ()),
    ("把视频发给我", "export", ()),
    ("我要下载", "export", ()),
    ("渲染一下", "export", ()),
    ("导出1080p的mp4", "export", ()),
    ("现在导出", "export", ()),
    ("先不要下载", "chat", ()),
    ("还不能导出", "chat", ()),
    ("导出按钮在哪", "chat", ()),
    ("为什么下载不了", "chat", ()),
    ("导出来的视频没有声音", "chat", ()),
    ("给标题加个下载图标", "chat", ()),
    ("我的积分还有多少", "credits", ()),
    ("余额还够吗", "credits", ()),
    ("查询余额", "credits", ()),
    ("积分不够了怎么办", "credits", ()),
    ("进度怎么样了", "state", ()),
    ("现在做到哪一步了", "state", ()),
    ("看下时间线", "state", ()),
    ("显示轨道", "state", ()),
    ("上传图片", "upload", ()),
    ("我要上传一张照片", "upload", ()),
    ("让这张图动起来", "upload chat", ("a.jpg",)),
    ("加点弹跳效果然后导出", "chat export", ()),
    ("先看看进度再导出", "state export", ()),
    ("匯出影片吧", "export", ()),
    ("幫我下載", "export", ()),
    ("我的積分", "credits", ()),
    ("查看進度", "state", ()),
    ("別下載", "chat", ()),
    ("上傳照片", "upload", ()),
    ("加音樂然後下載", "chat export", ()),
    ("帮我 check 一下 credits", "credits", ()),
    ("export 一下吧", "export", ()),
    ("加个 title 然后 render", "chat export", ()),
    ("看看 timeline", "state", ()),
    ("Upload 这张图", "upload", ()),
    # Acknowledgements add nothing; making the video and exporting it is one export.
    ("ok I'm happy with it, download please", "export", ()),
    ("I'm happy with it", "chat", ()),
    ("可以了，下载", "export", ()),
    ("生成视频并下载", "export", ()),
    ("生成并导出", "export", ()),
    ("做一个视频然后导出", "export", ()),
    ("generate the video and download it", "export", ()),
    ("generate the video", "chat", ()),
    ("生成视频", "chat", ()),
    ("生成字幕然后导出", "chat export", ()),
    ("generate a new title and export", "chat export", ()),
    ("create the video then check my credits", "chat credits", ()),
]

# Written before the router was tuned, and never edited to match its output: how the
# router does on phrasings it was not tuned for. At the first run it got 54 of 55.
HELD_OUT: list[tuple[str, str, tuple[str, ...]]] = [
    ("can u render this out", "export", ()),
    ("okay let's export this bad boy", "export", ()),
    ("pls download", "export", ()),
    ("send the final cut to me", "export", ()),
    ("Can you send me the file?", "export", ()),
    ("save the video to my phone", "export", ()),
    ("export pls 🙏", "export", ()),
    ("EXPORT!!!", "export", ()),
    ("after that export it", "export", ()),
    ("finish and export", "export", ()),
    ("how much balance do i have", "credits", ()),
    ("what's left on my account", "credits", ()),
    ("do I have any credits left?", "credits", ()),
    ("show me the tracks", "state", ()),
    ("what does my timeline look like", "state", ()),
    ("give me a summary of the project", "state", ()),
    ("how's the project looking", "state", ()),
    ("don't render it yet", "chat", ()),
    ("hold off on the export", "chat", ()),
    ("how can I download my video?", "chat", ()),
    ("is it rendering?", "chat", ()),
    ("export the caption in bold", "chat", ()),
    ("add a 'download now' sticker", "chat", ()),
    ("balance the audio levels", "chat", ()),
    ("add text that says balance", "chat", ()),
    ("make the title say 'Status Update'", "chat", ()),
    ("export the video with the music louder", "chat", ()),
    ("make her jiggle a bit more", "chat", ()),
    ("upload these two photos", "upload", ()),
    ("https://example.com/dog.webp then make it wobble", "upload chat", ()),
    ("~/Desktop/me.heic", "upload", ()),
    ("add music, then export as mp4", "chat export", ()),
    ("check credits, then render", "credits export", ()),
    ("导出吧", "export", ()),
    ("给我成片", "export", ()),
    ("出个片", "export", ()),
    ("导出 MP4", "export", ()),
    ("存到相册", "export", ()),
    ("我还有多少积分", "credits", ()),
    ("剩余额度", "credits", ()),
    ("现在进度怎么样", "state", ()),
    ("看看轨道", "state", ()),
    ("别下载", "chat", ()),
    ("导出怎么操作", "chat", ()),
    ("把标题改成红色然后导出", "chat export", ()),
    ("匯出1080p", "export", ()),
    ("下載影片", "export", ()),
    ("點數還有多少", "credits", ()),
    ("目前狀態", "state", ()),
    ("上傳圖片", "upload", ()),
    ("不要匯出", "chat", ()),
    ("先加音樂再匯出", "chat export", ()),
    ("帮我 render 一下", "export", ()),
    ("积分 check", "credits", ()),
    ("make it bounce", "upload chat", ("/tmp/a.png",)),
]

# A second held-out list, written the same way before the acknowledgement and "generate and
# download" work: acknowledgements, questions, polite forms, typos, emoji, traditional and
# mixed. At its first run the router got 55 of 60.
HELD_OUT_2: list[tuple[str, str, tuple[str, ...]]] = [
    ("great, now render it", "export", ()),
    ("looks good to me, export please", "export", ()),
    ("perfect 👌 send me the mp4", "export", ()),
    ("could you please download the video for me?", "export", ()),
    ("would you mind exporting it now", "export", ()),
    ("I think we're done, let's render", "export", ()),
    ("exoprt it", "export", ()),
    ("downlaod pls", "export", ()),
    ("thanks! can I have the final video?", "export", ()),
    ("not yet, I still want to change the music", "chat", ()),
    ("please don't export it until I say so", "chat", ()),
    ("how long will the export take?", "chat", ()),
    ("why is the download so slow", "chat", ()),
    ("make the words 'render complete' appear at the end", "chat", ()),
    ("balance out the brightness", "chat", ()),
    ("how many credits will this cost me?", "credits", ()),
    ("any balance left on my account?", "credits", ()),
    ("cerdits left?", "credits", ()),
    ("show me the project status please", "state", ()),
    ("what have you changed so far?", "state", ()),
    ("can I see the timeline?", "state", ()),
    ("here is a new photo", "upload", ("~/b.jpg",)),
    ("please upload my selfie", "upload", ()),
    ("~/Pictures/beach.png make her hair bounce", "upload chat", ()),
    ("add a sparkle effect and then send me the video", "chat export", ()),
    ("check my balance, then export the video", "credits export", ()),
    ("awesome!! 🎉", "chat", ()),
    ("👍 looks good, export it", "export", ()),
    ("Could you render it for me, please?", "export", ()),
    ("the video looks great, I'm happy with it", "chat", ()),
    ("好的，帮我下载吧", "export", ()),
    ("不错，可以导出了", "export", ()),
    ("完美，出片吧", "export", ()),
    ("生成视频然后下载", "export", ()),
    ("请把成片发给我", "export", ()),
    ("导出之前先把音乐调小", "chat", ()),
    ("视频导出要多少积分", "credits", ()),
    ("我还剩几个点数", "credits", ()),
    ("现在是什么状态", "state", ()),
    ("时间线上都有什么", "state", ()),
    ("帮我上传这张照片", "upload", ()),
    ("给猫咪加个墨镜然后导出", "chat export", ()),
    ("怎么下载视频啊", "chat", ()),
    ("导出的视频在哪里", "chat", ()),
    ("可以了，导出吧 👍", "export", ()),
    ("好的，幫我匯出", "export", ()),
    ("請問還有多少餘額", "credits", ()),
    ("專案進度如何", "state", ()),
    ("先不要下載", "chat", ()),
    ("生成影片並下載", "export", ()),
    ("把字幕改成紅色然後匯出", "chat export", ()),
    ("上傳這張照片", "upload", ("a.jpg",)),
    ("影片匯出失敗了", "chat", ()),
    ("ok 帮我 download 一下", "export", ()),
    ("导出 mp4 please", "export", ()),
    ("check 一下余额", "credits", ()),
    ("timeline 给我看看", "state", ()),
    ("好的 thanks, export 吧", "export", ()),
    ("加个 BGM 再 export", "chat export", ()),
    ("不要 export", "chat", ()),
]


def _actions(text: str, attachments: tuple[str, ...] = ()) -> str:
    return " ".join(classify(text, attachments).actions)


@pytest.mark.parametrize(("text", "expected", "attachments"), CASES)
def test_classify_table(text: str, expected: str, attachments: tuple[str, ...]) -> None:
    assert _actions(text, attachments) == expected


@pytest.mark.parametrize(("text", "expected", "attachments"), HELD_OUT + HELD_OUT_2)
def test_classify_held_out(text: str, expected: str, attachments: tuple[str, ...]) -> None:
    assert _actions(text, attachments) == expected


def test_tables_are_large_and_distinct() -> None:
    texts = [row[0] for row in CASES + HELD_OUT + HELD_OUT_2 if not row[2]]
    assert len(CASES) >= 150
    assert len(HELD_OUT_2) == 60
    assert len(texts) == len(set(texts)), "a message appears twice"
    assert not {row[0] for row in HELD_OUT + HELD_OUT_2} & {row[0] for row in CASES}


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("export", "en"),
        ("导出", "zh"),
        ("帮我 export 一下", "zh"),
        ("匯出影片", "zh"),
        ('add a title "新年快乐"', "en"),
        ("「新年快乐」", "zh"),
        ("", "en"),
        ("🎉", "en"),
    ],
)
def test_language(text: str, language: str) -> None:
    assert classify(text).language == language


def test_intent_fields() -> None:
    intent = classify("make it jiggle ~/Pictures/cat.jpg then export", ["/tmp/b.png"])
    assert intent.actions == (Action.UPLOAD, Action.CHAT, Action.EXPORT)
    assert intent.action is Action.UPLOAD
    assert not intent.skip_sse
    assert intent.files == ("~/Pictures/cat.jpg", "/tmp/b.png")
    assert intent.as_dict() == {
        "actions": ["upload", "chat", "export"],
        "skip_sse": False,
        "files": ["~/Pictures/cat.jpg", "/tmp/b.png"],
        "language": "en",
    }
    assert classify("check my credits and then export").skip_sse
    with pytest.raises(ValueError, match="at least one action"):
        Intent(actions=())


def test_action_is_a_str_enum() -> None:
    assert [str(a) for a in Action] == ["upload", "credits", "state", "export", "chat"]
    assert Action("export") == "export"


def test_files_are_deduplicated_in_order(tmp_path: Path) -> None:
    photo = tmp_path / "cat.png"
    intent = classify(f"upload {photo} and https://x.com/a.png and {photo}", [photo, "z.jpg"])
    assert intent.files == (str(photo), "https://x.com/a.png", "z.jpg")
    assert intent.actions == (Action.UPLOAD,)


@pytest.mark.parametrize(
    ("text", "files"),
    [
        ("~/Pictures/cat.jpg", ["~/Pictures/cat.jpg"]),
        ("see https://x.com/a.png.", ["https://x.com/a.png"]),
        ("https://cdn.example.com/Cat_(pet).jpg", ["https://cdn.example.com/Cat_(pet).jpg"]),
        ("(look at ~/a.png)", ["~/a.png"]),
        ("C:\\Users\\me\\cat.png now", ["C:\\Users\\me\\cat.png"]),
        ('"~/My Photos/cat 1.jpg" jiggle', ["~/My Photos/cat 1.jpg"]),
        ("/Users/me/My Photos/cat.jpg, then export", ["/Users/me/My Photos/cat.jpg"]),
        ("IMG_0042.HEIC 好看吗", ["IMG_0042.HEIC"]),
        ("上传 cat.jpg 然后导出", ["cat.jpg"]),
        ("./shots/a.webp and ../b.mov", ["./shots/a.webp", "../b.mov"]),
        ("make it 50/50", []),
        ("/help", []),
        ("jiggle w/ music and/or bounce", []),
        ("export as .mp4", []),
    ],
)
def test_extract_files(text: str, files: list[str]) -> None:
    assert extract_files(text)[0] == files


@pytest.mark.parametrize(
    ("typed", "word", "near"),
    [
        ("exprot", "export", True),
        ("credts", "credits", True),
        ("staus", "status", True),
        ("dowload", "download", True),
        ("exportt", "export", True),
        ("expert", "export", True),
        ("report", "export", False),
        ("import", "export", False),
        ("stats", "status", True),
        ("abc", "abcde", False),
    ],
)
def test_typos_one_edit_away_are_mended(typed: str, word: str, near: bool) -> None:
    assert TypoFixer([word], []).fix(typed) == (word if near else typed)
    assert TypoFixer([typed], []).fix(word) == (typed if near else word)


def test_real_words_are_not_typos() -> None:
    # "expert" is one letter from "export", but a word of its own.
    assert _actions("use expert mode") == "chat"
    assert _actions("exprot") == "export"


# translate_gui -----------------------------------------------------------------------------

GUI: list[tuple[str, list[tuple[GuiKind, str]]]] = [
    ("Done! Click Export to download your video.", [(GuiKind.EXPORT, "Click Export")]),
    ("点击导出即可下载", [(GuiKind.EXPORT, "点击导出")]),
    ("點擊匯出即可下載", [(GuiKind.EXPORT, "點擊匯出")]),
    ("Tap the Export button when ready", [(GuiKind.EXPORT, "Tap the Export button")]),
    ("Open the project panel to see your tracks", [(GuiKind.SHOW_STATE, "Open the project panel")]),
    ("打开项目面板查看轨道", [(GuiKind.SHOW_STATE, "打开")]),
    ("打開專案", [(GuiKind.SHOW_STATE, "打開")]),
    ("drag the title to 0:02", [(GuiKind.SEND_EDIT, "drag")]),
    ("拖拽字幕到开头", [(GuiKind.SEND_EDIT, "拖拽")]),
    ("拖曳字幕到開頭", [(GuiKind.SEND_EDIT, "拖曳")]),
    ("Drop your music onto the audio track", [(GuiKind.SEND_EDIT, "Drop")]),
    ("Click Apply to confirm", [(GuiKind.SEND_EDIT, "Click Apply")]),
    ("preview in timeline", [(GuiKind.SHOW_TIMELINE, "preview in timeline")]),
    ("在时间线中预览", [(GuiKind.SHOW_TIMELINE, "在时间线中预览")]),
    ("在時間軸中預覽", [(GuiKind.SHOW_TIMELINE, "在時間軸中預覽")]),
    (
        "Preview it in the timeline, then click Export.",
        [(GuiKind.SHOW_TIMELINE, "Preview it in the timeline"), (GuiKind.EXPORT, "click Export")],
    ),
    (
        "Drag the sticker to the corner, open the layers panel and hit Export",
        [
            (GuiKind.SEND_EDIT, "Drag"),
            (GuiKind.SHOW_STATE, "open the layers panel"),
            (GuiKind.EXPORT, "hit Export"),
        ],
    ),
    ("ＣＬＩＣＫ ＥＸＰＯＲＴ", [(GuiKind.EXPORT, "ＣＬＩＣＫ ＥＸＰＯＲＴ")]),
    ("Don't click Export yet, the bounce is still rendering.", []),
    ("不用点击导出，我还在调整", []),
    ("I added a subtle jiggle that loops every two seconds.", []),
    ("我给图片加了轻微的弹跳效果。", []),
    ("", []),
]


@pytest.mark.parametrize(("text", "expected"), GUI)
def test_translate_gui(text: str, expected: list[tuple[GuiKind, str]]) -> None:
    assert translate_gui(text) == [GuiAction(kind, phrase) for kind, phrase in expected]


def test_gui_kinds() -> None:
    assert [str(k) for k in GuiKind] == ["export", "show_state", "send_edit", "show_timeline"]


# Properties --------------------------------------------------------------------------------

_ANY_TEXT = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=300),
    st.lists(
        st.sampled_from(
            [
                "export",
                "导出",
                "匯出",
                "credits",
                "余额",
                "status",
                "上传",
                "upload",
                "then",
                "然后",
                "don't",
                "别",
                "how",
                "怎么",
                "~/a.jpg",
                "https://x.com/b.png",
                '"',
                "'",
                "「",
                "」",
                "\x00",
                "\u200b",
                "🎉",
                "👍🏽",
                "ｅｘｐｏｒｔ",
                ",",
                ";",
                "?",
                " ",
                "title",
                "add",
                "/",
                "\\",
                "C:\\x.png",
                "\n",
                "and",
                "再",
                "吗",
            ]
        ),
        max_size=40,
    ).map("".join),
)


@settings(max_examples=300, deadline=None)
@given(text=_ANY_TEXT, attachments=st.lists(st.text(min_size=1, max_size=20), max_size=3))
def test_classify_never_fails(text: str, attachments: list[str]) -> None:
    intent = classify(text, attachments)
    assert len(intent.actions) >= 1
    assert all(isinstance(a, Action) for a in intent.actions)
    assert intent.skip_sse == (Action.CHAT not in intent.actions)
    assert intent.language in ("en", "zh")
    assert all(a != b for a, b in zip(intent.actions, intent.actions[1:], strict=False))
    assert len(intent.files) == len(set(intent.files))
    assert set(attachments) <= set(intent.files)
    if attachments:
        assert intent.action is Action.UPLOAD
    assert classify(text, attachments) == intent  # deterministic
    json.dumps(intent.as_dict())


@settings(max_examples=100, deadline=None)
@given(text=_ANY_TEXT)
def test_translate_gui_never_fails(text: str) -> None:
    actions = translate_gui(text)
    assert len({a.kind for a in actions}) == len(actions)
    assert all(a.phrase and a.phrase in text for a in actions)
    assert translate_gui(text) == actions


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("export " * 20_000, "export"),
        ("a/" * 50_000, "chat"),
        ("'" * 50_000 + "x", "chat"),
        ('"' * 50_000, "chat"),
        ("/a b" * 20_000, "upload chat"),
        ("导出然后" * 2_000, "export"),
        ("\x00\x01\x02" * 20_000, "chat"),
        ("🎉" * 50_000, "chat"),
    ],
)
def test_huge_input(text: str, expected: str) -> None:
    assert _actions(text) == expected


# The command line --------------------------------------------------------------------------


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "router", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )


def test_cli_json() -> None:
    out = _run("--json", "加个字幕然后 export", "--attach", "/tmp/cat.png").stdout
    assert json.loads(out) == {
        "actions": ["upload", "chat", "export"],
        "skip_sse": False,
        "files": ["/tmp/cat.png"],
        "language": "zh",
    }
    assert out.count("\n") == 1


def test_cli_readable_and_gui() -> None:
    readable = _run("check my credits and then export").stdout
    assert "credits -> export" in readable
    assert "no chat stream" in readable
    gui = json.loads(_run("--gui", "--json", "Done! Click Export to download your video.").stdout)
    assert gui == [{"kind": "export", "phrase": "Click Export"}]
