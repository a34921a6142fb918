"""Declarative keys: a Node class says what identifies an entry and how it is cached.

class UserNode(redmemo.Node):
    user_id = redmemo.Field()
    lang = redmemo.Field(default="en")

    def key(self) -> str:
        return f"user:{self.user_id}:{self.lang}"

    class Meta:
        ttl = "10m"
        refresh = "1m"
        tags = ["users"]

@cache(node=lambda c: UserNode(user_id=c.user_id))
def load_user(user_id: int) -> dict: ...

UserNode.objects.get(user_id=1)          # the cached value, or None
UserNode.objects.invalidate(user_id=1)   # one entry
UserNode.objects.invalidate()            # every entry of the node
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Protocol

from ..core.keys import function_name
from ..core.keyspace import Keyspace
from ..core.missing import MISSING
from ..core.templates import KeyTemplate
from ..errors import ConfigurationError
from ..options import NODE_DEFAULTS

__all__ = ["CacheLike", "Field", "Node", "NodeManager", "set_alias_resolver"]

# Options a node's Meta may give; the decorator's own arguments take precedence.
META_OPTIONS = NODE_DEFAULTS | {"tags", "cache"}


class CacheLike(Protocol):
    """What node managers use of a cache (``redmemo.Cache`` is one)."""

    keyspace: Keyspace

    def get(self, key: str, default: Any = None) -> Any: ...

    async def aget(self, key: str, default: Any = None) -> Any: ...

    def invalidate(self, *keys: str) -> int: ...

    async def ainvalidate(self, *keys: str) -> int: ...

    def _invalidate_indexes(self, indexes: Sequence[str]) -> int: ...

    async def _ainvalidate_indexes(self, indexes: Sequence[str]) -> int: ...


# How ``Meta.cache = "alias"`` finds its cache; ``redmemo.registry`` installs it, so that
# this module needs no import of the registry (which imports the cache, which imports us).
_resolve_alias: Callable[[str], CacheLike] | None = None


def set_alias_resolver(resolve: Callable[[str], CacheLike]) -> None:
    global _resolve_alias
    _resolve_alias = resolve


class Field:
    """A value that identifies a node's entry; required unless it has a default."""

    def __init__(self, default: Any = MISSING) -> None:
        self.default = default
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"Field({self.name!r})"


class NodeManager:
    """``Node.objects``: reads and invalidations of one node class's entries.

    It works on the cache named by ``Meta.cache`` (a Cache or an alias of
    ``redmemo.caches``); without one, on every cache whose decorated functions used the
    node in this process, else on ``redmemo.caches["default"]``.
    """

    def __init__(self, node: type[Node]) -> None:
        self.node = node
        self._caches: weakref.WeakSet[Any] = weakref.WeakSet()

    def bind(self, cache: CacheLike) -> None:
        self._caches.add(cache)

    def caches(self) -> list[CacheLike]:
        chosen = self.node._meta.get("cache")
        if chosen is not None and not isinstance(chosen, str):
            return [chosen]
        bound = list(self._caches)
        if chosen is None and bound:
            return bound
        if _resolve_alias is None:
            raise ConfigurationError("no cache registry to find a node's cache in")
        return [_resolve_alias(chosen or "default")]

    def index(self, cache: CacheLike) -> str:
        return cache.keyspace.index("node", function_name(self.node))

    def get(self, default: Any = None, **fields: Any) -> Any:
        """The cached value of the node with these fields, or ``default``."""
        node = self.node(**fields)
        for cache in self.caches():
            value = cache.get(node.key(), MISSING)
            if value is not MISSING:
                return value
        return default

    async def aget(self, default: Any = None, **fields: Any) -> Any:
        node = self.node(**fields)
        for cache in self.caches():
            value = await cache.aget(node.key(), MISSING)
            if value is not MISSING:
                return value
        return default

    def invalidate(self, **fields: Any) -> int:
        """Invalidate one entry (with fields) or every entry of the node (without)."""
        total = 0
        for cache in self.caches():
            if fields:
                total += cache.invalidate(self.node(**fields).key())
            else:
                total += cache._invalidate_indexes([self.index(cache)])
        return total

    async def ainvalidate(self, **fields: Any) -> int:
        total = 0
        for cache in self.caches():
            if fields:
                total += await cache.ainvalidate(self.node(**fields).key())
            else:
                total += await cache._ainvalidate_indexes([self.index(cache)])
        return total


class Node:
    """Subclass it, declare ``Field``s and a ``key()`` method; optionally a ``Meta``."""

    _fields: ClassVar[dict[str, Field]] = {}
    _meta: ClassVar[dict[str, Any]] = {}
    _tag_templates: ClassVar[list[KeyTemplate]] = []
    objects: ClassVar[NodeManager]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        fields: dict[str, Field] = {}
        for klass in reversed(cls.__mro__):
            fields.update({n: v for n, v in vars(klass).items() if isinstance(v, Field)})
        cls._fields = fields
        meta = getattr(cls, "Meta", None)
        options = {n: v for n, v in vars(meta).items() if not n.startswith("_")} if meta else {}
        unknown = set(options) - META_OPTIONS
        if unknown:
            raise ConfigurationError(
                f"{cls.__qualname__}.Meta has unknown option(s) {sorted(unknown)}; "
                f"it may set {sorted(META_OPTIONS)}"
            )
        tags = options.get("tags", ())
        if isinstance(tags, str) or not all(isinstance(tag, str) for tag in tags):
            raise ConfigurationError(f"{cls.__qualname__}.Meta.tags must be a list of templates")
        # Checked now, as the decorator checks its templates: a typo fails at import.
        cls._tag_templates = [
            KeyTemplate(tag, fields, what="Meta.tags", owner=cls.__qualname__) for tag in tags
        ]
        cls._meta = options
        cls.objects = NodeManager(cls)  # each class its own: nodes never share state

    def __init__(self, **values: Any) -> None:
        fields = type(self)._fields
        unknown = set(values) - set(fields)
        if unknown:
            raise ConfigurationError(
                f"{type(self).__qualname__} has no field(s) {sorted(unknown)}; "
                f"its fields are {sorted(fields)}"
            )
        for name, field in fields.items():
            if name in values:
                value = values[name]
            elif field.default is not MISSING:
                value = field.default
            else:
                raise ConfigurationError(
                    f"{type(self).__qualname__} needs field {name!r} (fields: {sorted(fields)})"
                )
            object.__setattr__(self, name, value)

    def key(self) -> str:
        """The entry's key within the cache's namespace. Every node must define it."""
        raise NotImplementedError(f"{type(self).__qualname__} must define key()")

    def tags(self) -> list[str]:
        """Tags of this node's entry: ``Meta.tags``, rendered with the fields."""
        values = {name: getattr(self, name) for name in type(self)._fields}
        return [template.render(values) for template in type(self)._tag_templates]

    def invalid_nodes(self) -> Node | Sequence[Node] | None:
        """Nodes whose invalidation also invalidates this node's entry (cacheme's
        ``invalid_nodes``): ``OwnerNode.objects.invalidate(id=7)`` then reaches every entry
        that named ``OwnerNode(id=7)`` here. Their keys work as ``depends_on`` keys; an
        invalid node needs no entry of its own. Override to use."""
        return None

    def on_hit(self, key: str, value: Any) -> None:
        """Called after a hit of this node's entry (override to use)."""

    def on_miss(self, key: str) -> None:
        """Called after a miss of this node's entry (override to use)."""

    def __repr__(self) -> str:
        fields = ", ".join(f"{n}={getattr(self, n)!r}" for n in type(self)._fields)
        return f"{type(self).__qualname__}({fields})"
