"""The in-process hand-off of committed events to this process's readers (app.chain.recent)."""

from __future__ import annotations

import datetime as dt

from app.chain.recent import RecentEvents

NOW = dt.datetime(2026, 11, 29, 12, 0)


def rows(first: int, last: int, kind: str = "prompt-delta") -> list[dict]:
    return [
        {
            "seq": seq,
            "event_type": kind,
            "event_data": {"step": 1, "text": f"w{seq} "},
            "created_at": NOW,
        }
        for seq in range(first, last + 1)
    ]


def seqs(events) -> list[int] | None:
    return None if events is None else [event.seq for event in events]


def test_gives_what_follows_when_it_reaches_the_announced_seq():
    recent = RecentEvents()
    recent.publish(7, rows(1, 5))
    assert seqs(recent.after(7, 2, upto=5)) == [3, 4, 5]
    assert seqs(recent.after(7, 0, upto=5)) == [1, 2, 3, 4, 5]
    assert recent.after(7, 2, upto=5)[0].event_data == {"step": 1, "text": "w3 "}


def test_any_doubt_means_the_database():
    recent = RecentEvents()
    assert recent.after(7, 0, upto=1) is None  # nothing kept for this run
    recent.publish(7, rows(4, 6))
    assert recent.after(7, 2, upto=6) is None  # seq 3 is not here: a gap
    assert recent.after(7, 3, upto=8) is None  # 7 and 8 were rung but written elsewhere
    assert recent.after(8, 3, upto=6) is None  # another run


def test_nothing_new_is_an_empty_answer_only_when_nothing_newer_was_rung():
    recent = RecentEvents()
    recent.publish(7, rows(1, 3))
    assert recent.after(7, 3, upto=3) == []
    assert recent.after(7, 3, upto=4) is None


def test_a_batch_that_does_not_continue_the_kept_ones_replaces_them():
    recent = RecentEvents()
    recent.publish(7, rows(1, 3))
    recent.publish(7, rows(6, 7))  # 4 and 5 were never handed here (nobody listened)
    assert recent.after(7, 3, upto=7) is None
    assert seqs(recent.after(7, 5, upto=7)) == [6, 7]


def test_bounded_per_run_and_in_runs():
    recent = RecentEvents(per_execution=4, executions=2)
    recent.publish(1, rows(1, 10))
    assert recent.after(1, 5, upto=10) is None  # fell behind the 4 kept
    assert seqs(recent.after(1, 6, upto=10)) == [7, 8, 9, 10]
    recent.publish(2, rows(1, 1))
    recent.publish(3, rows(1, 1))  # the least recently written run goes
    assert recent.after(1, 6, upto=10) is None and recent.after(3, 0, upto=1) is not None


def test_other_events_are_handed_as_stored_not_as_the_writers_objects():
    recent = RecentEvents()
    data = {"steps": [{"step": 1, "name": "Analyze"}], "pair": (1, 2)}
    recent.publish(
        7, [{"seq": 1, "event_type": "execution-start", "event_data": data, "created_at": NOW}]
    )
    data["steps"].append({"step": 2})
    [event] = recent.after(7, 0, upto=1)
    assert event.event_data == {"steps": [{"step": 1, "name": "Analyze"}], "pair": [1, 2]}


def test_forget():
    recent = RecentEvents()
    recent.publish(7, rows(1, 2))
    recent.forget(7)
    assert recent.after(7, 0, upto=2) is None
