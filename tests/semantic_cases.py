"""Sentences with known semantic neighbours, and the skip (or failure, in CI) when the
sentence-embedding model a test needs is not installed."""

from __future__ import annotations

import importlib.util

import pytest
from conftest import require_all

from selfinstruct.similarity.semantic import MODELS

POOL = [
    "Generate a list of ingredients for a vegan lasagna recipe.",
    "Translate the following sentence into French.",
    "Write an algorithm to find the intersection of two arrays.",
    "Explain the following idiom to me, and try to give me some examples.",
]
PARAPHRASE = "List the ingredients needed to make a vegan lasagna."  # of POOL[0]
IDIOM = "What does this idiom mean? Please include a few examples."  # of POOL[3]
UNRELATED = "Name three planets of the solar system and describe their moons."


def needs(model: str) -> None:
    """Skip (fail where the suite must run everything) when a model's package is missing."""
    spec = MODELS[model]
    if importlib.util.find_spec(spec.module) is None:
        reason = f"`{spec.package}` is not installed (pip install 'selfinstruct[semantic]')"
        if require_all():
            pytest.fail(reason)
        pytest.skip(reason)
