"""The whole Self-Instruct pipeline in one call: bootstrap -> classify -> instances -> export.

Each stage reads the files of the one before it in the run directory and appends to its own, so
calling `run` again on the same directory resumes wherever the last call stopped (a crash, a
Ctrl-C, a larger target) and only the missing work is sent to the model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .bootstrap import BootstrapResult, bootstrap
from .classify import ClassifyResult, classify
from .config import ExportFormat
from .export import ExportResult, export_run
from .instances import InstancesResult, generate_instances
from .llm.base import Backend
from .llm.factory import or_default
from .records import SeedTask


@dataclass
class RunResult:
    """The result of every stage, in order."""

    out_dir: Path
    bootstrap: BootstrapResult
    classify: ClassifyResult
    instances: InstancesResult
    export: ExportResult


def run(
    seeds: str | Path | Sequence[SeedTask] = "en",
    out_dir: str | Path = "runs/selfinstruct",
    num_instructions: int = 100,
    backend: Backend | None = None,
    *,
    language: str | None = None,
    seed: int = 42,
    concurrency: int = 8,
    progress: bool = True,
    prompt_dir: str | Path | None = None,
    classify_examples: int = 12,
    max_instances: int = 5,
    instance_examples: int = 2,
    instance_max_tokens: int = 320,
    max_input_chars: int = 1000,
    max_output_chars: int = 1000,
    format: ExportFormat = "alpaca",
    include_seeds: bool = False,
    val_ratio: float = 0.0,
    system_prompt: str | None = None,
    **bootstrap_options: object,
) -> RunResult:
    """Run every stage into `out_dir`, resuming what is there; see `bootstrap` for its options.

    `backend` defaults to the embedded model in-process, loaded once for all stages.
    """
    backend = or_default(backend)
    shared = {"seed": seed, "concurrency": concurrency, "progress": progress}
    boot = bootstrap(
        seeds,
        out_dir,
        num_instructions,
        backend,
        language=language,
        **shared,
        **bootstrap_options,
    )
    labels = classify(
        out_dir,
        backend,
        seeds=seeds,
        language=language,
        examples=classify_examples,
        prompt_dir=prompt_dir,
        **shared,  # type: ignore[arg-type]
    )
    made = generate_instances(
        out_dir,
        backend,
        seeds=seeds,
        language=language,
        max_instances=max_instances,
        instance_examples=instance_examples,
        max_tokens=instance_max_tokens,
        max_input_chars=max_input_chars,
        max_output_chars=max_output_chars,
        prompt_dir=prompt_dir,
        **shared,  # type: ignore[arg-type]
    )
    exported = export_run(
        out_dir,
        format=format,
        include_seeds=include_seeds,
        seeds=seeds,
        language=language,
        val_ratio=val_ratio,
        seed=seed,
        system_prompt=system_prompt,
    )
    return RunResult(Path(out_dir), boot, labels, made, exported)
