"""Runs Django's own ``BaseCacheTests`` against ``redmemo.contrib.django.RedmemoCache``.

    python tests/contrib/django_base_cache_tests.py URL DJANGO_TESTS_DIR

A process of its own, since Django's settings are configured once per process. The
aliases are the ones Django's own Redis backend is tested with (``default``, ``prefix``,
``v2``, ``custom_key``, ``custom_key2``), without the two that configure culling
(``MAX_ENTRIES``), which redmemo refuses, as Django's Redis backend ignores it. Prints one
JSON line: counts, and each test that failed, erred or was skipped, with its reason.
"""

from __future__ import annotations

import importlib
import json
import sys
import unittest


def main(url: str, tests_dir: str) -> None:
    sys.path.insert(0, tests_dir)
    import django
    from django.conf import settings

    backend = {"BACKEND": "redmemo.contrib.django.RedmemoCache", "LOCATION": url}
    settings.configure(
        SECRET_KEY="redmemo-django-suite",
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "cache"],
        CACHES={"default": backend},
        USE_TZ=True,
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
    )
    django.setup()

    # ``cache`` is Django's own tests/cache package, taken from the source release of the
    # installed Django into DJANGO_TESTS_DIR (tests/support/django_release.py), not a
    # distribution: it is found on sys.path only at run time.
    django_cache_tests = importlib.import_module("cache.tests")
    BaseCacheTests = django_cache_tests.BaseCacheTests
    caches_setting_for_tests = django_cache_tests.caches_setting_for_tests
    from django.test import TestCase, override_settings
    from django.test.runner import DiscoverRunner

    @override_settings(CACHES=caches_setting_for_tests(base=backend, exclude={"cull", "zero_cull"}))
    class RedmemoCacheTests(BaseCacheTests, TestCase):  # type: ignore[misc]
        pass

    runner = DiscoverRunner(verbosity=0, interactive=False)
    runner.setup_test_environment()
    databases = runner.setup_databases()
    try:
        suite = unittest.defaultTestLoader.loadTestsFromTestCase(RedmemoCacheTests)
        result = unittest.TextTestRunner(stream=sys.stderr, verbosity=2).run(suite)
    finally:
        runner.teardown_databases(databases)
        runner.teardown_test_environment()

    def name(test: unittest.TestCase) -> str:
        return test.id().rsplit(".", 1)[-1]

    report = {
        "run": result.testsRun,
        "failures": [[name(t), text] for t, text in result.failures],
        "errors": [[name(t), text] for t, text in result.errors],
        "skipped": [[name(t), reason] for t, reason in result.skipped],
        "expected_failures": len(result.expectedFailures),
        "unexpected_successes": len(result.unexpectedSuccesses),
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
