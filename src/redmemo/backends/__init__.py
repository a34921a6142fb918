"""Where entries live: the memory and Redis backends, the layers stacked over them, and
the factory that builds a stack from a URL's scheme.

A backend speaks in semantic operations (get, lease, store, invalidate, ...) on the keys
that ``core/keyspace.py`` names; it holds no business logic of the decorator's.
"""
