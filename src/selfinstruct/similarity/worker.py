"""A similarity worker process: one Shard, commands in as pickles on stdin, replies on stdout.

Started by `workers.ShardPool` as `python -m selfinstruct.similarity.worker THRESHOLD TAIL_SIZE`.
"""

from __future__ import annotations

import os
import pickle
import sys
from typing import IO

from .shard import Shard


def _serve(inp: IO[bytes], out: IO[bytes], threshold: float, tail_size: int) -> None:
    """A worker's loop: apply commands to its Shard until told to stop or stdin closes."""
    shard = Shard(threshold, tail_size)
    while True:
        try:
            command, *args = pickle.load(inp)
        except EOFError:
            return
        if command == "add":
            shard.add_many(args[0])
            continue
        if command == "best":
            reply: object = [shard.best(seq) for seq in args[0]]
        elif command == "rejection":
            reply = [shard.rejection(seq) for seq in args[0]]
        elif command == "top":
            reply = shard.top(*args)
        elif command == "all":
            reply = shard.all_scores(args[0])
        elif command == "at":
            reply = shard.scores_at(args[0], args[1])
        else:  # "stop"
            return
        try:
            pickle.dump(reply, out, protocol=pickle.HIGHEST_PROTOCOL)
            out.flush()
        except BrokenPipeError:  # the parent closed the pool while this reply was in flight
            return


def main() -> None:
    """Worker entry point: threshold and tail size are the arguments; the protocol is stdin/out."""
    inp, out = sys.stdin.buffer, os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    sys.stdout = sys.stderr  # a stray print must not corrupt the reply stream
    _serve(inp, out, float(sys.argv[1]), int(sys.argv[2]))


if __name__ == "__main__":
    main()
