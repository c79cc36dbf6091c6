"""The harness version: part of every spec key (``RunSpec.harness_version``), pinned to the code's
fingerprint in ``bench/harness_pin.json``; ``python -m lossbench.fingerprint --bump X.Y.Z`` sets
it here and in ``pyproject.toml``. Its own module, at the bottom of the import layers, so that
reading it never imports the package's facade (``lossbench``, which reaches the API)."""

__version__ = "0.5.0"
