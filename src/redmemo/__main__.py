"""``python -m redmemo``: the command line (see :mod:`redmemo.cli`)."""

from .cli import main

raise SystemExit(main())
