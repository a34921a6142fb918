"""Redis-specific parts: the Lua scripts and the pub/sub listener."""
