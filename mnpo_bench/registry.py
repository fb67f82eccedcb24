"""A small string-keyed registry for every open-ended choice a config names, so a plug-in adds a name
without editing the code that dispatches on it. Entries are "module:attribute" strings imported on first
use (choosing `vllm` never imports vLLM unless it is picked; registering costs nothing at import time).

The registries: judge backends (`panel.backends.BACKENDS`, a persona's `backend:`), generation backends
(`generation.generate.GENERATION_BACKENDS`, `generation.backend`), losses (`train.objectives.OBJECTIVES`,
a recipe's `loss.name`), pair selections (`train.data.SELECTIONS`, a recipe's `pairs:`), loop shapes
(`train.shapes.LOOP_SHAPES`, a recipe's `loop:`) and battle sources (`ratings.importers.SOURCES`,
`--from`). The rating columns of ratings.csv (`ratings.game.RATINGS`) are not a choice: every one is
computed, in a fixed order, so they stay an ordered dict.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Generic, TypeVar

from mnpo_bench.errors import UserError, did_you_mean

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps names to lazily imported objects; unknown names raise a UserError with a "did you mean"."""

    def __init__(self, kind: str):
        self.kind = kind
        self._targets: dict[str, str] = {}
        self._loaded: dict[str, T] = {}

    def add(self, name: str, target: str) -> None:
        """Register `name` as the object at `target` ("package.module:attribute")."""
        if name in self._targets and self._targets[name] != target:
            raise ValueError(f"{self.kind} '{name}' is registered twice")
        self._targets[name] = target

    def put(self, name: str, obj: T) -> None:
        """Register an object already in hand as `name` (a plug-in defined at run time, or a test's)."""
        if name in self._targets and self._loaded.get(name) is not obj:
            raise ValueError(f"{self.kind} '{name}' is registered twice")
        self._targets[name], self._loaded[name] = f"<object {name}>", obj

    def get(self, name: str, *, where: str | None = None) -> T:
        """The object registered as `name`, imported on first use."""
        if name not in self._targets:
            raise UserError(f"unknown {self.kind} '{name}'", where=where, fix=did_you_mean(name, self._targets))
        if name not in self._loaded:
            module, _, attribute = self._targets[name].partition(":")
            self._loaded[name] = getattr(importlib.import_module(module), attribute)
        return self._loaded[name]

    def names(self) -> list[str]:
        """Registered names, sorted."""
        return sorted(self._targets)

    def __contains__(self, name: object) -> bool:
        return name in self._targets

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())
