"""Django's own cache tests, from the source release of the Django installed here.

The wheel carries no tests; the sdist of the same version does. It is fetched once with
pip (from the index pip is configured with) into the temporary directory and reused.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import django

__all__ = ["django_tests_dir"]


def django_tests_dir() -> Path:
    """A directory holding Django's ``tests/cache`` package as ``cache`` (importable as
    Django's test runner imports it: ``cache.tests``, ``cache.models``)."""
    version = django.get_version()
    home = Path(tempfile.gettempdir()) / f"redmemo-django-{version}-tests"
    package = home / "cache"
    if (package / "tests.py").exists():
        return home
    download = home / "sdist"
    download.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
            "--no-binary", ":all:", "-d", str(download),
            f"django=={version}",
        ],
        check=True,
        timeout=600,
    )  # fmt: skip
    archives = sorted(download.glob("*.tar.gz"))
    if not archives:
        raise RuntimeError(f"pip brought no Django {version} source release to {download}")
    staging = home / "staging"
    with tarfile.open(archives[0]) as tar:
        members = [m for m in tar.getmembers() if "/tests/cache/" in m.name and m.isfile()]
        if not members:
            raise RuntimeError(f"{archives[0].name} has no tests/cache package")
        for member in members:
            member.name = "cache/" + member.name.split("/tests/cache/", 1)[1]
            tar.extract(member, staging, filter="data")
    (staging / "cache").replace(package)  # whole or not at all, for a run cut short
    return home
