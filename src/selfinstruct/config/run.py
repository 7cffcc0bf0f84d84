"""RunConfig: every option of a run, run-wide ones and one section per stage, and how it is built.

The CLI flags (`selfinstruct.cli.options`), `--config` TOML/YAML files, the keyword arguments of
`selfinstruct.run` and the stage functions, and the option tables in the docs all come from
these models (declared with `selfinstruct.config.fields.opt`). The options that change what a
run generates are recorded in `run.json` at the start of a run (prompt files by the fingerprint
of the text they hold, not by their path).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ..errors import ConfigError
from ..text.redact import redact_url
from .backend import BackendConfig
from .bootstrap import BootstrapConfig
from .classify import ClassifyConfig
from .describe import describe_error
from .export import ExportConfig
from .fields import Section, merge, opt, option_meta
from .files import read_config_mapping, toml_value
from .instances import InstancesConfig
from .judge import JudgeConfig
from .presets import PRESETS


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
        """Read a TOML (.toml) or YAML (.yaml/.yml) file (see `load_config_file`)."""
        return load_config_file(path)

    def to_toml(self) -> str:
        """The whole configuration as TOML that `from_file` reads back unchanged."""
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


SECTIONS = tuple(
    name
    for name, info in RunConfig.model_fields.items()
    if isinstance(info.annotation, type) and issubclass(info.annotation, Section)
)
"""The stage sections of RunConfig, in order: backend, bootstrap, classify, ..., export."""


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


def build_config(base: dict[str, Any], over: dict[str, Any], source: str) -> RunConfig:
    """Validate `over` applied to `base`; a failure names the option as a flag would."""
    try:
        return RunConfig.model_validate(merge(base, over))
    except ValidationError as exc:
        raise ConfigError(describe_error(exc, source, as_flags=True, model=RunConfig)) from None


def make_config(config: RunConfig | None = None, **options: Any) -> RunConfig:
    """`config` (default: all defaults) with flat keyword options applied."""
    return (config or RunConfig()).updated(**{k: v for k, v in options.items()})


def config_from_sources(file: str | Path | None, flags: dict[str, Any]) -> RunConfig:
    """Defaults < config file (validated on its own first) < flags given on the command line."""
    base = load_config_file(file).model_dump(exclude_unset=True) if file else {}
    return build_config(base, nest(flags), "command line")


def load_config_file(path: str | Path) -> RunConfig:
    """The file's options over the defaults; one ConfigError naming file, key and allowed values."""
    path = Path(path)
    raw = read_config_mapping(path)
    nested: dict[str, Any] = {}
    flat: dict[str, Any] = {}
    table = flat_options()
    for key, value in raw.items():
        if key in SECTIONS and isinstance(value, dict):
            nested[key] = {str(k).replace("-", "_"): v for k, v in value.items()}
        elif key in SECTIONS and key not in table:
            raise ConfigError(f"{path}: [{key}] must be a table of options")
        else:
            flat[key] = value  # a flat option; `judge = true` is the flag --judge
    unknown = [k for k in flat if k not in table]
    if unknown:
        allowed = ", ".join(
            [*RunConfig.model_fields, *sorted(set(table) - set(RunConfig.model_fields))]
        )
        raise ConfigError(
            f"{path}: unknown key {unknown[0]!r}; allowed at the top level: {allowed}"
        )
    for section, values in nested.items():
        fields = RunConfig.model_fields[section].annotation.model_fields  # type: ignore[union-attr]
        bad = [k for k in values if k not in fields]
        if bad:
            raise ConfigError(
                f"{path}: unknown key {bad[0]!r} in [{section}]; allowed: {', '.join(fields)}"
            )
    data = merge(nest(flat), nested)
    try:
        return RunConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(describe_error(exc, str(path), as_flags=False, model=RunConfig)) from None


def dump_toml(config: RunConfig) -> str:
    """Every option, defaults included (None values are left out: None is every such default)."""
    data = config.model_dump(mode="json")
    urls = data["backend"].get("base_url")
    if urls:  # credentials are never written out: put them back by hand where needed
        data["backend"]["base_url"] = [redact_url(url) for url in urls]
    lines = ["# selfinstruct run configuration (selfinstruct run --config FILE)"]
    for key, value in data.items():
        if key not in SECTIONS and value is not None:
            lines.append(f"{key} = {toml_value(value)}")
    for section in SECTIONS:
        lines.append(f"\n[{section}]")
        for key, value in data[section].items():
            if value is not None:
                lines.append(f"{key} = {toml_value(value)}")
    return "\n".join(lines) + "\n"
