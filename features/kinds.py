"""Kind registries: the builders a model spec's ``kind`` fields name, looked up by that name.

``features.cohorts`` registers cohort and index-date kinds and ``features.outcomes`` outcome kinds,
each with a decorator (``@COHORT_KINDS.register("year9_on_roll")``). A new kind is a new decorated
function; nothing dispatches with ``if`` chains, and a spec naming an unknown kind fails with the
kinds that do exist.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

Builder = TypeVar("Builder", bound=Callable)


class UnknownKindError(ValueError):
    """A spec names a kind no builder is registered for; the message lists the known kinds."""


class KindRegistry(Generic[Builder]):
    """Builders of one spec section (``cohort``, ``index_dates``, ``outcome``) by kind name.

    Args:
        section: the spec section whose ``kind`` names a builder here (used in error messages).
    """

    def __init__(self, section: str) -> None:
        self.section = section
        self._builders: dict[str, Builder] = {}

    def register(self, kind: str) -> Callable[[Builder], Builder]:
        """Decorator: register the decorated function as the builder of ``kind``.

        Raises:
            ValueError: ``kind`` is already registered (two builders for one name would be ambiguous).
        """

        def add(builder: Builder) -> Builder:
            if kind in self._builders:
                raise ValueError(f"{self.section} kind {kind!r} is registered twice")
            self._builders[kind] = builder
            return builder

        return add

    def kinds(self) -> tuple[str, ...]:
        """Every registered kind, in registration order."""
        return tuple(self._builders)

    def __contains__(self, kind: object) -> bool:
        return kind in self._builders

    def get(self, kind: str) -> Builder:
        """The builder of ``kind``.

        Raises:
            UnknownKindError: no builder is registered for ``kind``.
        """
        try:
            return self._builders[kind]
        except KeyError:
            known = ", ".join(self._builders) or "none"
            raise UnknownKindError(f"unknown {self.section}.kind {kind!r}; known kinds: {known}") from None
