"""The build-time context: one list of keys (``BUILD_CONTEXT``), which every context is made of."""

from __future__ import annotations

import pytest

from lossbench.signatures import BUILD_CONTEXT, build_context, context_kwargs

VALUES = {"num_epochs": 3, "num_train": 40, "class_counts": [30, 10], "embedding_size": 8,
          "num_classes": 2}


def test_a_build_context_has_every_key_in_the_listed_order():
    context = build_context(**VALUES)
    assert tuple(context) == BUILD_CONTEXT
    assert context == VALUES


def test_a_missing_key_is_named_with_the_valid_ones():
    values = {k: v for k, v in VALUES.items() if k != "num_train"}
    with pytest.raises(TypeError, match=r"missing \['num_train'\], unknown none; the keys are "
                                        r"num_classes, embedding_size"):
        build_context(**values)


def test_a_key_outside_the_list_is_refused():
    with pytest.raises(TypeError, match=r"missing none, unknown \['epochs'\]"):
        build_context(**VALUES, epochs=3)


def test_a_factory_receives_only_the_context_its_signature_names():
    def factory(num_classes, alpha=0.5):
        return None

    assert context_kwargs(factory, build_context(**VALUES), BUILD_CONTEXT) == {"num_classes": 2}
