"""The examples in the public classes' docstrings run and print what they say."""

import doctest

import pytest

import official_encoders
from official_encoders import models
from official_encoders.models import configs
from official_encoders.layers.classification_head import ClassificationHead


@pytest.mark.parametrize("obj", [
    official_encoders.BertEncoder, official_encoders.AlbertEncoder, official_encoders.ElectraEncoder,
    configs.EncoderConfig, models.build_encoder,
    official_encoders.SequenceClassifier, official_encoders.TokenClassifier, official_encoders.SpanLabeler,
    official_encoders.MultipleChoiceClassifier, official_encoders.NextSentencePredictor,
    official_encoders.build_task_model, ClassificationHead,
], ids=lambda obj: obj.__name__)
def test_docstring_example_runs(obj):
    examples = doctest.DocTestFinder(recurse=False).find(obj, obj.__name__, globs={})
    assert examples and examples[0].examples, f"{obj.__name__} has no example"
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for test in examples:
        runner.run(test)
    assert runner.failures == 0, f"{runner.failures} example line(s) of {obj.__name__} failed"
