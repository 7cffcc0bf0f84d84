"""selfinstruct: bootstrap instruction-following data from seed tasks, then LoRA-finetune on it.

Heavy dependencies (torch, transformers, peft) load only when a local model is used.
"""

from __future__ import annotations

from .bootstrap import BootstrapConfig, BootstrapResult, bootstrap
from .errors import (
    BackendError,
    BudgetExhausted,
    ConfigError,
    DataError,
    MissingDependencyError,
    SeedError,
    SelfInstructError,
)
from .llm.base import Backend, BackendInfo, Completion, GenerationParams, Usage, complete
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
    "Completion",
    "ConfigError",
    "DataError",
    "GenerationParams",
    "Instance",
    "MachineInstruction",
    "MissingDependencyError",
    "Rejection",
    "SeedError",
    "SeedTask",
    "SelfInstructError",
    "SimilarInstruction",
    "TaskInstances",
    "Usage",
    "bootstrap",
    "complete",
    "load_seeds",
    "summarize",
]
