"""The keyspace: every name, its way back, its hash slot, and namespaces kept apart."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from redmemo.core.glob import compile_glob
from redmemo.core.keyspace import Keyspace, hash_slot

text = st.text(min_size=1, max_size=30)


@given(st.text(min_size=1), text)
def test_a_body_comes_back_unchanged(namespace: str, body: str) -> None:
    space = Keyspace(namespace)
    key = space.entry(body)
    assert space.body(key) == body
    assert space.kind(key) == "entry"
    assert space.describe(key) == body


@given(text, text)
def test_an_entry_and_its_companions_share_a_slot_and_lead_back_to_it(ns: str, body: str) -> None:
    space = Keyspace(ns)
    key = space.entry(body)
    companions = [space.lease(key), space.wait_flag(key), space.dependents(key)]
    companions.append(space.marker(space.dependents(key)))
    assert {hash_slot(k) for k in [key, *companions]} == {hash_slot(key)}
    assert space.entry_of(space.lease(key)) == key
    assert space.entry_of(space.wait_flag(key)) == key
    assert [space.kind(k) for k in companions] == ["lease", "wait", "dep", "marker"]


@given(text, text)
def test_no_body_names_an_internal_key(ns: str, body: str) -> None:
    space = Keyspace(ns)
    internal = {space.tag("t"), space.index("fn", "f"), space.lease(space.entry("x")), space.stats}
    assert space.entry(body) not in internal
    assert space.kind(space.entry(body)) == "entry"


@given(text, text, text)
def test_a_namespace_never_matches_another_ones_keys(a: str, b: str, body: str) -> None:
    if a == b:
        return
    mine, theirs = Keyspace(a), Keyspace(b)
    pattern = compile_glob(mine.everything())
    for key in (theirs.entry(body), theirs.tag(body), theirs.lease(theirs.entry(body))):
        assert not pattern.fullmatch(key)
        assert mine.kind(key) is None
        assert mine.body(key) is None


def test_nested_and_prefixed_namespaces_in_particular() -> None:
    app, sub = Keyspace("app"), Keyspace("app:sub")
    assert not compile_glob(app.everything()).fullmatch(sub.entry("k"))
    assert sub.prefix == "app%3Asub:"


def test_the_slot_follows_redis_cluster() -> None:
    # Values from the Redis Cluster specification's examples.
    assert hash_slot("123456789") == 0x31C3 % 16384
    assert hash_slot("{user1000}.following") == hash_slot("{user1000}.followers")
    assert hash_slot("foo{}{bar}") == hash_slot("foo{}{bar}")  # empty tag: the whole key


def test_patterns_match_what_the_user_wrote() -> None:
    space = Keyspace("ns")
    for pattern, body, expected in [
        ("user:*", "user:1", True),
        ("user:*", "team:1", False),
        ("user:{*", "user:{x}", True),
        ("50%*", "50% off", True),
        ("a\\*", "a*", True),
        ("a\\*", "ab", False),
    ]:
        match = space.entries_matching(pattern)
        key = space.entry(body)
        found = compile_glob(match.server).fullmatch(key) is not None
        if match.body_filter is not None:
            found = found and match.body_filter.fullmatch(body) is not None
        assert found is expected, (pattern, body)
