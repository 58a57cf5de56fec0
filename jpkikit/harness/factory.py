"""Resolve ``module:callable`` references (profile ``factory`` fields) to the object they name."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from jpkikit.errors import KitError


def resolve(ref: str) -> Callable[..., Any]:
    module_name, sep, attr = ref.partition(":")
    if not sep or not module_name or not attr:
        raise KitError(f"factory {ref!r} must have the form 'module:callable'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise KitError(f"factory {ref!r}: cannot import {module_name!r}: {exc}") from None
    obj = module
    for part in attr.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            raise KitError(f"factory {ref!r}: {module_name!r} has no {attr!r}")
    if not callable(obj):
        raise KitError(f"factory {ref!r} is not callable")
    return obj
