"""Built-in regularizers: objects with any subset of the hooks ``setup``, ``transform_batch``,
``penalty``, ``step`` and ``on_epoch_end`` (see ``lossbench.train``)."""
