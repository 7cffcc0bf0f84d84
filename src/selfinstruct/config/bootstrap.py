"""BootstrapConfig: the bootstrap loop's options (the [bootstrap] section)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import field_validator, model_validator

from .fields import Section, comma_list, opt


class BootstrapConfig(Section):
    """The bootstrap loop; the defaults are the paper's and the reference code's."""

    num_instructions: int = opt(100, "machine instructions to generate", ge=1, data=False)
    token_budget: int | None = opt(None, "stop bootstrap after this many tokens", gt=0, data=False)
    patience: int = opt(
        200, "stop after this many requests in a row accept nothing (0: never)", ge=0, data=False
    )
    threshold: float = opt(0.7, "reject a candidate whose ROUGE-L F exceeds this", gt=0, le=1)
    num_prompt_instructions: int = opt(8, "in-context instructions per prompt", ge=1)
    num_machine_instructions: int = opt(2, "of those, drawn from the machine pool", ge=0)
    template: Path | None = opt(None, "your own bootstrap prompt template file", data=False)
    blacklist: list[str] | None = opt(
        None, "keywords that reject an instruction, comma-separated (default: the paper's)"
    )
    min_words: int = opt(4, "shortest instruction kept, in words (en)", ge=1)
    max_words: int = opt(150, "longest instruction kept, in words (en)", ge=1)
    min_chars: int = opt(6, "shortest instruction kept, in characters (zh)", ge=1)
    max_chars: int = opt(300, "longest instruction kept, in characters (zh)", ge=1)
    temperature: float = opt(0.7, "sampling temperature", ge=0)
    top_p: float = opt(0.5, "nucleus sampling top_p", gt=0, le=1)
    presence_penalty: float = opt(2.0, "presence penalty", ge=-2, le=2)
    frequency_penalty: float = opt(0.0, "frequency penalty", ge=-2, le=2)
    max_tokens: int = opt(1024, "max tokens per bootstrap response", ge=1)
    list_style: Literal["ours", "original"] = opt(
        "ours",
        "numbered-list dialect: ours (lenient item markers; chat formatting read: markdown, "
        "quotes, labels, titles and closing remarks taken off, a closed opening quote or title "
        "mark allowed), or the original code's (prompt ends on '9.', its four stop sequences, "
        "items split only at a new line + '9. ', kept as written, its first-character rule)",
    )
    truncation: Literal["last", "response"] = opt(
        "last",
        "on a response cut off by max_tokens drop its last candidate (Alpaca's rule) or the "
        "whole response (the original's)",
    )
    capitalize: Literal["keep", "first", "lower_rest"] = opt(
        "first",
        "candidates' case before the filters: keep, first (upper-case the first letter) or "
        "lower_rest (str.capitalize, which also lower-cases the rest: the original's)",
    )
    similarity_workers: int = opt(
        1, "similarity filter processes (see docs/similarity.md)", ge=1, data=False
    )
    mean_rouge: Literal["auto", "exact", "off"] = opt(
        "auto",
        "each accepted instruction's mean ROUGE-L against the pool, a diagnostic scored after "
        "the loop: auto (exact up to 5,000 entries, then a seeded 2,000-entry sample), exact "
        "(every entry, as the original; its cost grows with the pool) or off (not computed)",
        data=False,
    )
    scoring_workers: int | None = opt(
        None,
        "processes that score the accepted instructions against the pool after the loop "
        "(nearest 10, mean); default: one per core, at least 1,000 instructions each, as many "
        "as half the free memory holds (each indexes the pool: about 1.5 GB at 1M entries)",
        ge=1,
        data=False,
    )
    echo_words: int = opt(
        6, "reject a candidate sharing this many consecutive words with the prompt's own text "
        "(en; 0: off)", ge=0,
    )  # fmt: skip
    echo_chars: int = opt(8, "the same, in characters (zh; 0: off)", ge=0)
    semantic: bool = opt(
        False, "also reject candidates close in meaning to a pool entry (embeddings; "
        "needs selfinstruct[semantic])",
    )  # fmt: skip
    semantic_threshold: float | None = opt(
        None, "embedding cosine above which --semantic rejects; default: the model's own",
        ge=0, le=1,
    )  # fmt: skip
    semantic_model: str | None = opt(
        None, "minilm, use-multilingual or a sentence-transformers directory; default: by language"
    )
    pool_file: Path | None = opt(
        None,
        "a dataset you already have (any format `selfinstruct dedup` reads): its instructions "
        "start the machine pool, so new ones must differ from them too; they are sampled as "
        "machine instructions but not exported (recorded in run.json by fingerprint)",
        flag="pool",
    )

    _split = field_validator("blacklist", mode="before")(comma_list)

    @model_validator(mode="after")
    def _consistent(self) -> BootstrapConfig:
        if self.num_machine_instructions > self.num_prompt_instructions:
            raise ValueError("num_machine_instructions must be <= num_prompt_instructions")
        if self.min_words > self.max_words or self.min_chars > self.max_chars:
            raise ValueError("need min_words <= max_words and min_chars <= max_chars")
        return self
