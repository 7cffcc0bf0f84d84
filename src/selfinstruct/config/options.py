"""RunConfig: every option of a run, each written once with its default, bounds and help.

The CLI flags (`selfinstruct.cli.options`), `--config` TOML/YAML files, the keyword arguments of
`selfinstruct.run` and the stage functions, and the option tables in the docs all come from
these models. A field's flag is its name with dashes, unless `flag=` gives another (the same name
in two sections, such as `max_tokens`); the keyword argument is the flag with underscores.
`data=False` marks options that do not change what a run generates (how many, how fast), so a
rerun may change them freely; the rest are recorded in `run.json` at the start of a run (prompt
files by the fingerprint of the text they hold, not by their path).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..errors import ConfigError
from ..text.redact import redact_url

ExportFormat = Literal["alpaca", "sharegpt", "messages", "prompt_completion"]
SECTIONS = ("backend", "bootstrap", "classify", "instances", "judge", "export")


def opt(
    default: Any,
    help: str,
    *,
    flag: str | None = None,
    data: bool = True,
    allowed: str | None = None,
    bare: str | None = None,
    cli: bool | dict[str, Any] = True,
    **bounds: Any,
) -> Any:
    """A config field: default, one-line help, bounds (ge, gt, le, lt) and CLI metadata.

    `allowed` words the values the field takes when its type alone does not say it well;
    `bare` is the value of its flag given without one (`--ray` alone: `local`); `cli` is False
    for an option without a flag (config files and keyword arguments only), or the argparse
    keywords (metavar, action, nargs, ...) that differ from what the type gives.
    """
    extra: dict[str, Any] = {"flag": flag, "data": data, "allowed": allowed, "cli": cli}
    if bare is not None:
        extra["bare"] = bare
    return Field(default, description=help, json_schema_extra=extra, **bounds)


class Section(BaseModel):
    """Options of one stage; unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


def _comma_list(value: Any) -> Any:
    """Accept "a,b" (a flag, a config string) as ["a", "b"]."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def url_problem(url: str) -> str | None:
    """Why `url` cannot be an endpoint's base URL, or None."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError when out of range
    except ValueError as exc:
        return str(exc)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "expected http://host[:port]/v1 or https://..."
    return None


class BackendConfig(Section):
    """Which LLM to talk to and how hard; shared by every stage that calls a model."""

    backend: Literal["openai", "transformers"] | None = opt(
        None,
        "openai (any OpenAI-compatible server) or transformers (in-process); "
        "default: openai when --base-url is given, else the embedded model in-process",
    )
    model: str | None = opt(None, "model name, HF id, local dir or .gguf; default: bundled model")
    base_url: list[str] | None = opt(
        None,
        "OpenAI-compatible endpoint(s), comma-separated",
        data=False,
        allowed="http:// or https:// URLs (ending in /v1), comma-separated",
    )
    api_key_env: str = opt("OPENAI_API_KEY", "environment variable with the API key", data=False)
    concurrency: int = opt(8, "requests in flight at once", ge=1, data=False)
    batch_size: int = opt(8, "prompts per forward pass (transformers backend)", ge=1, data=False)
    request_timeout: float = opt(
        600.0, "seconds one whole request may take, however slowly the server sends", gt=0,
        data=False,
    )  # fmt: skip
    retry_budget: float = opt(
        180.0, "seconds a failing request keeps retrying (rides out a server restart)", ge=0,
        data=False,
    )  # fmt: skip
    max_attempts: int = opt(30, "attempts per request before giving up", ge=1, data=False)
    server: Literal["auto", "openai", "vllm", "sglang", "llama.cpp"] = opt(
        "auto",
        "what kind of server: vLLM, SGLang and llama.cpp also get top_k/min_p/repetition "
        "penalty at neutral values so their own defaults don't change the decoding "
        "(auto: from /v1/models; openai: OpenAI parameters only)",
        data=False,
    )
    chat: bool | None = opt(None, "chat messages, or plain completion prompts; default: chat")
    reasoning: Literal["auto", "off", "keep"] = opt(
        "auto",
        "a thinking model's reasoning: auto (send nothing extra, read it apart from the answer, "
        "never into the data), off (ask the server not to think: chat_template_kwargs or "
        "reasoning_effort, see docs/backends.md) or keep (as auto, and store the instances' "
        "reasoning with them and in the export)",
    )
    thinking_tokens: int = opt(
        2048,
        "tokens added to every stage's max_tokens when the model is expected to think (its name "
        "says so, or an earlier answer of the run carried reasoning; not with --reasoning off)",
        ge=0,
        data=False,
    )
    structured: Literal["auto", "on", "off"] = opt(
        "off",
        "ask for JSON of each stage's schema (response_format, chat prompts only): auto where "
        "the server takes it, else text; on: required; off: plain text answers",
        data=False,
    )
    price_input: float | None = opt(
        None, "price per million prompt tokens, for cost estimates", ge=0, data=False
    )
    price_output: float | None = opt(
        None, "price per million completion tokens, for cost estimates", ge=0, data=False
    )
    adapter: str | None = opt(None, "LoRA adapter directory (transformers backend)")

    _split = field_validator("base_url", mode="before")(_comma_list)

    @field_validator("base_url")
    @classmethod
    def _urls(cls, urls: list[str] | None) -> list[str] | None:
        for url in urls or []:
            problem = url_problem(url)
            if problem:
                raise ValueError(f"{redact_url(url)!r}: {problem}")
        return urls

    @model_validator(mode="after")
    def _consistent(self) -> BackendConfig:
        if self.backend == "transformers" and self.base_url:
            raise ValueError("base_url is for backend 'openai'; drop it or switch backend")
        return self


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

    _split = field_validator("blacklist", mode="before")(_comma_list)

    @model_validator(mode="after")
    def _consistent(self) -> BootstrapConfig:
        if self.num_machine_instructions > self.num_prompt_instructions:
            raise ValueError("num_machine_instructions must be <= num_prompt_instructions")
        if self.min_words > self.max_words or self.min_chars > self.max_chars:
            raise ValueError("need min_words <= max_words and min_chars <= max_chars")
        return self


class ClassifyConfig(Section):
    """Is each machine instruction a classification task?"""

    examples: int = opt(
        12, "few-shot seed examples in the classify prompt", ge=0, flag="classify-examples"
    )
    style: Literal["ours", "original"] = opt(
        "ours",
        "ours: lenient yes/no reading (en, zh), unreadable answers counted; original: 3 tokens, "
        "stop at a newline or 'Task', yes only for 'Yes'/'yes'/'YES'",
        flag="classify-style",
    )


class InstancesConfig(Section):
    """Input/output instances for every instruction."""

    max_instances: int = opt(5, "instances kept per task", ge=1)
    examples: int = opt(
        2, "few-shot seed tasks per instance prompt", ge=0, flag="instance-examples"
    )
    max_tokens: int = opt(
        320, "max tokens per instance response", ge=16, flag="instance-max-tokens"
    )
    max_input_chars: int = opt(1000, "drop instances with a longer input", ge=1)
    max_output_chars: int = opt(1000, "drop instances with a longer output", ge=1)
    hard_cases: bool = opt(
        False, "also ask classification tasks for boundary examples (inputs near the line "
        "between two labels), kept marked hard_case",
    )  # fmt: skip
    presence_penalty: float = opt(
        1.5, "presence penalty (the original's 1.5)", ge=-2, le=2, flag="instance-presence-penalty"
    )
    temperature: float = opt(
        0.0, "sampling temperature (0: greedy, as the original)", ge=0, flag="instance-temperature"
    )
    top_p: float = opt(1.0, "nucleus sampling top_p", gt=0, le=1, flag="instance-top-p")
    frequency_penalty: float = opt(
        0.0, "frequency penalty", ge=-2, le=2, flag="instance-frequency-penalty"
    )
    stop: Literal["ours", "original"] = opt(
        "ours",
        "prompt ending and stops: ours (completion prompts end on 'Example 1'; stop at a sixth "
        "example or a new line + 'Task: ') or the original's (end on the task line; stop at "
        "'Example 6' or 'Task:' anywhere)",
        flag="instance-stop",
    )
    keep: Literal["first", "sample"] = opt(
        "first",
        "which max_instances examples a task keeps: the first, or a seeded random sample "
        "(the original's)",
        flag="instance-keep",
    )
    parse: Literal["ours", "original"] = opt(
        "ours",
        "how answers are read: ours (JSON, markdown, Chinese labels, headings, closing remarks; "
        "our filters) or the original code's (prepare_for_finetuning.py's splitting at "
        "'Example' and 'Class label:', and its filters)",
        flag="instance-parse",
    )


class JudgeConfig(Section):
    """Scores of every kept instance, 1-5 for correctness and helpfulness, by the same model."""

    enabled: bool = opt(
        False, "run the judge stage in `selfinstruct run` (the judge command always does)",
        flag="judge", data=False,
    )  # fmt: skip
    max_tokens: int = opt(32, "max tokens per judge answer", ge=4, flag="judge-max-tokens")
    examples: int = opt(
        2, "answered seed examples in the judge prompt (right ones and mismatched ones)", ge=0,
        flag="judge-examples",
    )  # fmt: skip


class ExportConfig(Section):
    """Training data files written from the instances, and which instances make it in."""

    format: ExportFormat = opt(
        "alpaca",
        "extra format beside alpaca.jsonl: sharegpt, messages or prompt_completion (TRL)",
    )
    include_seeds: bool = opt(False, "add the seed tasks' instances to the export")
    val_ratio: float = opt(0.0, "share of tasks held out for validation", ge=0, lt=1)
    system_prompt: str | None = opt(
        None, "system turn for sharegpt, messages and prompt_completion"
    )
    min_score: int | None = opt(
        None, "keep only instances the judge scored at least this (1-5)", ge=1, le=5
    )
    balance: bool = opt(False, "cap leading verbs and task types, even out labels")
    max_verb_share: float = opt(
        0.1, "with --balance: most rows one leading verb may have, as a share", gt=0, le=1
    )
    max_task_type_share: float = opt(
        0.9, "with --balance: most rows classification (or other) tasks may have", gt=0, le=1
    )
    max_label_ratio: float = opt(
        1.0, "with --balance: a label's rows at most this times the rarest label's", ge=1
    )


PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "default": {},
    "paper": {
        "backend": {"chat": False},
        "bootstrap": {
            "num_prompt_instructions": 8,
            "num_machine_instructions": 2,
            "threshold": 0.7,
            "min_words": 4,
            "max_words": 150,
            "temperature": 0.7,
            "top_p": 0.5,
            "presence_penalty": 2.0,
            "frequency_penalty": 0.0,
            "max_tokens": 1024,
            "list_style": "original",
            "truncation": "response",
            "capitalize": "lower_rest",
            "echo_words": 0,
            "echo_chars": 0,
            "mean_rouge": "exact",
        },
        "classify": {"examples": 0, "style": "original"},
        "instances": {
            "examples": 0,
            "max_instances": 5,
            "max_tokens": 300,
            "temperature": 0.0,
            "presence_penalty": 1.5,
            "frequency_penalty": 0.0,
            "stop": "original",
            "keep": "sample",
            "parse": "original",
            "max_input_chars": 100_000,
            "max_output_chars": 100_000,
        },
    },
}
"""Each preset's values of the options it sets; docs/fidelity.md says where each comes from.

"paper" is the original Self-Instruct code (yizhongw/self-instruct): completion prompts, its
decoding, list dialect, truncation rule and case, its instance decoding and keep-5 sampling,
no instance length limits. Its prompt texts and seed tasks are the user's files (--prompt-dir,
--seeds); the classify and instance templates hold their own examples, hence `examples` 0.
"""


class RunConfig(BaseModel):
    """Every option of a run: run-wide settings, then one section per stage."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    seeds: str = opt("en", "seed tasks: en, zh or a file (stage commands: the run's own)")
    out: Path | None = opt(None, "run directory (every stage reads and appends to it)", data=False)
    language: Literal["en", "zh"] | None = opt(None, "en or zh; default: from the seeds")
    seed: int = opt(42, "seed of every random choice (and of sampling)")
    preset: Literal["default", "paper"] = opt(
        "default",
        "paper: the original Self-Instruct code's settings wherever they can be reproduced "
        "(docs/fidelity.md); options given explicitly still win",
        data=False,
    )
    prompt_dir: Path | None = opt(
        None, "directory of prompt files replacing the bundled ones (same file names)", data=False
    )
    progress: bool = opt(True, "progress bars", data=False)
    force: bool = opt(
        False, "reuse a run directory made with other settings (records the new ones)", data=False
    )
    ray: str | None = opt(
        None,
        "run classify, instances and judge's requests, and the scoring pass after bootstrap, "
        "on a Ray cluster: auto (the running one), its address, or local (a new one on this "
        "machine, also --ray alone)",
        data=False,
        bare="local",
    )
    ray_workers: int | None = opt(
        None, "Ray actors sending requests; default: one per CPU of the cluster", ge=1, data=False
    )
    backend: BackendConfig = Field(default_factory=BackendConfig)
    bootstrap: BootstrapConfig = Field(default_factory=BootstrapConfig)
    classify: ClassifyConfig = Field(default_factory=ClassifyConfig)
    instances: InstancesConfig = Field(default_factory=InstancesConfig)
    judge: JudgeConfig = Field(default_factory=JudgeConfig)
    export: ExportConfig = Field(default_factory=ExportConfig)

    @model_validator(mode="after")
    def _preset_defaults(self) -> RunConfig:
        """The preset's values for the options left unset; explicit options win.

        The filled values are not marked as set, so `updated(preset="default")` and a flag over
        a config file drop them again, while `to_toml` writes them out like any value.
        """
        for section, values in PRESETS[self.preset].items():
            current = getattr(self, section)
            given = current.model_fields_set
            unset = {k: v for k, v in values.items() if k not in given}
            if unset:
                model = type(current)
                checked = model.model_validate({**current.model_dump(exclude_unset=True), **unset})
                filled = model.model_construct(set(given), **dict(checked))
                object.__setattr__(self, section, filled)  # no re-validation of the whole run
        return self

    @classmethod
    def from_file(cls, path: str | Path) -> RunConfig:
        """Read a TOML (.toml) or YAML (.yaml/.yml) file; see `selfinstruct.config.files`."""
        from .files import load_config_file

        return load_config_file(path)

    def to_toml(self) -> str:
        """The whole configuration as TOML that `from_file` reads back unchanged."""
        from .files import dump_toml

        return dump_toml(self)

    def updated(self, **options: Any) -> RunConfig:
        """A copy with flat options (`num_instructions=5`, `instance_max_tokens=200`) applied."""
        if not options:
            return self
        return build_config(self.model_dump(exclude_unset=True), nest(options), "options")

    def data_settings(self, section: str) -> dict[str, Any]:
        """The options of `section` (or "run") that change what is generated, as JSON values."""
        model = self if section == "run" else getattr(self, section)
        return {
            name: value
            for name, value in model.model_dump(mode="json").items()
            if name in type(model).model_fields
            and option_meta(type(model), name)["data"]
            and name not in SECTIONS
        }


def option_meta(model: type[BaseModel], name: str) -> dict[str, Any]:
    """{"flag": str, "data": bool, "cli": bool | dict} of one field (see `opt`)."""
    extra = model.model_fields[name].json_schema_extra
    meta = dict(extra) if isinstance(extra, dict) else {}
    return {
        "flag": meta.get("flag") or name.replace("_", "-"),
        "data": meta.get("data", True),
        "cli": meta.get("cli", True),
    }


def flat_options() -> dict[str, tuple[str | None, str]]:
    """Keyword/flat name -> (section or None for run-wide, field name), for every option."""
    table: dict[str, tuple[str | None, str]] = {}
    for name in RunConfig.model_fields:
        if name in SECTIONS:
            model = RunConfig.model_fields[name].annotation
            for field in model.model_fields:  # type: ignore[union-attr]
                flat = option_meta(model, field)["flag"].replace("-", "_")  # type: ignore[arg-type]
                table[flat] = (name, field)
        else:
            table[name] = (None, name)
    return table


def nest(flat: dict[str, Any]) -> dict[str, Any]:
    """Flat options (`instance_max_tokens=200`) to the nested shape of RunConfig."""
    table = flat_options()
    nested: dict[str, Any] = {}
    for key, value in flat.items():
        name = key.replace("-", "_")
        if name in SECTIONS and isinstance(value, dict | BaseModel):
            section = (
                value.model_dump(exclude_unset=True) if isinstance(value, BaseModel) else value
            )
            nested.setdefault(name, {}).update(section)
            continue
        if name not in table:
            raise ConfigError(f"unknown option {key!r}; known options: {', '.join(sorted(table))}")
        section_name, field = table[name]
        if section_name is None:
            nested[field] = value
        else:
            nested.setdefault(section_name, {})[field] = value
    return nested


def merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """`over` on top of `base`, one level into the sections."""
    merged = {k: dict(v) if isinstance(v, dict) else v for k, v in base.items()}
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


def build_config(base: dict[str, Any], over: dict[str, Any], source: str) -> RunConfig:
    """Validate `over` applied to `base`; a failure names the option as a flag would."""
    from pydantic import ValidationError

    from .files import describe_error

    try:
        return RunConfig.model_validate(merge(base, over))
    except ValidationError as exc:
        raise ConfigError(describe_error(exc, source, as_flags=True)) from None


def make_config(config: RunConfig | None = None, **options: Any) -> RunConfig:
    """`config` (default: all defaults) with flat keyword options applied."""
    return (config or RunConfig()).updated(**{k: v for k, v in options.items()})


def _same(model: type[BaseModel], name: str) -> Any:
    """A copy of another model's field (default, bounds, help): one declaration, two commands."""
    return copy.copy(model.model_fields[name])


class DedupConfig(Section):
    """`selfinstruct dedup`: exact ROUGE-L dedup of a dataset you have, as a run's filter."""

    out: Path | None = opt(
        None,
        "output directory: the kept rows (in the input's format), removed.jsonl, dedup.json",
        data=False,
    )
    compare: Literal["instruction", "instruction_input"] = opt(
        "instruction",
        "which fields are compared: the instruction (the user turn in chat formats), or the "
        "instruction and the input (Alpaca's `input`) joined by a new line",
    )
    threshold: float = _same(BootstrapConfig, "threshold")
    language: Literal["en", "zh"] | None = opt(
        None, "tokens: en (rouge-score's words) or zh (one per Han character); default: detected"
    )
    order_by: str | None = opt(
        None,
        "a numeric column (a judge score, say): rows are taken best first, so each group of "
        "near-duplicates keeps its best row; default: in the input's order",
    )
    ascending: bool = opt(False, "with --order-by: the lowest value is the best")
    semantic: bool = _same(BootstrapConfig, "semantic")
    semantic_threshold: float | None = _same(BootstrapConfig, "semantic_threshold")
    semantic_model: str | None = _same(BootstrapConfig, "semantic_model")
    similarity_workers: int = _same(BootstrapConfig, "similarity_workers")
    progress: bool = _same(RunConfig, "progress")
