"""The pending-renders file: add before submitting, remove once downloaded; survives restarts."""

from __future__ import annotations

import json
import threading

from skill.client import JobStore, RenderJob
from skill.paths import data_dir


def test_add_list_get_remove_in_the_data_dir() -> None:
    store = JobStore()
    assert store.path.parent == data_dir()
    assert store.list() == []
    store.add(RenderJob(id="render_1", session_id="s1"))
    store.add(RenderJob(id="render_2", session_id="s2"))
    again = JobStore()  # a new process sees the same jobs
    assert [j.id for j in again.list()] == ["render_1", "render_2"]
    assert again.get("render_2").session_id == "s2"  # type: ignore[union-attr]
    assert again.remove("render_1") is True
    assert again.remove("render_1") is False
    assert [j.id for j in store.list()] == ["render_2"]


def test_replacing_an_id_keeps_one_entry_with_the_output() -> None:
    store = JobStore()
    store.add(RenderJob(id="render_1", session_id="s1"))
    job = RenderJob(
        id="srv_77",
        session_id="s1",
        status="completed",
        output_url="https://cdn/x.mp4",
        output_size=10,
    )
    store.add(job, replaces="render_1")
    (only,) = store.list()
    assert (only.id, only.status, only.output_url, only.output_size) == (
        "srv_77",
        "completed",
        "https://cdn/x.mp4",
        10,
    )


def test_concurrent_adds_lose_nothing() -> None:
    store = JobStore()
    threads = [
        threading.Thread(target=store.add, args=(RenderJob(id=f"render_{i}", session_id="s"),))
        for i in range(20)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(j.id for j in store.list()) == sorted(f"render_{i}" for i in range(20))


def test_a_corrupt_file_reads_as_empty() -> None:
    store = JobStore()
    store.path.parent.mkdir(parents=True, exist_ok=True)
    store.path.write_text("[oops")
    assert store.list() == []
    store.add(RenderJob(id="render_1", session_id="s"))
    assert json.loads(store.path.read_text())["jobs"][0]["id"] == "render_1"


def test_render_job_reads_every_poll_variant() -> None:
    canonical = RenderJob("r", "s").update_from_api(
        {
            "id": "r",
            "status": "completed",
            "progress": 100,
            "output": {"url": "https://cdn/x.mp4", "duration": 6.0, "size": 123},
        }
    )
    assert (canonical.output_url, canonical.output_size, canonical.duration) == (
        "https://cdn/x.mp4",
        123,
        6.0,
    )
    flat = RenderJob("r", "s").update_from_api(
        {"taskId": "t9", "status": "COMPLETED", "outputUrl": "https://cdn/y.mp4"}
    )
    assert (flat.id, flat.status, flat.output_url, flat.progress) == (
        "t9",
        "completed",
        "https://cdn/y.mp4",
        100,
    )
    failed = RenderJob("r", "s").update_from_api({"status": "failed", "reason": "GPU lost"})
    assert failed.done
    assert failed.reason == "GPU lost"
    odd = RenderJob("r", "s").update_from_api({"status": "warming-up", "progress": "40"})
    assert (odd.status, odd.progress) == ("rendering", 40)
