"""Fine-tunes an encoder for sentence or sentence-pair classification, then exports it for TF Serving.

    python -m official_encoders.finetune \
        --hub_module_url=http://127.0.0.1:8080/google/bert_uncased_L-2_H-128/1 \
        --train_data=train.tsv --eval_data=dev.tsv --text_columns=sentence1,sentence2 \
        --label_column=label --model_dir=/tmp/run --epochs=3

Exactly one encoder source: `--hub_module_url` (a path, http(s) handle or any
`official_encoders.resolve` handle) or `--init_checkpoint` with `--config_file`
(a checkpoint written by export.sources.tf2.save_tf2, a google-research TF1
checkpoint, a `tf1:`/`tf2:`/`hf:`/`preset:` source spec, a Keras `.weights.h5`
file, or a tf.train.Checkpoint whose root holds the encoder as `encoder`). The same settings
can come from `--params_override=task.hub_module_url=...,trainer.epochs=2`.

As the TF-Hub text API asks, the preprocessor runs outside the distribution
strategy (in `tf.data.Dataset.map`) and the encoder is created inside its scope.
The preprocessor is `--preprocess_url`, or is built from the encoder's own
vocabulary asset (or `--vocab_file` / `--sp_model_file`).

Writes to `--model_dir`: TensorBoard logs (`logs/`), and `export/`, a SavedModel
whose `serving_default` takes raw strings and returns class probabilities. It
contains the preprocessor; `assets.extra/tf_serving.json` lists the custom ops
(tensorflow-text) that the TF Serving binary must link in, and the label names.
"""

import csv
import dataclasses
import json
import os
import sys
import time

from absl import app
from absl import flags

TEXT_INPUT_NAMES = {1: ("sentence",), 2: ("sentence1", "sentence2")}
STRATEGIES = ("one_device", "mirrored", "multi_worker_mirrored")


@dataclasses.dataclass
class FinetuneParams:
    """Every setting of a run; flags and --params_override both fill this."""

    hub_module_url: str = None
    preprocess_url: str = None
    init_checkpoint: str = None
    config_file: str = None
    vocab_file: str = None
    sp_model_file: str = None
    do_lower_case: bool = True
    train_data: str = None
    eval_data: str = None
    text_columns: str = "sentence"
    label_column: str = "label"
    has_header: bool = True
    seq_length: int = 128
    epochs: int = 3
    batch_size: int = 32
    learning_rate: float = 3e-5
    dropout: float = 0.1
    model_dir: str = None
    distribution_strategy: str = "one_device"
    num_cpu_devices: int = 1
    seed: int = 0

    def validate(self):
        if bool(self.hub_module_url) == bool(self.init_checkpoint):
            raise ValueError(
                "Give exactly one encoder source: --hub_module_url=<handle> or "
                "--init_checkpoint=<ckpt> with --config_file (also settable as "
                "task.hub_module_url / task.init_checkpoint in --params_override).")
        for name in ("train_data", "model_dir"):
            if not getattr(self, name):
                raise ValueError(f"--{name} is required.")
        if self.distribution_strategy not in STRATEGIES:
            raise ValueError(f"--distribution_strategy={self.distribution_strategy!r}; "
                             f"allowed: {', '.join(STRATEGIES)}.")
        for name in ("seq_length", "epochs", "batch_size", "num_cpu_devices"):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name} must be a positive integer, got {getattr(self, name)}.")
        if not 0 < self.learning_rate < 1:
            raise ValueError(f"--learning_rate must be in (0, 1), got {self.learning_rate}.")
        if len(self.text_column_list) not in TEXT_INPUT_NAMES:
            raise ValueError(f"--text_columns={self.text_columns!r}: give one column (sentence) "
                             "or two (sentence pair), comma-separated.")
        return self

    @property
    def text_column_list(self):
        return [c.strip() for c in self.text_columns.split(",") if c.strip()]


# --params_override key -> FinetuneParams field.
OVERRIDE_KEYS = {
    **{f"task.{name}": name for name in (
        "hub_module_url", "preprocess_url", "init_checkpoint", "config_file", "vocab_file",
        "sp_model_file", "do_lower_case", "train_data", "eval_data", "text_columns",
        "label_column", "has_header", "seq_length", "dropout")},
    **{f"trainer.{name}": name for name in ("epochs", "batch_size", "learning_rate", "seed")},
    "runtime.distribution_strategy": "distribution_strategy",
    "runtime.num_cpu_devices": "num_cpu_devices",
    "runtime.model_dir": "model_dir",
}


def _typed(field, text):
    kind = {f.name: f.type for f in dataclasses.fields(FinetuneParams)}[field]
    if kind in (bool, "bool"):
        if text.lower() not in ("true", "false", "1", "0"):
            raise ValueError(f"{field} must be true or false, got {text!r}.")
        return text.lower() in ("true", "1")
    if kind in (int, "int"):
        return int(text)
    if kind in (float, "float"):
        return float(text)
    return text


def apply_params_override(params, override, explicitly_set=()):
    """Applies 'a.b=v,c.d=w' to `params`; refuses unknown keys and conflicts with flags."""
    if not override:
        return params
    items = []
    for part in filter(None, (p.strip() for p in override.replace("\n", ",").split(","))):
        if "=" in part:
            items.append(part)
        elif items:  # a comma inside a value, e.g. task.text_columns=first,second
            items[-1] += "," + part
        else:
            raise ValueError(f"--params_override item {part!r} is not key=value.")
    for item in items:
        key, value = (s.strip() for s in item.split("=", 1))
        if key not in OVERRIDE_KEYS:
            raise ValueError(f"--params_override: unknown key {key!r}; allowed: "
                             f"{', '.join(sorted(OVERRIDE_KEYS))}.")
        field = OVERRIDE_KEYS[key]
        typed = _typed(field, value)
        if field in explicitly_set and getattr(params, field) != typed:
            raise ValueError(f"--{field}={getattr(params, field)!r} conflicts with "
                             f"--params_override {key}={value!r}; give it once.")
        setattr(params, field, typed)
    return params


# ------------------------------------------------------------------------------ data


def read_examples(path, text_columns, label_column, has_header=True):
    """Reads a .tsv or .csv file into ([tuple of texts], [label strings])."""
    delimiter = "\t" if path.endswith((".tsv", ".txt")) else ","
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Data file {path} does not exist.")
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f, delimiter=delimiter, quoting=csv.QUOTE_MINIMAL))
    if has_header:
        if not rows:
            raise ValueError(f"{path} is empty; expected a header row.")
        header, rows = rows[0], rows[1:]
    else:
        header = []

    def column(name):
        if name in header:
            return header.index(name)
        if name.lstrip("-").isdigit():
            return int(name)
        raise ValueError(f"{path}: no column {name!r}; header has {header}. Use a header name "
                         "or a 0-based index.")

    text_indices = [column(c) for c in text_columns]
    label_index = column(label_column)
    texts, labels = [], []
    for line_number, row in enumerate(rows, start=2 if has_header else 1):
        if not row:
            continue
        try:
            texts.append(tuple(row[i] for i in text_indices))
            labels.append(row[label_index])
        except IndexError:
            raise ValueError(f"{path}:{line_number}: row has {len(row)} fields; expected columns "
                             f"{text_columns + [label_column]}.") from None
    if not texts:
        raise ValueError(f"{path} has no examples.")
    return texts, labels


def label_ids(labels, label_names, path):
    index = {name: i for i, name in enumerate(label_names)}
    unknown = sorted(set(labels) - set(index))
    if unknown:
        raise ValueError(f"{path}: labels {unknown} do not occur in the training data "
                         f"(known: {label_names}).")
    return [index[label] for label in labels]


# ------------------------------------------------------------------------ components


class Preprocessor:
    """Segments of strings -> encoder inputs, through `.tokenize` and `.bert_pack_inputs`."""

    def __init__(self, module, seq_length):
        for method in ("tokenize", "bert_pack_inputs"):
            if not hasattr(module, method):
                raise ValueError(f"The preprocessor has no .{method}; it must follow the TF-Hub "
                                 "text preprocessing API.")
        self.module = module
        self.seq_length = seq_length

    def __call__(self, segments):
        tokens = [self.module.tokenize(segment) for segment in segments]
        return self.module.bert_pack_inputs(tokens, seq_length=self.seq_length)


def load_preprocessor(params, encoder_object=None):
    """The preprocessing module: --preprocess_url, else built from a vocabulary."""
    import tensorflow as tf

    from official_encoders import resolver

    if params.preprocess_url:
        return Preprocessor(tf.saved_model.load(resolver.resolve(params.preprocess_url)),
                            params.seq_length)
    vocab_file, sp_model_file, lower = params.vocab_file, params.sp_model_file, params.do_lower_case
    if not (vocab_file or sp_model_file):
        if hasattr(encoder_object, "vocab_file"):
            vocab_file = encoder_object.vocab_file.asset_path.numpy().decode()
            if hasattr(encoder_object, "do_lower_case"):
                lower = bool(encoder_object.do_lower_case.numpy())
        elif hasattr(encoder_object, "sp_model_file"):
            sp_model_file = encoder_object.sp_model_file.asset_path.numpy().decode()
        else:
            raise ValueError(f"{params.hub_module_url or params.init_checkpoint} comes without a "
                             "vocabulary; pass --preprocess_url, --vocab_file or --sp_model_file.")
    from preprocessors import preprocessing_module

    if vocab_file:
        from preprocessors.wordpiece import BertWordpieceTokenizer

        tokenizer = BertWordpieceTokenizer(vocab_file, lower)
    else:
        from preprocessors.sentencepiece import AlbertSentencepieceTokenizer

        tokenizer = AlbertSentencepieceTokenizer(sp_model_file, lower)
    return Preprocessor(preprocessing_module.PreprocessingModule(tokenizer, seq_length=params.seq_length),
                        params.seq_length)


def load_config(config_file):
    from official_encoders.configs import EncoderConfig

    with open(config_file) as f:
        raw = json.load(f)
    return EncoderConfig.from_dict(raw) if "family" in raw else EncoderConfig.from_bert_config_json(raw)


def _checkpoint_kind(prefix):
    """"tf2" (export.sources.tf2.save_tf2), "tf1" (google-research) or "encoder" (our own root)."""
    import tensorflow as tf

    try:
        names = [name for name, _ in tf.train.list_variables(prefix)]
    except (tf.errors.OpError, ValueError) as error:
        raise ValueError(f"--init_checkpoint={prefix} is not a readable checkpoint: {error}") from None
    if any(n.startswith("weights/") for n in names):
        return "tf2"
    if any(n.startswith("encoder/") for n in names):
        return "encoder"
    if any(n.split("/", 1)[0] in ("bert", "albert", "electra") for n in names):
        return "tf1"
    raise ValueError(f"--init_checkpoint={prefix}: unknown layout (first keys {names[:5]}); expected a "
                     "save_tf2 checkpoint, a google-research TF1 checkpoint, a "
                     "tf.train.Checkpoint(encoder=...) or a .weights.h5 file.")


def build_encoder_from_checkpoint(params):
    """Our Keras 3 encoder with the weights of --init_checkpoint; returns (encoder, vocabulary).

    Accepts a source spec (`tf1:`, `tf2:`, `hf:`, `preset:`, read by export.sources,
    imported only here so that official_encoders does not depend on export), a
    checkpoint prefix of any of those layouts (detected by its keys), a Keras
    weights file (`*.weights.h5`) or a tf.train.Checkpoint whose root has the
    encoder as `encoder`. Every encoder variable must be restored: a checkpoint
    holding only some of them is refused rather than leaving random weights.
    `vocabulary` is (vocab_file, sp_model_file, do_lower_case) when the source knows it.
    """
    import importlib

    import tensorflow as tf

    import official_encoders

    spec = params.init_checkpoint
    kind = spec.partition(":")[0] if spec.partition(":")[0] in ("tf1", "tf2", "hf", "preset") else None
    if kind is None and not spec.endswith(".weights.h5"):
        kind = _checkpoint_kind(spec)
        spec = f"{kind}:{spec}" if kind != "encoder" else spec
    if kind in ("tf1", "tf2", "hf", "preset"):
        sources = importlib.import_module("export.sources")
        result = sources.load_source(spec, params.config_file)
        return result.encoder, (result.vocab_file, result.sp_model_file, result.do_lower_case)

    if not params.config_file:
        raise ValueError(f"--init_checkpoint={spec} needs --config_file (the encoder's config JSON).")
    encoder = official_encoders.build_encoder(load_config(params.config_file))
    dummy = {name: tf.zeros([1, 4], tf.int32) for name in
             ("input_word_ids", "input_mask", "input_type_ids")}
    encoder(dummy)
    if spec.endswith(".weights.h5"):
        encoder.load_weights(spec)
        return encoder, (None, None, None)
    status = tf.train.Checkpoint(encoder=encoder).read(spec)
    held = [name for name, _ in tf.train.list_variables(spec)
            if name.startswith("encoder/") and name.endswith("/.ATTRIBUTES/VARIABLE_VALUE")]
    try:
        status.assert_existing_objects_matched()
        if len(held) != len(encoder.weights):
            raise AssertionError(f"it holds {len(held)} of the encoder's {len(encoder.weights)} "
                                 "variables")
    except AssertionError as error:
        raise ValueError(f"--init_checkpoint={spec} does not hold every variable of the encoder "
                         f"under 'encoder/': {error}. Write it with export.sources.tf2.save_tf2 "
                         "or encoder.save_weights('<name>.weights.h5').") from None
    return encoder, (None, None, None)


def build_classifier(params, num_classes):
    """The Keras 3 classifier: encoder (hub or checkpoint) -> dropout -> dense logits."""
    import keras

    from official_encoders.hub_layer import HubLayer

    inputs = {name: keras.Input(shape=(None,), dtype="int32", name=name)
              for name in ("input_word_ids", "input_mask", "input_type_ids")}
    if params.hub_module_url:
        encoder = HubLayer(params.hub_module_url, trainable=True, name="encoder")
        encoder_object = encoder.resolved_object
    else:
        encoder, vocabulary = build_encoder_from_checkpoint(params)
        encoder_object = _VocabularyHolder(*vocabulary)
    pooled = encoder(inputs)["pooled_output"]
    pooled = keras.layers.Dropout(params.dropout, name="dropout")(pooled)
    logits = keras.layers.Dense(
        num_classes, name="logits",
        kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.02))(pooled)
    return keras.Model(inputs, logits, name="classifier"), encoder_object


class _VocabularyHolder:
    """The vocabulary an imported checkpoint came with, shaped like a SavedModel's assets."""

    def __init__(self, vocab_file, sp_model_file, do_lower_case):
        import tensorflow as tf

        if vocab_file:
            self.vocab_file = tf.saved_model.Asset(vocab_file)
            self.do_lower_case = tf.constant(True if do_lower_case is None else bool(do_lower_case))
        elif sp_model_file:
            self.sp_model_file = tf.saved_model.Asset(sp_model_file)


def make_strategy(name):
    import tensorflow as tf

    if name == "one_device":
        # The default strategy runs on one device (the first GPU if any) without the
        # per-epoch cost of distributing the dataset that OneDeviceStrategy adds.
        return tf.distribute.get_strategy()
    if name == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        devices = [d.name for d in gpus] or [d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices)
    # Listing devices would start the runtime, which must not happen before this.
    if "TF_CONFIG" not in os.environ:
        raise ValueError("--distribution_strategy=multi_worker_mirrored needs TF_CONFIG "
                         "(cluster and task) in the environment of every worker.")
    return tf.distribute.MultiWorkerMirroredStrategy()


def split_cpu(num_devices):
    """Splits the CPU into logical devices (to test `mirrored` without GPUs)."""
    import tensorflow as tf

    if num_devices > 1:
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * num_devices)


def make_dataset(texts, labels, preprocessor, batch_size, shuffle, seed):
    import tensorflow as tf

    columns = tuple(tf.constant([t[i] for t in texts]) for i in range(len(texts[0])))
    dataset = tf.data.Dataset.from_tensor_slices((columns, tf.constant(labels, tf.int32)))
    if shuffle:
        dataset = dataset.shuffle(len(labels), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size)
    dataset = dataset.map(lambda segments, y: (preprocessor(list(segments)), y),
                          num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.prefetch(tf.data.AUTOTUNE)


# ---------------------------------------------------------------------------- export


def custom_ops(saved_model_dir):
    """Op types in the SavedModel that core TensorFlow does not define (e.g. tensorflow-text's)."""
    import tensorflow as tf
    from tensorflow.core.protobuf import saved_model_pb2

    proto = saved_model_pb2.SavedModel()
    with open(os.path.join(saved_model_dir, "saved_model.pb"), "rb") as f:
        proto.ParseFromString(f.read())
    ops = set()
    for meta_graph in proto.meta_graphs:
        ops.update(node.op for node in meta_graph.graph_def.node)
        for function in meta_graph.graph_def.library.function:
            ops.update(node.op for node in function.node_def)
    return sorted(op for op in ops if not hasattr(tf.raw_ops, op))


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
    ops = custom_ops(export_dir)
    extra = os.path.join(export_dir, "assets.extra")
    os.makedirs(extra, exist_ok=True)
    with open(os.path.join(extra, "tf_serving.json"), "w") as f:
        json.dump({
            "signature": "serving_default",
            "inputs": list(names),
            "outputs": {"probabilities": "float32 [batch, num_classes]"},
            "labels": list(label_names),
            "custom_ops": ops,
            "required_op_libraries": ["tensorflow_text"] if ops else [],
            "note": ("TF Serving must be built with the tensorflow-text ops linked in "
                     "(e.g. the tensorflow/serving image with tensorflow-text custom ops) "
                     "to load this model." if ops else "Uses core TensorFlow ops only."),
        }, f, indent=2)
    return ops


# ------------------------------------------------------------------------------- run


def run(params, verbose=1):
    """Trains, evaluates each epoch, logs to TensorBoard and exports; returns a summary dict."""
    import keras
    import tensorflow as tf

    params.validate()
    started = time.time()
    # First: multi_worker_mirrored must configure collectives before TF runs any op.
    strategy = make_strategy(params.distribution_strategy)
    keras.utils.set_random_seed(params.seed)
    columns = params.text_column_list
    train_texts, train_labels = read_examples(params.train_data, columns, params.label_column,
                                              params.has_header)
    label_names = sorted(set(train_labels))
    train_y = label_ids(train_labels, label_names, params.train_data)
    eval_data = None
    if params.eval_data:
        eval_texts, eval_labels = read_examples(params.eval_data, columns, params.label_column,
                                                params.has_header)
        eval_data = (eval_texts, label_ids(eval_labels, label_names, params.eval_data))

    with strategy.scope():
        model, encoder_object = build_classifier(params, len(label_names))
        model.compile(optimizer=keras.optimizers.AdamW(params.learning_rate, weight_decay=0.01),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")])
    # Outside the strategy scope, as the TF-Hub text API asks for preprocessors.
    preprocessor = load_preprocessor(params, encoder_object)
    train_ds = make_dataset(train_texts, train_y, preprocessor, params.batch_size, True, params.seed)
    eval_ds = (make_dataset(*eval_data, preprocessor, params.batch_size, False, params.seed)
               if eval_data else None)

    is_chief = _is_chief()
    log_dir = os.path.join(params.model_dir, "logs") if is_chief else _worker_tmp(params, "logs")
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        history = fit_multi_worker(model, strategy, train_ds, eval_ds, params.epochs, log_dir,
                                   verbose)
    else:
        history = model.fit(train_ds, validation_data=eval_ds, epochs=params.epochs,
                            verbose=verbose, shuffle=False,  # the dataset shuffles itself
                            callbacks=[keras.callbacks.TensorBoard(log_dir=log_dir)]).history

    export_dir = os.path.join(params.model_dir, "export") if is_chief else _worker_tmp(params, "export")
    ops = export_text_classifier(model, preprocessor, len(columns), label_names, export_dir)
    summary = {
        "examples": {"train": len(train_y), "eval": len(eval_data[1]) if eval_data else 0},
        "labels": label_names,
        "replicas": strategy.num_replicas_in_sync,
        "strategy": params.distribution_strategy,
        "history": {k: [float(v) for v in vs] for k, vs in history.items()},
        "export_dir": export_dir,
        "custom_ops": ops,
        "seconds": round(time.time() - started, 1),
    }
    return summary


def fit_multi_worker(model, strategy, train_ds, eval_ds, epochs, log_dir, verbose):
    """Training loop for MultiWorkerMirroredStrategy, which Keras 3.15's `fit` cannot run.

    (`fit` averages scalar metric logs with `strategy.reduce(..., axis=0)`, which the
    collective strategy refuses.) Same contract as fit here: per-epoch evaluation,
    TensorBoard scalars, a progress bar, and a history dict.
    """
    import keras
    import tensorflow as tf

    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction="none")
    optimizer = model.optimizer

    def replica_totals(x, y, training):
        with tf.GradientTape() as tape:
            logits = model(x, training=training)
            losses = loss_fn(y, logits)
            regularization = tf.add_n(model.losses) if model.losses else 0.0
            objective = (tf.nn.compute_average_loss(losses)
                         + tf.nn.scale_regularization_loss(regularization))
        if training:
            variables = model.trainable_variables
            optimizer.apply_gradients(zip(tape.gradient(objective, variables), variables))
        correct = tf.reduce_sum(tf.cast(
            tf.equal(tf.argmax(logits, -1, output_type=tf.int32), tf.cast(y, tf.int32)), tf.float32))
        return tf.reduce_sum(losses), correct, tf.cast(tf.size(y), tf.float32)

    def make_step(training):
        @tf.function
        def step(batch):
            totals = strategy.run(replica_totals, args=(*batch, training))
            return [strategy.reduce("SUM", t, axis=None) for t in totals]
        return step

    def run_epoch(dataset, step, progress=None):
        loss = correct = count = 0.0
        for index, batch in enumerate(strategy.experimental_distribute_dataset(dataset), 1):
            batch_loss, batch_correct, batch_count = (float(t) for t in step(batch))
            loss, correct, count = loss + batch_loss, correct + batch_correct, count + batch_count
            if progress is not None:
                progress.update(index, [("loss", batch_loss / batch_count)])
        return {"loss": loss / count, "accuracy": correct / count}

    train_step, eval_step = make_step(True), make_step(False)
    writers = {split: tf.summary.create_file_writer(os.path.join(log_dir, split))
               for split in ("train", "validation")}
    history = {}
    for epoch in range(epochs):
        if verbose:
            print(f"Epoch {epoch + 1}/{epochs}", flush=True)
        progress = keras.utils.Progbar(None, verbose=verbose) if verbose else None
        logs = run_epoch(train_ds, train_step, progress)
        if eval_ds is not None:
            logs.update({f"val_{k}": v for k, v in run_epoch(eval_ds, eval_step).items()})
        for key, value in logs.items():
            history.setdefault(key, []).append(value)
            split = "validation" if key.startswith("val_") else "train"
            with writers[split].as_default():
                tf.summary.scalar(f"epoch_{key.removeprefix('val_')}", value, step=epoch)
        if verbose:
            print(" - ".join(f"{k}: {v:.4f}" for k, v in logs.items()), flush=True)
    return history


def _is_chief():
    config = json.loads(os.environ.get("TF_CONFIG", "{}") or "{}")
    task = config.get("task", {})
    return task.get("type", "chief") == "chief" or (
        task.get("type") == "worker" and task.get("index", 0) == 0
        and "chief" not in config.get("cluster", {}))


def _worker_tmp(params, what):
    """Non-chief workers must take part in saving but write to a private directory."""
    task = json.loads(os.environ["TF_CONFIG"])["task"]
    return os.path.join(params.model_dir, "workers", f"{task['type']}_{task['index']}", what)


# ------------------------------------------------------------------------------- CLI

FLAGS = flags.FLAGS
_DEFAULTS = FinetuneParams()
def define_flags():
    """Declares the flags; only when run as a program, so importing this module never clashes."""
    flags.DEFINE_string("hub_module_url", None, "Encoder handle: path, http(s) URL or hub handle.")
    flags.DEFINE_string("preprocess_url", None, "Preprocessor handle (default: built from the encoder's vocab asset).")
    flags.DEFINE_string("init_checkpoint", None, "Encoder weights: tf1:/tf2:/hf:/preset: source, a checkpoint prefix (save_tf2, google-research TF1 or encoder/ root) or a .weights.h5 file.")
    flags.DEFINE_string("config_file", None, "Encoder config JSON for --init_checkpoint (bert_config.json or ours).")
    flags.DEFINE_string("vocab_file", None, "WordPiece vocabulary for --init_checkpoint.")
    flags.DEFINE_string("sp_model_file", None, "SentencePiece model for --init_checkpoint.")
    flags.DEFINE_bool("do_lower_case", _DEFAULTS.do_lower_case, "Lower-case text with --vocab_file.")
    flags.DEFINE_string("train_data", None, "Training examples, .tsv or .csv.")
    flags.DEFINE_string("eval_data", None, "Evaluation examples, .tsv or .csv (evaluated every epoch).")
    flags.DEFINE_string("text_columns", _DEFAULTS.text_columns, "One or two text columns (names or 0-based indices).")
    flags.DEFINE_string("label_column", _DEFAULTS.label_column, "Label column (name or 0-based index).")
    flags.DEFINE_bool("has_header", _DEFAULTS.has_header, "Whether the data files start with a header row.")
    flags.DEFINE_integer("seq_length", _DEFAULTS.seq_length, "Packed sequence length.")
    flags.DEFINE_integer("epochs", _DEFAULTS.epochs, "Training epochs.")
    flags.DEFINE_integer("batch_size", _DEFAULTS.batch_size, "Global batch size.")
    flags.DEFINE_float("learning_rate", _DEFAULTS.learning_rate, "AdamW learning rate.")
    flags.DEFINE_float("dropout", _DEFAULTS.dropout, "Dropout before the classification layer.")
    flags.DEFINE_string("model_dir", None, "Output: TensorBoard logs in logs/, the SavedModel in export/.")
    flags.DEFINE_enum("distribution_strategy", _DEFAULTS.distribution_strategy, STRATEGIES, "tf.distribute strategy.")
    flags.DEFINE_integer("num_cpu_devices", 1, "Split the CPU into this many logical devices (for mirrored on CPU).")
    flags.DEFINE_integer("seed", 0, "Random seed.")
    flags.DEFINE_string("params_override", None, "Comma-separated key=value, e.g. task.hub_module_url=...,trainer.epochs=2.")


def params_from_flags():
    params = FinetuneParams()
    explicitly_set = set()
    for field in dataclasses.fields(FinetuneParams):
        if field.name in FLAGS:
            setattr(params, field.name, FLAGS[field.name].value)
            if FLAGS[field.name].present:
                explicitly_set.add(field.name)
    return apply_params_override(params, FLAGS.params_override, explicitly_set)


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    try:
        params = params_from_flags().validate()
    except ValueError as error:
        raise app.UsageError(str(error))
    split_cpu(params.num_cpu_devices)
    summary = run(params, verbose=1 if sys.stdout.isatty() else 2)
    history = summary["history"]
    last = {k: round(v[-1], 4) for k, v in history.items()}
    print(f"Fine-tuned {params.hub_module_url or params.init_checkpoint} on "
          f"{summary['examples']['train']} examples for {params.epochs} epochs "
          f"({summary['replicas']} replica(s), {params.distribution_strategy}) in "
          f"{summary['seconds']}s; last epoch {json.dumps(last, sort_keys=True)}; "
          f"exported to {summary['export_dir']}", flush=True)
    print("SUMMARY " + json.dumps(summary, sort_keys=True), flush=True)


if __name__ == "__main__":
    define_flags()
    app.run(main)
