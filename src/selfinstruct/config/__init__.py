"""Configuration: each option declared once (`fields.opt`), one module per RunConfig section.

`run.RunConfig` gathers the sections; `files` reads and writes the file formats and `describe`
words validation errors. The names other packages use are re-exported here.
"""

from .backend import BackendConfig
from .bootstrap import BootstrapConfig
from .classify import ClassifyConfig
from .dedup import DedupConfig
from .export import ExportConfig, ExportFormat
from .fields import opt, option_meta
from .instances import InstancesConfig
from .judge import JudgeConfig
from .run import SECTIONS, RunConfig, config_from_sources, flat_options, make_config

__all__ = [
    "SECTIONS",
    "BackendConfig",
    "BootstrapConfig",
    "ClassifyConfig",
    "DedupConfig",
    "ExportConfig",
    "ExportFormat",
    "InstancesConfig",
    "JudgeConfig",
    "RunConfig",
    "config_from_sources",
    "flat_options",
    "make_config",
    "opt",
    "option_meta",
]
