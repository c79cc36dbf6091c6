"""Built-in metric-learning (embedding) losses and the Metrix regularizer.

An embedding loss is ``factory(**hparams, [num_classes], [embedding_size])`` → a module whose
``forward(embeddings, labels)`` returns a scalar; it declares ``objective = "embedding"``. The
harness passes ``num_classes`` and ``embedding_size`` only to factories that name them (proxy- and
classifier-based losses such as ArcFace or ProxyAnchor). Losses that pytorch-metric-learning (PML)
implements are adapted from it, not rewritten (:mod:`.pml_adapter`).
"""
