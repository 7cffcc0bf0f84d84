"""A pool-scoring process: a pickled Span on stdin, the pickled list of its Scores on stdout.

Started by `pool_scores.score_pool` as `python -m selfinstruct.stages.bootstrap.pool_scores_worker`.
"""

from __future__ import annotations

import os
import pickle
import sys

from .pool_scores import score_span


def main() -> None:
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    sys.stdout = sys.stderr  # a stray print must not corrupt the reply
    span = pickle.load(sys.stdin.buffer)
    pickle.dump(list(score_span(span)), out, protocol=pickle.HIGHEST_PROTOCOL)
    out.close()


if __name__ == "__main__":
    main()
