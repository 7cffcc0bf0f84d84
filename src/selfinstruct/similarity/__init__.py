"""Exact ROUGE-L similarity filter: rouge-score's decisions and scores, computed fast."""

from .index import Decision, SimilarityIndex
from .rouge import fmeasure, rouge_l
from .tokenize import (
    Tokenizer,
    get_tokenizer,
    tokenize_cjk_chars,
    tokenize_en,
    tokenize_jieba_words,
)

__all__ = [
    "Decision",
    "SimilarityIndex",
    "Tokenizer",
    "fmeasure",
    "get_tokenizer",
    "rouge_l",
    "tokenize_cjk_chars",
    "tokenize_en",
    "tokenize_jieba_words",
]
