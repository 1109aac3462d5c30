"""The attribution methods, one a module; importing this package registers every one of them.

Each module defines a frozen dataclass decorated with `registry.register(name, *aliases)` that
satisfies `registry.AttributionMethod`. A new method is a new module here: it is found by the
loop below, listed by `list_methods()` and built by `get_method(name, **options)`.
"""

from __future__ import annotations

import importlib
import pkgutil


def _import_all() -> None:
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_"):  # private helpers such as _gradients
            importlib.import_module(f"{__name__}.{info.name}")


_import_all()
