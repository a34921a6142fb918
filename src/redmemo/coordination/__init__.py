"""Who computes a missing entry and how the others learn its result: leases across
processes, flights inside one, and the waiters that notices wake."""
