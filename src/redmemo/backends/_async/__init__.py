"""The backend protocol, layers and the Redis backend (async source of ``backends/_sync``)."""
