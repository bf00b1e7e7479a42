"""Fixtures shared across test packages."""

import pytest


@pytest.fixture(scope="session")
def tiny_bert_hub(tmp_path_factory):
    """A hub tree with a tiny real BERT (+MLM) and its preprocessor, exported by the export pipeline.

    Dict: hub_root, encoder (version directory), preprocessor (version directory),
    result (the source ImportResult, a Keras 3 model).
    """
    from tests.export import tiny_hub_tree

    base = tmp_path_factory.mktemp("tiny_bert_hub")
    result, encoder, preprocessor = tiny_hub_tree.export_tiny_bert(base / "hub", base / "work")
    return {"hub_root": base / "hub", "encoder": encoder, "preprocessor": preprocessor,
            "result": result}
