"""lossbench's built-in entries (import package ``lossbench_registry``).

Each module holds one entry with its paper reference and formula. They are registered in
lossbench's ``pyproject.toml`` under the same entry-point groups a third-party package uses
(``lossbench.losses``, ``lossbench.regularizers``): built-ins get no special path.
"""
