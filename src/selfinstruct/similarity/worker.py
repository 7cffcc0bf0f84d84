"""A similarity worker process: one Shard, commands in as pickles on stdin, replies on stdout.

Started by `workers.ShardPool` as `python -m selfinstruct.similarity.worker THRESHOLD`.
"""

from __future__ import annotations

import os
import pickle
import sys
from typing import IO

from .shard import Shard


def _serve(inp: IO[bytes], out: IO[bytes], threshold: float) -> None:
    """A worker's loop: apply commands to its Shard until told to stop or stdin closes."""
    shard = Shard(threshold)
    while True:
        try:
            command, *args = pickle.load(inp)
        except EOFError:
            return
        if command == "add":
            for seq in args[0]:
                shard.add(seq)
            continue
        if command == "best":
            reply: object = [shard.best(seq) for seq in args[0]]
        elif command == "top":
            reply = shard.top(*args)
        elif command == "all":
            reply = shard.all_scores(args[0])
        else:  # "stop"
            return
        try:
            pickle.dump(reply, out, protocol=pickle.HIGHEST_PROTOCOL)
            out.flush()
        except BrokenPipeError:  # the parent closed the pool while this reply was in flight
            return


def main() -> None:
    """Worker entry point: the threshold is the only argument; the protocol uses stdin/stdout."""
    inp, out = sys.stdin.buffer, os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    sys.stdout = sys.stderr  # a stray print must not corrupt the reply stream
    _serve(inp, out, float(sys.argv[1]))


if __name__ == "__main__":
    main()
