"""segworkshop: run a user-segmentation working session on your own event data.

The public face: :class:`Workshop` (data + configuration), the config loaders, and the project's errors.
Analyses return pandas DataFrames or small dataclasses; display lives in charts, widgets and reports.
"""

from .config import SuccessDefinition, WorkshopConfig, load_config, parse_config
from .errors import ConfigError, DataError, SegworkshopError
from .workshop import Workshop

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "DataError",
    "SegworkshopError",
    "SuccessDefinition",
    "Workshop",
    "WorkshopConfig",
    "__version__",
    "load_config",
    "parse_config",
]
