"""The composition root: the only place that wires adapters to ports (setup files, registry, CLI)."""
