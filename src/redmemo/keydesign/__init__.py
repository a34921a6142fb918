"""Keys and indexes designed by the user: templates, callables, nodes, tags, dependencies."""
