"""selfinstruct: bootstrap instruction-following data from seed tasks, then LoRA-finetune on it.

Heavy dependencies (torch, transformers, peft) load only when a local model is used.
Every synchronous function here works from plain Python and inside a running event loop
(Jupyter); the model-calling ones have an `a`-prefixed twin for callers who own the loop.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .config import (
    BackendConfig,
    BootstrapConfig,
    ClassifyConfig,
    DedupConfig,
    ExportConfig,
    InstancesConfig,
    JudgeConfig,
    RunConfig,
)
from .errors import (
    BackendError,
    BudgetExhausted,
    ConfigError,
    DataError,
    MissingDependencyError,
    SeedError,
    SelfInstructError,
    Terminated,
)
from .llm.base import (
    Backend,
    BackendInfo,
    ChatMessage,
    Completion,
    GenerationParams,
    Prompt,
    Usage,
    acomplete,
    complete,
)
from .llm.factory import make_backend
from .pipeline import RunResult, aestimate, arun, estimate, run
from .reporting.build import ReportResult, report
from .runtime.estimate import Estimate, StageEstimate
from .runtime.records import (
    AlpacaExample,
    ClassificationRecord,
    Instance,
    InstanceRejection,
    InstancesRecord,
    JudgeRecord,
    MachineInstruction,
    Rejection,
    SeedTask,
    SimilarInstruction,
)
from .runtime.rundir import RunDir
from .runtime.seeds import SeedSummary, load_seeds, summarize
from .similarity import Decision, SimilarityIndex, get_tokenizer
from .stages.bootstrap.result import BootstrapResult
from .stages.bootstrap.stage import abootstrap, bootstrap
from .stages.classify.stage import ClassifyResult, aclassify, classify
from .stages.dedup.stage import DedupResult, dedup
from .stages.export.stage import ExportResult, export_run, to_dataset
from .stages.instances.stage import InstancesResult, agenerate_instances, generate_instances
from .stages.judge.stage import JudgeResult, ajudge, judge

if TYPE_CHECKING:
    from .llm.openai_backend import OpenAIBackend
    from .llm.transformers_backend import TransformersBackend

__version__ = "0.1.0"

_LAZY = {
    "OpenAIBackend": "selfinstruct.llm.openai_backend",
    "TransformersBackend": "selfinstruct.llm.transformers_backend",
}
"""Backends imported on first use: `import selfinstruct` must not import torch."""


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'selfinstruct' has no attribute {name!r}")


__all__ = [
    "AlpacaExample",
    "Backend",
    "BackendConfig",
    "BackendError",
    "BackendInfo",
    "BootstrapConfig",
    "BootstrapResult",
    "BudgetExhausted",
    "ChatMessage",
    "ClassificationRecord",
    "ClassifyConfig",
    "ClassifyResult",
    "Completion",
    "ConfigError",
    "DataError",
    "Decision",
    "DedupConfig",
    "DedupResult",
    "Estimate",
    "ExportConfig",
    "ExportResult",
    "GenerationParams",
    "Instance",
    "InstanceRejection",
    "InstancesConfig",
    "InstancesRecord",
    "InstancesResult",
    "JudgeConfig",
    "JudgeRecord",
    "JudgeResult",
    "MachineInstruction",
    "MissingDependencyError",
    "OpenAIBackend",
    "Prompt",
    "Rejection",
    "ReportResult",
    "RunConfig",
    "RunDir",
    "RunResult",
    "SeedError",
    "SeedSummary",
    "SeedTask",
    "SelfInstructError",
    "SimilarInstruction",
    "SimilarityIndex",
    "StageEstimate",
    "Terminated",
    "TransformersBackend",
    "Usage",
    "abootstrap",
    "aclassify",
    "acomplete",
    "aestimate",
    "agenerate_instances",
    "ajudge",
    "arun",
    "bootstrap",
    "classify",
    "complete",
    "dedup",
    "estimate",
    "export_run",
    "generate_instances",
    "get_tokenizer",
    "judge",
    "load_seeds",
    "make_backend",
    "report",
    "run",
    "summarize",
    "to_dataset",
]
