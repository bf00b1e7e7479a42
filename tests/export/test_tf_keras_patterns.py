"""TF-Hub user patterns in tf_keras (Keras 2) on a tiny exported BERT and its preprocessor."""

import numpy as np
import tensorflow as tf

SENTENCES = ["the quick brown fox", "a lazy dog sleeps", "hello world", "how do i reset my password",
             "the cat sleeps on the sofa", "a man is playing guitar on stage",
             "recipe needs two cups of flour", "fox jumps over the dog"]


def test_sentence_pairs_packed_in_dataset_map_at_a_custom_seq_length(tiny_bert_hub):
    import tensorflow_hub as hub
    import tf_keras

    preprocessor = hub.load(tiny_bert_hub["preprocessor"])

    def pack(first, second, label):
        segments = [preprocessor.tokenize(first), preprocessor.tokenize(second)]
        return preprocessor.bert_pack_inputs(segments, seq_length=24), label

    labels = np.array([1, 0, 1, 0, 0, 1, 0, 1], "int32")
    data = (tf.data.Dataset.from_tensor_slices((SENTENCES, SENTENCES[::-1], labels)).batch(4)
            .map(pack, num_parallel_calls=tf.data.AUTOTUNE))
    first_batch, _ = next(iter(data))
    assert first_batch["input_word_ids"].shape == (4, 24)
    assert set(np.unique(first_batch["input_type_ids"].numpy())) == {0, 1}

    inputs = {k: tf_keras.Input((None,), dtype=tf.int32, name=k)
              for k in ("input_word_ids", "input_mask", "input_type_ids")}
    encoder = hub.KerasLayer(tiny_bert_hub["encoder"], trainable=True)
    model = tf_keras.Model(inputs, tf_keras.layers.Dense(2)(encoder(inputs)["pooled_output"]))
    model.compile(tf_keras.optimizers.Adam(1e-2),
                  tf_keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    loss_before = model.evaluate(data, verbose=0)
    model.fit(data, epochs=6, verbose=0)
    assert model.evaluate(data, verbose=0) < loss_before


def test_continued_mlm_training_through_the_mlm_subobject(tiny_bert_hub):
    """hub.KerasLayer(encoder.mlm, trainable=True) with the masking helper; the root sees the update."""
    import tensorflow_hub as hub
    import tf_keras

    from preprocessors.masking import mask_for_mlm

    preprocessor = hub.load(tiny_bert_hub["preprocessor"])
    special = {k: int(v) for k, v in preprocessor.tokenize.get_special_tokens_dict().items()}
    packed = preprocessor(tf.constant(SENTENCES * 2))
    masked = mask_for_mlm(packed["input_word_ids"], packed["input_mask"], special,
                          max_predictions=4, seed=[1, 2], selection_rate=0.3)
    features = {"input_word_ids": masked["input_word_ids"], "input_mask": masked["input_mask"],
                "input_type_ids": packed["input_type_ids"],
                "masked_lm_positions": masked["masked_lm_positions"]}

    loaded = hub.load(tiny_bert_hub["encoder"])
    inputs = {k: tf_keras.Input((None,), dtype=tf.int32, name=k) for k in features}
    mlm = hub.KerasLayer(loaded.mlm, trainable=True)
    model = tf_keras.Model(inputs, mlm(inputs)["mlm_logits"])
    model.compile(tf_keras.optimizers.Adam(1e-2),
                  tf_keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    targets, weights = masked["masked_lm_ids"], masked["masked_lm_weights"]
    root_inputs = {k: v for k, v in features.items() if k != "masked_lm_positions"}
    pooled_before = loaded(root_inputs, training=False)["pooled_output"].numpy()
    loss_before = model.evaluate(features, targets, sample_weight=weights, verbose=0)
    model.fit(features, targets, sample_weight=weights, epochs=10, verbose=0)
    assert model.evaluate(features, targets, sample_weight=weights, verbose=0) < 0.8 * loss_before
    pooled_after = loaded(root_inputs, training=False)["pooled_output"].numpy()
    assert np.abs(pooled_after - pooled_before).max() > 1e-4
