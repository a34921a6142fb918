"""The pure core: no I/O, no clock of its own, no event loop.

Policy, entries, keys and the keyspace, templates, durations and serializers. Everything
above (coordination, backends, the get-or-compute loop) builds on these modules; nothing
here imports from there.
"""
