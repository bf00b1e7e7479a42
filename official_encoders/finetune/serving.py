"""Writes the fine-tuned model as a text-in SavedModel for TF Serving."""

from official_encoders.finetune.params import TEXT_INPUT_NAMES
from official_encoders.serving.text_serving import write_tf_serving_json


def export_text_classifier(model, preprocessor, num_segments, label_names, export_dir):
    """Writes a SavedModel: serving_default(raw strings) -> {"probabilities": [batch, classes]}."""
    import keras
    import tensorflow as tf

    names = TEXT_INPUT_NAMES[num_segments]

    def probabilities(*texts):
        logits = model(preprocessor(list(texts)), training=False)
        return {"probabilities": tf.nn.softmax(logits, axis=-1)}

    if num_segments == 1:
        def serve(sentence):
            return probabilities(sentence)
    else:
        def serve(sentence1, sentence2):
            return probabilities(sentence1, sentence2)

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.track(preprocessor.module)
    archive.add_endpoint("serving_default", serve,
                         input_signature=[tf.TensorSpec([None], tf.string, name=n) for n in names])
    archive.write_out(export_dir, verbose=False)
    notes = write_tf_serving_json(export_dir, names, {"probabilities": "float32 [batch, num_classes]"},
                                  labels=label_names)
    return notes["custom_ops"]
