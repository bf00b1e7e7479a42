"""Writes the fine-tuned model as a text-in SavedModel for TF Serving."""

from official_encoders.finetune.params import TEXT_INPUT_NAMES
from official_encoders.serving.sequence_classification import SequenceClassificationServing
from official_encoders.serving.text_serving import write_tf_serving_json


class _PreprocessorPacker:
    """The run's TF-Hub preprocessor in the shape official_encoders.serving packers have."""

    type_vocab_size = 2  # the preprocessor packs segment types itself

    def __init__(self, preprocessor):
        self._module = preprocessor.module
        self._seq_length = preprocessor.seq_length

    def tokenize(self, strings):
        return self._module.tokenize(strings)

    def pack(self, segments):
        return self._module.bert_pack_inputs(segments, seq_length=self._seq_length)


def export_text_classifier(model, preprocessor, num_segments, label_names, export_dir):
    """Writes a SavedModel: serving_default(raw strings) -> probabilities [batch, classes], label, score.

    The graph is official_encoders.serving's SequenceClassificationServing (the task
    exports' too), over the run's preprocessor, with this CLI's input names
    (`sentence`, or `sentence1` and `sentence2`).
    """
    import keras

    names = TEXT_INPUT_NAMES[num_segments]
    serving = SequenceClassificationServing(
        lambda inputs, training=False: {"logits": model(inputs, training=training)},
        _PreprocessorPacker(preprocessor), label_names, text_pairs=num_segments == 2, input_names=names)
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.track(preprocessor.module)
    archive.add_endpoint("serving_default", serving.serving_function())
    archive.write_out(export_dir, verbose=False)
    notes = write_tf_serving_json(export_dir, names, {"probabilities": "float32 [batch, num_classes]",
                                                      "label": "string [batch]", "score": "float32 [batch]"},
                                  labels=label_names)
    return notes["custom_ops"]
