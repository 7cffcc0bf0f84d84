"""Options of a run, one pydantic model shared by the CLI flags and `--config` files (TOML/YAML).

A config file uses the flag names (`num-instructions` or `num_instructions`); flags given on the
command line win over the file, and the file wins over the defaults here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .errors import ConfigError

ExportFormat = Literal["alpaca", "sharegpt", "messages"]


class BackendOptions(BaseModel):
    """Which LLM to talk to and how hard; shared by every stage that calls a model."""

    model_config = ConfigDict(extra="forbid")

    backend: Literal["openai", "transformers"] | None = Field(
        None, description="openai (any OpenAI-compatible server) or transformers (in-process)"
    )
    model: str | None = Field(None, description="model name or path; default: the bundled model")
    base_url: str | list[str] | None = Field(
        None, description="OpenAI-compatible endpoint(s), comma-separated"
    )
    api_key_env: str = Field("OPENAI_API_KEY", description="environment variable with the API key")
    concurrency: int = Field(8, ge=1, description="requests in flight at once")
    batch_size: int = Field(8, ge=1, description="prompts per forward pass (transformers)")
    chat: bool | None = Field(None, description="send chat messages (default) or plain text")
    seed: int = Field(42, description="seed of every random choice (and of sampling)")
    adapter: str | None = Field(None, description="LoRA adapter dir for the transformers backend")


class RunOptions(BackendOptions):
    """Every option of `selfinstruct run`; each stage command reads the ones it needs."""

    out: Path | None = Field(None, description="run directory")
    progress: bool = Field(True, description="show progress bars")
    prompt_dir: Path | None = Field(
        None, description="directory of prompt files overriding the bundled ones (same names)"
    )
    # bootstrap
    seeds: str = Field("en", description="seed tasks: en, zh or a file")
    language: Literal["en", "zh"] | None = Field(None, description="default: from the seeds")
    num_instructions: int = Field(100, ge=0, description="machine instructions to generate")
    token_budget: int | None = Field(None, gt=0, description="stop bootstrap after these tokens")
    threshold: float = Field(0.7, gt=0, le=1, description="ROUGE-L similarity threshold")
    template: Path | None = Field(None, description="your own bootstrap prompt template file")
    num_prompt_instructions: int = Field(8, ge=1, description="in-context instructions per prompt")
    num_machine_instructions: int = Field(2, ge=0, description="of those, from the machine pool")
    blacklist: list[str] | None = Field(
        None, description="keywords that reject an instruction, comma-separated (default: paper's)"
    )
    min_words: int = Field(4, ge=1, description="shortest instruction kept, in words (en)")
    max_words: int = Field(150, ge=1, description="longest instruction kept, in words (en)")
    min_chars: int = Field(6, ge=1, description="shortest instruction kept, in characters (zh)")
    max_chars: int = Field(300, ge=1, description="longest instruction kept, in characters (zh)")
    temperature: float | None = Field(None, ge=0, description="bootstrap sampling (default 0.7)")
    top_p: float | None = Field(None, gt=0, le=1, description="bootstrap top_p (default 0.5)")
    presence_penalty: float | None = Field(None, description="bootstrap penalty (default 2)")
    max_tokens: int | None = Field(None, ge=1, description="bootstrap max tokens (default 1024)")
    similarity_workers: int | None = Field(
        None, ge=1, description="similarity filter processes (default 1; see docs/similarity.md)"
    )
    patience: int | None = Field(
        200, ge=1, description="stop bootstrap after this many requests in a row accept nothing"
    )
    # classify
    classify_examples: int = Field(12, ge=0, description="few-shot examples in the classify prompt")
    # instances
    max_instances: int = Field(5, ge=1, description="instances kept per task")
    instance_examples: int = Field(2, ge=0, description="few-shot seed tasks per instance prompt")
    instance_max_tokens: int = Field(320, ge=16, description="max tokens per instance response")
    max_input_chars: int = Field(1000, ge=1, description="drop instances with a longer input")
    max_output_chars: int = Field(1000, ge=1, description="drop instances with a longer output")
    # export
    format: ExportFormat = Field("alpaca", description="alpaca, sharegpt or messages")
    include_seeds: bool = Field(False, description="add the seed tasks' instances to the export")
    val_ratio: float = Field(0.0, ge=0, lt=1, description="share of tasks held out for validation")
    system_prompt: str | None = Field(None, description="system turn for --format messages")

    @model_validator(mode="after")
    def _check(self) -> RunOptions:
        if self.backend == "transformers" and self.base_url:
            raise ValueError("base_url is for backend 'openai'; drop it or switch backend")
        return self


def read_config_file(path: str | Path) -> dict[str, Any]:
    """Read a TOML (.toml) or YAML (.yaml/.yml) file into option names (dashes become _)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from None
    suffix = path.suffix.lower()
    try:
        if suffix == ".toml":
            data: Any = _toml().loads(text)
        elif suffix in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text) or {}
        else:
            raise ConfigError(f"config file {path}: use a .toml, .yaml or .yml file")
    except ConfigError:
        raise
    except Exception as exc:  # TOMLDecodeError / YAMLError, without importing them up front
        raise ConfigError(f"config file {path} is not valid {suffix[1:].upper()}: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path}: expected a table of options at the top level")
    return {str(k).replace("-", "_"): v for k, v in data.items()}


def _toml() -> Any:
    """tomllib (Python 3.11+), or tomli on 3.10."""
    try:
        import tomllib
    except ModuleNotFoundError:  # pragma: no cover - Python 3.10
        try:
            import tomli as tomllib
        except ModuleNotFoundError:
            raise ConfigError(
                "TOML config files need Python 3.11+ or `pip install tomli`; or use YAML"
            ) from None
    return tomllib


def build_options(
    file_values: dict[str, Any], flag_values: dict[str, Any], source: str = "options"
) -> RunOptions:
    """Defaults < config file < flags (flags left as None count as not given)."""
    merged = {**file_values, **{k: v for k, v in flag_values.items() if v is not None}}
    try:
        return RunOptions.model_validate(merged)
    except ValidationError as exc:
        err = exc.errors()[0]
        name = ".".join(str(p) for p in err["loc"]) or "options"
        flag = "--" + name.replace("_", "-")
        raise ConfigError(f"{source}: {flag}: {err['msg']}") from None
