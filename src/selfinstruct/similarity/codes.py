"""Map tokens to single characters, so a token list becomes a short string for the LCS kernel.

Two token lists have the same LCS as their encoded strings, because equal tokens get equal
characters and different tokens different ones. Strings are compact, hash fast, pickle fast to
worker processes, and rapidfuzz compares them with bit-parallel LCS.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import ConfigError

_SURROGATES = 0xD800
_SURROGATE_SPAN = 0x800
_MAX_CODE = 0x10FFFF


class TokenCodes:
    """A growing vocabulary: token -> one character (skipping the surrogate range)."""

    def __init__(self) -> None:
        self._codes: dict[str, str] = {}

    def __len__(self) -> int:
        return len(self._codes)

    def _new_code(self) -> str:
        n = len(self._codes) + 1
        if n >= _SURROGATES:
            n += _SURROGATE_SPAN
        if n > _MAX_CODE:
            raise ConfigError(
                f"more than {len(self._codes)} distinct tokens in one similarity index; "
                "split the pool or use a tokenizer with a smaller vocabulary"
            )
        return chr(n)

    def encode(self, tokens: Sequence[str]) -> str:
        """The string for a token list, giving unseen tokens new characters."""
        codes = self._codes
        try:
            return "".join(map(codes.__getitem__, tokens))
        except KeyError:
            pass
        out = []
        for token in tokens:
            code = codes.get(token)
            if code is None:
                code = codes[token] = self._new_code()
            out.append(code)
        return "".join(out)

    def encode_query(self, tokens: Sequence[str]) -> str:
        """The string for a token list without growing the vocabulary.

        Unseen tokens match nothing in the pool, so they all share one code outside the
        vocabulary; the LCS with every pool entry stays the same and the length is kept.
        """
        codes = self._codes
        unseen = "\x00"
        return "".join(codes.get(token, unseen) for token in tokens)
