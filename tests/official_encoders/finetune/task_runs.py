"""What the fine-tuning task tests share: a tiny vocabulary's RunText, params, a training loop, an export."""

import keras
import numpy as np
import tensorflow as tf

from official_encoders.finetune.params import FinetuneParams
from official_encoders.finetune.task_base import RunText
from official_encoders.finetune.training import make_train_step
from official_encoders.models import build_encoder
from official_encoders.serving.text_inputs import TextPacker
from preprocessors.tokenizer_factory import make_tokenizer
from tests.common.tiny_configs import tiny_config
from tests.common.tiny_vocab import write_vocab


def run_text(directory, max_seq_length=24):
    """The RunText of a run on the tiny WordPiece vocabulary (lower-cased), written into `directory`."""
    vocab_file = str(write_vocab(directory))
    tokenizer = make_tokenizer(vocab_file, do_lower_case=True)
    return RunText(TextPacker(tokenizer, max_seq_length), tokenizer, vocab_file=vocab_file, do_lower_case=True)


def task_params(**changes):
    """FinetuneParams of a tiny run; `skip_bad_examples` is set as the runner's params will have it."""
    skip_bad_examples = changes.pop("skip_bad_examples", False)
    params = FinetuneParams(**dict(dict(seq_length=16, batch_size=4, seed=0, dropout=0.0), **changes))
    params.skip_bad_examples = skip_bad_examples
    return params


def tiny_task_model(task, label_names, seed=0, **config_changes):
    keras.utils.set_random_seed(seed)
    return task.build_model(build_encoder(tiny_config(**config_changes)), label_names)


def mean_loss(task, model, dataset):
    """The task's loss over a whole dataset (sum of losses / sum of weights), without dropout."""
    sums = np.array([[float(x) for x in task.loss(targets, model(inputs, training=False))]
                     for inputs, targets in dataset])
    return sums[:, 0].sum() / sums[:, 1].sum()


def train(task, model, dataset, epochs, learning_rate=3e-3):
    """Trains `epochs` passes with the runner's `make_train_step` under the default strategy."""
    strategy = tf.distribute.get_strategy()
    with strategy.scope():
        optimizer = keras.optimizers.Adam(learning_rate)
    step = make_train_step(model, task.loss, optimizer, strategy)
    for _ in range(epochs):
        for inputs, targets in strategy.experimental_distribute_dataset(dataset):
            step(inputs, targets)


def export_and_load(model, serving, directory):
    """Writes `serving` as a SavedModel (as the runner's export does) and returns its serving_default."""
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.track(serving)
    archive.add_endpoint("serving_default", serving.serving_function())
    archive.write_out(str(directory), verbose=False)
    return tf.saved_model.load(str(directory)).signatures["serving_default"]
