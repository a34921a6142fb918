"""How a decorated function names its entries, and what it registers them under.

By default a call's key is ``module.qualname:digest-of-the-arguments``. ``key=`` (a
template or a callable) or ``node=`` (a Node) replace it with a designed key. Every fill is
registered under indexes: its function (for ``invalidate_all``), its node class and its
tags *before* it computes (they depend on the arguments only), its dependencies after
(they may depend on the result), so that each can be invalidated without a scan.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from .._log import logger
from ..core.identity import identity_of
from ..core.keys import KeyMaker
from ..core.keyspace import Keyspace
from ..core.missing import MISSING
from ..core.policies import BoundSpec, Policy
from ..core.templates import Args, make_renderer
from ..errors import ConfigurationError, InvalidKeyError
from ..events import Event, Hit, Miss
from ..options import Options
from .nodes import CacheLike, Node

# The group of entries bounded by ``Cache(maxsize=...)``, shared by its functions.
NAMESPACE_GROUP = "#namespace"

__all__ = ["Design"]

Renderer = Callable[[Mapping[str, Any], Args], str]


class Design:
    def __init__(
        self, cache: CacheLike, keyspace: Keyspace, fn: Callable[..., Any], options: Options
    ) -> None:
        self.cache = cache
        self.keyspace = keyspace
        self.identity = identity_of(fn, options.name)
        self.owner = self.identity.name
        names = list(inspect.signature(fn).parameters)
        probe = KeyMaker(fn, entry=keyspace.entry)
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
        version = "" if options.version is None else f":v{options.version}"
        self.stats_name = self.owner + version
        # On a Redis Cluster a bounded function's entries carry its group's hash tag
        # (keyspace.grouped), so that eviction happens in the slot of the bookkeeping.
        self.group: str | None = None
        self.bound = self._bound(cache, options)
        entry: Callable[[str], str] = keyspace.entry
        if self.group is not None:
            entry = functools.partial(keyspace.grouped, self.group)
        self.keys = KeyMaker(
            fn,
            entry=entry,
            ignore=options.ignore,
            version=options.version,
            render=render,
            deterministic=deterministic,
            name=self.owner,
        )
        self.function_index = keyspace.index("fn", self.stats_name)
        # Whether fills register in the function's index. Without it, invalidate_all
        # finds the entries (and fills in progress) by SCAN over the function's keys,
        # which costs nothing per entry; keys the user renders cannot be told apart so.
        self.indexed = self._indexed(options.index)
        self.tags = self._renderers(options.tags, names, "tags")
        self.depends_on = self._renderers(options.depends_on, [*names, "result"], "depends_on")
        self.on_hit = options.on_hit
        self.on_miss = options.on_miss
        self.adopt_node_meta: Callable[[dict[str, Any]], None] | None = None
        # The early indexes when no argument decides them (no tags, no node): the same
        # list for every call, given without binding the arguments.
        self.fixed_indexes: list[str] | None = None
        if not (self.tags or self.node_factory):
            self.fixed_indexes = [self.function_index] if self.indexed else []
        self._node_classes: set[type[Node]] = set()
        if not options.leased and (
            self.fixed_indexes != [] or self.has_late_indexes or self.bound is not None
        ):
            raise ConfigurationError(
                f"{self.owner}: lease=False is for functions with no tags, depends_on, "
                "node=, key=, index=True or maxsize: their indexes and bounds are kept "
                "in the same scripts as the lease"
            )

    def _indexed(self, wanted: bool | None) -> bool:
        if self.keys.bodies is not None:
            return bool(wanted)
        if wanted is False:
            raise ConfigurationError(
                f"{self.owner}: index=False needs keys that redmemo makes: with key= or "
                "node= the function's entries can only be found through its index"
            )
        return True

    def _bound(self, cache: Any, options: Options) -> BoundSpec | None:
        """The bounded group of this function's entries: its own (``maxsize=``), the
        cache's (``Cache(maxsize=)``, shared by its functions without one), or none."""
        maxsize, policy, group = options.maxsize, options.policy, self.stats_name
        if maxsize is None:
            maxsize = getattr(cache, "maxsize", None)
            if maxsize is None:
                if policy is not None:
                    raise ConfigurationError(
                        f"{self.owner}: policy= needs maxsize= (on the function or the Cache)"
                    )
                return None
            policy = policy or getattr(cache, "policy", None)
            group = NAMESPACE_GROUP
        settings = getattr(cache, "settings", None)
        if getattr(settings, "topology", None) == "cluster":
            self.group = group
        chosen = policy or Policy("lru")
        return BoundSpec(self.keyspace.bound(group), maxsize, chosen.name, (), chosen.seed)

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

    def early_indexes(self, arguments: Mapping[str, Any]) -> list[str]:
        """The indexes a fill registers in before it computes: function, node, tags."""
        found = [self.function_index] if self.indexed else []
        if self.fixed_indexes is not None:
            return found
        tags = self._render_all(self.tags, arguments, self.container(arguments))
        if self.node_factory is not None:
            node = self.node_of(arguments)
            found.append(type(node).objects.index(self.cache))
            tags.extend(node.tags())
        found.extend(self.keyspace.tag(tag) for tag in tags)
        return found

    def late_indexes(self, arguments: Mapping[str, Any], result: Any) -> list[str]:
        """The indexes of the entry's dependencies (which may use the result), and of its
        node's invalid nodes."""
        deps: list[str] = []
        if self.depends_on:
            with_result = {**arguments, "result": result}
            container = self.container(arguments, result)
            deps = self._render_all(self.depends_on, with_result, container)
        if self.node_factory is not None:
            deps.extend(self._invalid_node_keys(self.node_of(arguments)))
        space = self.keyspace
        return [space.dependents(space.entry(dep)) for dep in deps]

    def _invalid_node_keys(self, node: Node) -> list[str]:
        named = node.invalid_nodes()
        if named is None:
            return []
        nodes = [named] if isinstance(named, Node) else list(named)
        keys = []
        for invalid in nodes:
            if not isinstance(invalid, Node):
                raise ConfigurationError(
                    f"{type(node).__qualname__}.invalid_nodes() must return Nodes, got {invalid!r}"
                )
            type(invalid).objects.bind(self.cache)  # so that its objects.invalidate finds us
            key = invalid.key()
            if not isinstance(key, str) or not key:
                raise InvalidKeyError(f"a node's key() must return a non-empty str, got {key!r}")
            keys.append(key)
        return keys

    @property
    def has_late_indexes(self) -> bool:
        """Whether fills register in indexes after computing (dependencies, invalid
        nodes of a node)."""
        return bool(self.depends_on) or self.node_factory is not None

    # -- callbacks ----------------------------------------------------------------------------

    def callback_hook(self, event: Event) -> None:
        """The function's own hook: ``on_hit`` / ``on_miss`` and the node's callbacks."""
        if isinstance(event, Hit):
            self._callback("on_hit", event.key, event.value, event.args, event.kwargs)
        elif isinstance(event, Miss):
            self._callback("on_miss", event.key, MISSING, event.args, event.kwargs)

    def _callback(self, kind: str, key: str, value: Any, args: Any, kwargs: Any) -> None:
        # The decorator's own callback wins over the node's, as in cacheme.
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
