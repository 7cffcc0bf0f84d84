"""selfinstruct: bootstrap instruction-following data from seed tasks, then LoRA-finetune on it.

Heavy dependencies (torch, transformers, peft) load only when a local model is used.
"""

from __future__ import annotations

from .bootstrap import BootstrapConfig, BootstrapResult, bootstrap
from .classify import ClassifyResult, classify
from .errors import (
    BackendError,
    BudgetExhausted,
    ConfigError,
    DataError,
    MissingDependencyError,
    SeedError,
    SelfInstructError,
)
from .export import ExportResult, export_run, to_dataset
from .instances import InstancesResult, generate_instances
from .llm.base import Backend, BackendInfo, Completion, GenerationParams, Usage, complete
from .llm.factory import make_backend
from .pipeline import RunResult, run
from .records import (
    AlpacaExample,
    Instance,
    MachineInstruction,
    Rejection,
    SeedTask,
    SimilarInstruction,
    TaskInstances,
)
from .seeds import load_seeds, summarize

__version__ = "0.1.0"

__all__ = [
    "AlpacaExample",
    "Backend",
    "BackendError",
    "BackendInfo",
    "BootstrapConfig",
    "BootstrapResult",
    "BudgetExhausted",
    "ClassifyResult",
    "Completion",
    "ConfigError",
    "DataError",
    "ExportResult",
    "GenerationParams",
    "Instance",
    "InstancesResult",
    "MachineInstruction",
    "MissingDependencyError",
    "Rejection",
    "RunResult",
    "SeedError",
    "SeedTask",
    "SelfInstructError",
    "SimilarInstruction",
    "TaskInstances",
    "Usage",
    "bootstrap",
    "classify",
    "complete",
    "export_run",
    "generate_instances",
    "load_seeds",
    "make_backend",
    "run",
    "summarize",
    "to_dataset",
]
