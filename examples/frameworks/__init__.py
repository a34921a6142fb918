"""Framework examples: importable app factories that the test suite runs."""
