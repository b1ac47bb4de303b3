"""The BPE primitives: non-overlapping pair counts, left-to-right merges, merging by rank."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tinytorch.tokenization import (
    count_pairs,
    encode_chunk,
    merge_by_rank,
    merge_by_rank_heap,
    merge_pair,
)

FAST = settings(max_examples=150, deadline=None, database=None)
small_ids = st.lists(st.integers(0, 3), max_size=40)


def test_count_pairs_examples() -> None:
    assert count_pairs([]) == {} and count_pairs([5]) == {}
    assert count_pairs([1, 2, 3, 1, 2]) == {(1, 2): 2, (2, 3): 1, (3, 1): 1}
    assert count_pairs([7, 7]) == {(7, 7): 1}
    assert count_pairs([7, 7, 7]) == {(7, 7): 1}
    assert count_pairs([7, 7, 7, 7]) == {(7, 7): 2}  # "aaaa" -> "AA": two merges, not three
    assert count_pairs([7, 7, 7, 5]) == {(7, 7): 1, (7, 5): 1}
    assert count_pairs([5, 7, 7, 7, 7, 7]) == {(5, 7): 1, (7, 7): 2}
    assert count_pairs([1, 2], {(1, 2): 3}) == {(1, 2): 4}


def test_merge_pair_examples() -> None:
    assert merge_pair([1, 2, 3, 1, 2], (1, 2), 9) == [9, 3, 9]
    assert merge_pair([7, 7, 7], (7, 7), 9) == [9, 7]
    assert merge_pair([7, 7, 7, 7], (7, 7), 9) == [9, 9]
    assert merge_pair([1, 2, 1], (2, 1), 9) == [1, 9]
    assert merge_pair([], (1, 2), 9) == [] and merge_pair([1], (1, 2), 9) == [1]


@FAST
@given(small_ids, st.integers(0, 3), st.integers(0, 3))
def test_count_is_the_number_of_replacements(ids: list[int], left: int, right: int) -> None:
    merged = merge_pair(ids, (left, right), 99)
    assert count_pairs(ids).get((left, right), 0) == merged.count(99)
    assert len(merged) == len(ids) - merged.count(99)


def test_merge_by_rank_lowest_rank_first() -> None:
    # ranks: (1, 2) first, then (2, 3); "1 2 3" -> (1 2) 3, and (2, 3) never applies
    ranks = {(1, 2): 0, (2, 3): 1, (10, 3): 2}
    merged = {(1, 2): 10, (2, 3): 11, (10, 3): 12}
    assert merge_by_rank([1, 2, 3], ranks, merged) == [12]
    assert merge_by_rank([2, 3, 1], ranks, merged) == [11, 1]
    assert merge_by_rank([3, 3], ranks, merged) == [3, 3]
    # equal ranks: left to right, without overlap
    assert merge_by_rank([7, 7, 7], {(7, 7): 0}, {(7, 7): 8}) == [8, 7]
    assert merge_by_rank([7, 7, 7, 7], {(7, 7): 0, (8, 8): 1}, {(7, 7): 8, (8, 8): 9}) == [9]


def _merge_table(data: st.DataObject) -> tuple[dict, dict]:
    """A random but valid merge list over ids 0..3: merge k creates id 4 + k."""
    ranks, merged = {}, {}
    for k in range(data.draw(st.integers(0, 12))):
        pair = (data.draw(st.integers(0, 3 + k)), data.draw(st.integers(0, 3 + k)))
        if pair not in ranks:
            ranks[pair] = k
            merged[pair] = 4 + k
    return ranks, merged


@FAST
@given(st.data(), st.lists(st.integers(0, 3), max_size=300))
def test_heap_version_equals_the_simple_loop(data: st.DataObject, ids: list[int]) -> None:
    ranks, merged = _merge_table(data)
    expected = merge_by_rank(list(ids), ranks, merged)
    assert merge_by_rank_heap(ids, ranks, merged) == expected
    assert encode_chunk(list(ids), ranks, merged) == expected  # > 128 ids takes the heap path
