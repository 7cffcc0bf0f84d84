"""Bag keys: a token list's multiset as a set of (token code, occurrence number) integers.

The k-th occurrence of a token is its own key, so the multiset intersection size of two token
lists (an upper bound on their LCS) is the size of the intersection of their key sets.
`many_bag_keys` computes the keys of many entries at once with numpy, for bulk index builds.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

OCCURRENCE_SHIFT = 21  # code points are < 2**21


def bag_key_list(seq: str) -> list[int]:
    """The keys of one code string, sorted."""
    seen: dict[str, int] = {}
    keys = []
    for ch in seq:
        k = seen.get(ch, 0)
        seen[ch] = k + 1
        keys.append(ord(ch) | (k << OCCURRENCE_SHIFT))
    keys.sort()
    return keys


def many_bag_keys(seqs: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """(keys of every entry, grouped by entry in order; each entry's length) for many strings."""
    lens = np.fromiter(map(len, seqs), dtype=np.int64, count=len(seqs))
    if not lens.sum():
        return np.empty(0, dtype=np.int64), lens
    codes = np.frombuffer("".join(seqs).encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
    entry = np.repeat(np.arange(len(seqs), dtype=np.int64), lens)
    # sorting by (entry, code) puts each entry's repeats of a token next to each other; the
    # occurrence number is the offset within that run
    pair = np.sort((entry << OCCURRENCE_SHIFT) | codes)
    first = np.ones(pair.size, dtype=bool)
    first[1:] = pair[1:] != pair[:-1]
    run_start = np.maximum.accumulate(np.where(first, np.arange(pair.size), 0))
    occurrence = np.arange(pair.size, dtype=np.int64) - run_start
    return (pair & ((1 << OCCURRENCE_SHIFT) - 1)) | (occurrence << OCCURRENCE_SHIFT), lens
