"""How a decorated function names its entries, and what it registers them under.

By default a key is ``namespace:module.qualname:{digest of the arguments}``. ``key=``
(a template or a callable) or ``node=`` (a Node) replace it with a designed key,
``namespace:<designed>``. Every stored entry is registered under indexes: its function
(for ``invalidate_all``), its node class, its tags and its dependencies, so that each of
them can be invalidated without scanning the database.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ._log import logger
from .core import MISSING
from .errors import ConfigurationError, InvalidKeyError
from .keys import KeyMaker, function_name
from .nodes import Node
from .options import Options
from .templates import Args, make_renderer

if TYPE_CHECKING:
    from .cache import Cache

__all__ = ["Design"]

Renderer = Callable[[Mapping[str, Any], Args], str]


class Design:
    def __init__(self, cache: Cache, fn: Callable[..., Any], options: Options) -> None:
        self.cache = cache
        self.owner = function_name(fn)
        names = list(inspect.signature(fn).parameters)
        probe = KeyMaker(fn, prefix="")
        self.var_names = probe.var_names
        self.node_factory: Callable[[Args], Node] | None = None
        render: Callable[[Mapping[str, Any]], str] | None = None
        deterministic = True
        if options.node is not None:
            self.node_factory = self._node_factory(options.node, names)
            render = self._node_key
            deterministic = False  # a node's key() is the user's code
        elif options.key is not None:
            renderer = make_renderer(options.key, names, what="key", owner=self.owner)
            render = lambda arguments: renderer(arguments, self.container(arguments))  # noqa: E731
            deterministic = isinstance(options.key, str)
        self.keys = KeyMaker(
            fn,
            prefix=cache._prefix,
            ignore=options.ignore,
            version=options.version,
            render=render,
            deterministic=deterministic,
        )
        version = "" if options.version is None else f":v{options.version}"
        self.stats_name = self.owner + version
        self.function_index = cache._index_name("fn", self.stats_name)
        self.tags = self._renderers(options.tags, names, "tags")
        self.depends_on = self._renderers(options.depends_on, [*names, "result"], "depends_on")
        self.on_hit = options.on_hit
        self.on_miss = options.on_miss
        self.adopt_node_meta: Callable[[dict[str, Any]], None] | None = None
        self._node_classes: set[type[Node]] = set()

    # -- keys -------------------------------------------------------------------------------

    def container(self, arguments: Mapping[str, Any], result: Any = MISSING) -> Args:
        return Args(arguments, *self.var_names, result=result)

    def _node_factory(self, spec: Any, names: list[str]) -> Callable[[Args], Node]:
        if isinstance(spec, type) and issubclass(spec, Node):
            missing = [
                f
                for f, field in spec._fields.items()
                if f not in names and field.default is MISSING
            ]
            if missing:
                raise ConfigurationError(
                    f"node={spec.__qualname__} needs field(s) {missing}, which {self.owner} does "
                    "not take as parameters; pass node=lambda c: Node(field=c.param) instead"
                )
            fields = [f for f in spec._fields if f in names]
            return lambda c: spec(**{f: getattr(c, f) for f in fields})
        if callable(spec):
            return spec  # type: ignore[no-any-return]
        raise ConfigurationError("node must be a Node subclass or a callable returning a Node")

    def node_of(self, arguments: Mapping[str, Any]) -> Node:
        assert self.node_factory is not None
        node = self.node_factory(self.container(arguments))
        if not isinstance(node, Node):
            raise InvalidKeyError(
                f"the node callable of {self.owner} returned {node!r}, not a Node"
            )
        node_class = type(node)
        if node_class not in self._node_classes:
            self._node_classes.add(node_class)
            node_class.objects.bind(self.cache)
            if self.adopt_node_meta is not None:
                self.adopt_node_meta(node_class._meta)
        return node

    def _node_key(self, arguments: Mapping[str, Any]) -> str:
        key = self.node_of(arguments).key()
        if not isinstance(key, str) or not key:
            raise InvalidKeyError(f"a node's key() must return a non-empty str, got {key!r}")
        return key

    # -- indexes ------------------------------------------------------------------------------

    def _renderers(
        self, spec: Any, names: list[str], what: str
    ) -> list[Renderer] | Callable[[Args], Iterable[str]]:
        if callable(spec):
            return spec  # type: ignore[no-any-return]
        if not isinstance(spec, Iterable):
            raise ConfigurationError(f"{what} must be a list of templates or a callable")
        return [make_renderer(item, names, what=what, owner=self.owner) for item in spec]

    def _render_all(
        self,
        spec: list[Renderer] | Callable[[Args], Iterable[str]],
        arguments: Mapping[str, Any],
        c: Args,
    ) -> list[str]:
        if callable(spec):
            values = list(spec(c))
            if not all(isinstance(v, str) and v for v in values):
                raise InvalidKeyError(
                    f"a tags/depends_on callable of {self.owner} must return strs"
                )
            return values
        return [render(arguments, c) for render in spec]

    def indexes(self, arguments: Mapping[str, Any], result: Any) -> list[str]:
        """The indexes a stored result is registered under."""
        cache = self.cache
        found = [self.function_index]
        if not (self.tags or self.depends_on or self.node_factory):
            return found
        c = self.container(arguments)
        tags = self._render_all(self.tags, arguments, c)
        if self.node_factory is not None:
            node = self.node_of(arguments)
            found.append(type(node).objects.index(cache))
            tags.extend(node.tags())
        found.extend(cache._index_name("tag", tag) for tag in tags)
        if self.depends_on:
            with_result = {**arguments, "result": result}
            deps = self._render_all(self.depends_on, with_result, self.container(arguments, result))
            found.extend(cache._index_name("dep", cache._prefix + dep) for dep in deps)
        return found

    # -- callbacks ----------------------------------------------------------------------------

    def hit(self, key: str, value: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self._callback("on_hit", key, value, args, kwargs)

    def miss(self, key: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self._callback("on_miss", key, MISSING, args, kwargs)

    def _callback(self, kind: str, key: str, value: Any, args: Any, kwargs: Any) -> None:
        # The decorator's own callback wins over the node's, as in the seed.
        try:
            arguments = self.keys.arguments(args, kwargs)
            if kind == "on_hit" and self.on_hit is not None:
                self.on_hit(key, value, self.container(arguments))
            elif kind == "on_miss" and self.on_miss is not None:
                self.on_miss(key, self.container(arguments))
            elif self.node_factory is not None:
                node = self.node_of(arguments)
                if kind == "on_hit":
                    node.on_hit(key, value)
                else:
                    node.on_miss(key)
        except Exception:
            logger.warning("redmemo: the %s callback of %s failed", kind, self.owner, exc_info=True)

    @property
    def has_callbacks(self) -> bool:
        return self.on_hit is not None or self.on_miss is not None or self.node_factory is not None
