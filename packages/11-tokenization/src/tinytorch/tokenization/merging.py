"""The three primitives of byte pair encoding, on lists of token ids (Python ints).

* ``count_pairs(ids)``: how many times each adjacent pair would be merged;
* ``merge_pair(ids, pair, new_id)``: replace the pair, left to right, without overlaps;
* ``merge_by_rank(ids, ranks, merged)``: encode a chunk with learned merges, lowest rank first.

**Repeated tokens.** Merging ``(a, a)`` in ``a a a a`` gives ``A A`` (two merges), and in
``a a a`` gives ``A a`` (one): occurrences are replaced left to right and cannot overlap. So
``count_pairs`` counts a pair the number of times ``merge_pair`` would replace it: a run of
``k`` equal tokens holds ``k // 2`` pairs ``(a, a)``, not ``k - 1``. Training (both algorithms)
and encoding follow this one rule, so encoding a training chunk reproduces exactly the
segmentation training gave it. (Hugging Face's ``BpeTrainer`` counts the ``k - 1`` overlapping
pairs instead; the two agree on every text without runs of three equal tokens.)

Cost: each function is one pass over ``ids`` (``merge_by_rank`` repeats its pass once per merge
it applies: fine for the short chunks a split pattern makes; ``merge_by_rank_heap`` is the
``O(n log n)`` version for long ones).
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence
from itertools import pairwise

__all__ = [
    "LONG_CHUNK",
    "Pair",
    "count_pairs",
    "encode_chunk",
    "merge_by_rank",
    "merge_by_rank_heap",
    "merge_pair",
]

Pair = tuple[int, int]
LONG_CHUNK = 128  # chunks longer than this (in bytes) are merged with the heap version
_NEVER = 1 << 62  # the rank of a pair that is not a merge


def count_pairs(ids: Sequence[int], counts: dict[Pair, int] | None = None) -> dict[Pair, int]:
    """Count adjacent pairs of ``ids`` the way ``merge_pair`` would replace them.

    ``count_pairs([1, 2, 3, 1, 2]) == {(1, 2): 2, (2, 3): 1, (3, 1): 1}``;
    ``count_pairs([7, 7, 7, 7]) == {(7, 7): 2}`` (non-overlapping, left to right);
    ``count_pairs([7, 7, 7, 5]) == {(7, 7): 1, (7, 5): 1}``.
    Adds into ``counts`` when given (and returns it). Cost: O(len(ids)).
    """
    if counts is None:
        counts = {}
    # HINT: walk the adjacent pairs (a, b); a pair of equal tokens right after a counted pair of
    # HINT: the same tokens overlaps it (a run a a a): skip it, and count the next one again
    # BEGIN SOLUTION
    skip = False  # the previous pair was a counted (a, a): an (a, a) here overlaps it
    for a, b in pairwise(ids):
        if a == b:
            if skip:
                skip = False
                continue
            skip = True
        else:
            skip = False
        counts[a, b] = counts.get((a, b), 0) + 1
    # END SOLUTION
    return counts


def merge_pair(ids: Sequence[int], pair: Pair, new_id: int) -> list[int]:
    """``ids`` with every occurrence of ``pair`` replaced by ``new_id``, left to right.

    ``merge_pair([1, 2, 3, 1, 2], (1, 2), 9) == [9, 3, 9]``;
    ``merge_pair([7, 7, 7], (7, 7), 9) == [9, 7]``. Cost: O(len(ids)).
    """
    # HINT: scan with an index i; where ids[i], ids[i + 1] is the pair, emit new_id and jump by 2
    # BEGIN SOLUTION
    left, right = pair
    out: list[int] = []
    i, n = 0, len(ids)
    while i < n:
        if i + 1 < n and ids[i] == left and ids[i + 1] == right:
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    # END SOLUTION
    return out


def merge_by_rank(
    ids: list[int], ranks: Mapping[Pair, int], merged: Mapping[Pair, int]
) -> list[int]:
    """Apply learned merges to one chunk: repeatedly merge the adjacent pair of lowest rank.

    ``ranks[pair]`` is the merge's position in training order (0 = learned first) and
    ``merged[pair]`` the id it creates. Among equal ranks the leftmost occurrence goes first,
    which is what ``merge_pair`` does for all of them at once. This is GPT-2's and tiktoken's
    rule, and it reproduces the segmentation training gave a chunk. Cost: O(len(ids)) per merge
    applied, so O(n^2) at worst: callers send long chunks to ``merge_by_rank_heap``.
    """
    # HINT: while there are >= 2 ids: find the adjacent pair with the lowest rank (a pair that is
    # HINT: not in ranks is never merged); stop if there is none, else merge_pair it everywhere
    # BEGIN SOLUTION
    while len(ids) >= 2:
        best = min(pairwise(ids), key=lambda pair: ranks.get(pair, _NEVER))
        if best not in ranks:
            break
        ids = merge_pair(ids, best, merged[best])
    # END SOLUTION
    return ids


def merge_by_rank_heap(
    ids: Sequence[int], ranks: Mapping[Pair, int], merged: Mapping[Pair, int]
) -> list[int]:
    """The same result as ``merge_by_rank`` in O(n log n): a heap of (rank, position) over a
    doubly linked list of tokens, stale heap entries skipped when popped (lazy deletion).

    Popping ``(rank, position)`` in order merges the lowest rank first and, among equal ranks,
    the leftmost first; a merge creates at most two new pairs (with its neighbours), each of a
    higher rank than the merge itself.
    """
    n = len(ids)
    tokens = list(ids)
    following = list(range(1, n + 1))  # index of the next live token; n = none
    preceding = list(range(-1, n - 1))  # index of the previous live token; -1 = none
    alive = [True] * n
    heap = [(ranks[pair], i) for i, pair in enumerate(pairwise(tokens)) if pair in ranks]
    heapq.heapify(heap)
    while heap:
        rank, i = heapq.heappop(heap)
        j = following[i]
        if not alive[i] or j >= n:
            continue
        pair = (tokens[i], tokens[j])
        if ranks.get(pair) != rank:  # stale: a neighbour merged since this entry was pushed
            continue
        tokens[i] = merged[pair]
        alive[j] = False
        k = following[j]
        following[i] = k
        if k < n:
            preceding[k] = i
            right = (tokens[i], tokens[k])
            if right in ranks:
                heapq.heappush(heap, (ranks[right], i))
        h = preceding[i]
        if h >= 0:
            left = (tokens[h], tokens[i])
            if left in ranks:
                heapq.heappush(heap, (ranks[left], h))
    return [token for token, live in zip(tokens, alive, strict=True) if live]


def encode_chunk(
    ids: list[int], ranks: Mapping[Pair, int], merged: Mapping[Pair, int]
) -> list[int]:
    """``merge_by_rank`` for short chunks, ``merge_by_rank_heap`` beyond ``LONG_CHUNK`` ids."""
    if len(ids) > LONG_CHUNK:
        return merge_by_rank_heap(ids, ranks, merged)
    return merge_by_rank(ids, ranks, merged)
