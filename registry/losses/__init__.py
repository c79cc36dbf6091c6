"""Built-in classification losses: ``factory(**hparams)`` → ``loss(logits, targets) -> scalar``."""
