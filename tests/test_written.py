"""WrittenKeys: which DOIs a shard wrote, exact for every day, in memory bounded by a day."""

from __future__ import annotations

import tracemalloc

from crossref_async._written import WrittenKeys


def _days(n: int) -> list[str]:
    return [f"2024-{1 + i // 28:02d}-{1 + i % 28:02d}" for i in range(n)]


def test_every_key_sent_again_is_recognized_whatever_its_day() -> None:
    keys = WrittenKeys()
    records = [(f"10.1/{day}/{i}", day) for day in _days(60) for i in range(20)]
    assert all(keys.add(key, day) for key, day in records)
    # A page sent again, the resume day again, and records of long-past days out of order.
    again = records[-20:] + records[:40] + records[500:520]
    assert not any(keys.add(key, day) for key, day in again)
    assert len(keys) == len(records)


def test_a_new_key_of_a_past_day_is_new() -> None:
    keys = WrittenKeys([("10.1/a", "2024-01-01"), ("10.1/b", "2024-01-05")])
    assert keys.add("10.1/late", "2024-01-01")
    assert not keys.add("10.1/late", "2024-01-01")
    assert keys.add("10.1/other", "2024-01-03")
    assert len(keys) == 4


def test_records_without_a_created_day_are_kept_apart() -> None:
    keys = WrittenKeys()
    assert keys.add("10.1/x", None) and keys.add("10.1/y", "2024-01-01")
    assert not keys.add("10.1/x", None)
    assert keys.add("10.1/y", None)  # no day: not the dated record's day, so not its repeat


def test_past_days_are_held_as_hashes_not_strings() -> None:
    # 30,000 DOI strings in a set take about 4 MB; their hashes take 8 bytes each.
    tracemalloc.start()
    try:
        keys = WrittenKeys()
        for day in _days(300):
            for i in range(100):
                keys.add(f"10.5555/a-rather-long-doi-suffix/{day}/{i:06d}", day)
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(keys) == 30_000
    assert held < 30_000 * 8 * 2.5  # hashes, arrays' slack, one day's strings, the dict
