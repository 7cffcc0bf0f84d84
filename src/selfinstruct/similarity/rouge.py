"""ROUGE-L F-measure with rouge-score's exact floating-point result, for one pair or many.

rouge-score computes P = lcs/len(prediction), R = lcs/len(target), F = 2*P*R/(P+R) in double
precision. The filter threshold sits exactly on some of these values (2*lcs/(m+n) == 0.7), where
the rounding of that formula decides; so we evaluate the same operations in the same order,
on integer LCS lengths from an exact LCS kernel.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np
from rapidfuzz.distance import LCSseq


def fmeasure(lcs: int, target_len: int, prediction_len: int) -> float:
    """rouge-score's rougeL fmeasure for an LCS length and the two token counts."""
    if target_len == 0 or prediction_len == 0:
        return 0.0
    precision = lcs / prediction_len
    recall = lcs / target_len
    if precision + recall > 0:
        return 2 * precision * recall / (precision + recall)
    return 0.0


def fmeasure_array(lcs: np.ndarray, target_len: int, prediction_lens: np.ndarray) -> np.ndarray:
    """fmeasure for many pairs sharing one target; same IEEE operations, so same bits."""
    lcs = np.asarray(lcs, dtype=np.float64)
    if target_len == 0:
        return np.zeros(lcs.shape, dtype=np.float64)
    precision = lcs / np.maximum(prediction_lens, 1)
    recall = lcs / target_len
    total = precision + recall
    total[total == 0] = 1.0  # lcs == 0: the numerator is 0, and so is rouge-score's F
    return 2 * precision * recall / total


def lcs_length(a: Sequence[Hashable], b: Sequence[Hashable]) -> int:
    """Exact length of the longest common subsequence of two token sequences."""
    return int(LCSseq.similarity(a, b))


def rouge_l(a_tokens: Sequence[str], b_tokens: Sequence[str]) -> float:
    """rouge-score's rougeL fmeasure of two token lists (symmetric in its arguments)."""
    if not a_tokens or not b_tokens:
        return 0.0
    return fmeasure(lcs_length(a_tokens, b_tokens), len(a_tokens), len(b_tokens))
