"""The I/O shell, written once for asyncio; ``_sync`` is generated from it (scripts/unasync.py)."""
