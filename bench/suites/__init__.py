"""The benchmark suites: the generic `Suite` / `Task` (`base`), what planning reads of them
(`info`), one module per suite, and their shared splits and corruptions."""
