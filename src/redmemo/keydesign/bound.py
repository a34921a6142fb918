"""A cached function seen through an instance: ``obj.method``.

Binding works as for plain functions (the instance becomes the first argument), and the
helpers bind too: ``obj.method.invalidate(x)`` forgets ``obj.method(x)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, ParamSpec, TypeVar

__all__ = ["BoundCachedFunction"]

P = ParamSpec("P")
R = TypeVar("R")


class BoundCachedFunction(Generic[P, R]):
    __slots__ = ("__self__", "_owner")

    def __init__(self, owner: Any, instance: object) -> None:
        self._owner = owner
        self.__self__ = instance

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        result: R = self._owner(self.__self__, *args, **kwargs)
        return result

    def key(self, *args: P.args, **kwargs: P.kwargs) -> str:
        key: str = self._owner.key(self.__self__, *args, **kwargs)
        return key

    def invalidate(self, *args: P.args, **kwargs: P.kwargs) -> Any:
        return self._owner.invalidate(self.__self__, *args, **kwargs)

    def refresh(self, *args: P.args, **kwargs: P.kwargs) -> R:
        result: R = self._owner.refresh(self.__self__, *args, **kwargs)
        return result

    def stats(self, reset: bool = False) -> dict[str, int]:
        counts: dict[str, int] = self._owner.stats(reset)
        return counts

    @property
    def function(self) -> Callable[P, R]:
        """The undecorated method, bound to the instance."""
        bound: Callable[P, R] = self._owner.function.__get__(self.__self__)
        return bound

    @property
    def __wrapped__(self) -> Callable[P, R]:
        return self.function

    def __repr__(self) -> str:
        return f"<bound {self._owner!r} of {self.__self__!r}>"
