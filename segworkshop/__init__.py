"""segworkshop: run a user-segmentation working session on your own event data.

The public face: :class:`Workshop` (data + configuration), the config loaders, and the project's errors.
Analyses return pandas DataFrames or small dataclasses; display lives in charts, widgets and reports.

The names below are loaded on first use (PEP 562): ``import segworkshop`` stays light (no Ibis, pandas or
statsmodels), so that the command line starts fast and ``--help`` costs nothing; ``segworkshop.Workshop``
imports what it needs when it is first touched.
"""

from __future__ import annotations

from importlib import import_module
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # what static checkers and IDEs see; at run time these come from __getattr__
    from .config import SuccessDefinition, WorkshopConfig, load_config, parse_config
    from .errors import ConfigError, DataError, SegworkshopError
    from .workshop import Workshop

    __version__: str

# public name -> the submodule that defines it
_LAZY = {
    "ConfigError": "errors",
    "DataError": "errors",
    "SegworkshopError": "errors",
    "SuccessDefinition": "config",
    "WorkshopConfig": "config",
    "load_config": "config",
    "parse_config": "config",
    "Workshop": "workshop",
}

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


def __getattr__(name: str) -> Any:
    if name == "__version__":
        value: Any = import_module(".version", __name__).__version__
    elif name in _LAZY:
        value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    """The public names (loaded or not), the submodules imported so far and the module's dunders; not the
    helpers above."""
    names = globals()
    loaded = [n for n, v in names.items() if isinstance(v, ModuleType) and v.__name__.startswith(f"{__name__}.")]
    return sorted({*__all__, *loaded, *(n for n in names if n.startswith("__"))})
