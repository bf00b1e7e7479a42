"""What the fine-tuning runner needs from one `--task`: data, model, loss, evaluation, serving.

The runner (`finetune/run.py`) is task-agnostic: it builds the encoder, the text side
(`RunText`) and the distribution strategy, then asks a `FinetuneTask` for everything
that depends on the task. One subclass per `--task` value lives in its own module
(`sentence_prediction.py`, `question_answering.py`, `tagging.py`, `multiple_choice.py`)
and is listed in `finetune/task_registry.py`.
"""

import dataclasses


@dataclasses.dataclass
class RunText:
    """The text side of a run, shared by training, evaluation and the serving export.

    `packer` has `.tokenize(strings) -> ragged ids` and `.pack(list of ragged ids) ->
    encoder inputs` (an `official_encoders.serving.text_inputs.TextPacker`, or the
    run's TF-Hub preprocessing SavedModel in that shape). `tokenizer` is the
    `preprocessors` tokenizer behind it (`make_tokenizer`), or None when the run was
    given only a preprocessing SavedModel (`--preprocess_url`); tasks that need
    character offsets (question answering, tagging) refuse None with a clear error.
    `vocab_file` / `sp_model_file` / `do_lower_case` are what `final/` records.
    """

    packer: object
    tokenizer: object = None
    vocab_file: str = None
    sp_model_file: str = None
    do_lower_case: bool = None


class FinetuneTask:
    """One fine-tuning task. Subclasses set the class attributes and implement every method.

    Class attributes:
      name: the `--task` value, e.g. "question_answering".
      model_task: the `official_encoders.tasks` task name of its model.
      monitor: the metric (a key of `evaluate`'s result) that picks the best epoch;
        higher is better.
    """

    name = None
    model_task = None
    monitor = None

    def __init__(self, params):
        self.params = params

    def read(self, path):
        """Reads a data file with `params.skip_bad_examples`; returns a `readers.ReadResult`."""
        raise NotImplementedError

    def label_names(self, train_examples):
        """The label names by class index (sorted, from the training data or the params), or None
        when the head's size is fixed (question answering, multiple choice)."""
        raise NotImplementedError

    def build_model(self, encoder, label_names):
        """The task model (`official_encoders.tasks.build_task_model`) around `encoder`."""
        raise NotImplementedError

    def dataset(self, examples, text, label_names, training):
        """A batched `tf.data.Dataset` of (encoder inputs dict, targets dict), `params.batch_size`
        per batch, shuffled with `params.seed` when `training`. Only inputs the model reads."""
        raise NotImplementedError

    def loss(self, targets, outputs):
        """(loss sum, weight sum) over one batch, float32 scalars. The runner adds both over
        replicas and divides, so a token-level loss averages over all labelled tokens."""
        raise NotImplementedError

    def evaluate(self, model, examples, text, label_names, output_dir):
        """Predicts `examples` with `model` (training=False) and returns {metric name: float},
        by the names of `finetune.metrics`. May write files into `output_dir` (predictions.json
        and nbest_predictions.json for question answering)."""
        raise NotImplementedError

    def serving_module(self, model, text, label_names):
        """The text-in serving module (`official_encoders.serving`) of `model`: a tf.Module with
        `serving_function()` and `input_names`, with the contract of the task exports."""
        raise NotImplementedError

    def settings(self):
        """The task's settings that `final/` keeps so the export predicts as the final evaluation
        (e.g. seq_length, doc_stride, max_query_length, max_answer_length, version_2_with_negative,
        text_pairs): a JSON-able dict."""
        raise NotImplementedError
