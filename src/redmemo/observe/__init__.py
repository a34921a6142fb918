"""Hooks that come with every cache: statistics, shared statistics and warning logs."""
