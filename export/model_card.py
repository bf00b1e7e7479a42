"""The versioned markdown model card: metadata tags, overview, architecture, usage, changelog.

Written to `<hub_root>/docs/<publisher>/models/<name>/<N>.md`. The metadata tags are
HTML comments, one per line, as TF-Hub's model pages carried them. The usage code
uses this hub's real handles, so it runs as written (tests execute it) from the
directory that holds the hub tree. A card names no path of the machine that built it:
handles are `HUB_ROOT/<publisher>/<name>/<N>` with `HUB_ROOT` the hub root's own name
(or the http(s) address that serves it), and the source is named by its identity.
"""

import dataclasses
import datetime
import importlib.util
import pathlib

from official_encoders.hub.layout import model_dir, published_versions
from official_encoders.hub.manifest import read_manifest


@dataclasses.dataclass
class CardInfo:
    """What a card says about one artifact; `render_model_card` adds version and changelog."""

    publisher: str
    name: str
    artifact: str  # "encoder", "preprocessing", "task" or "question_answering"
    overview: str
    language: str = "en"
    dataset: str | None = None
    config: dict | None = None  # EncoderConfig.to_dict() for encoders
    num_params: int | None = None
    heads: tuple = ()  # ("mlm",) / ("rtd",)
    legacy_v1: bool = False
    tokenizer: str = "wordpiece"  # or "sentencepiece"
    seq_length: int = 128
    encoder_handle: str | None = None  # "<publisher>/<name>/<N>" under the hub root (preprocessor card too)
    preprocess_handle: str | None = None
    source: str = ""  # the source's kind and identity, e.g. "hf sentence-transformers/all-MiniLM-L6-v2"
    changelog: str = ""
    sentence_pooling: dict | None = None  # SentencePooling.to_dict() of a sentence-transformers source
    task: str | None = None  # task exports: official_encoders.tasks name
    text_pairs: bool = False
    labels: tuple = ()
    settings: dict | None = None  # a task export's serving settings (question answering)


def changelog_entries(hub_root, publisher, name, before_version):
    """(version, date, text) of every published version below `before_version`, newest first."""
    entries = []
    for version in published_versions(hub_root, publisher, name):
        if version >= before_version:
            continue
        manifest = read_manifest(model_dir(hub_root, publisher, name) / str(version))
        entries.append((version, manifest.get("exported_at", "")[:10], manifest.get("changelog") or ""))
    return sorted(entries, reverse=True)


_MODULE_TYPES = {"encoder": "text-embedding", "preprocessing": "text-preprocessing",
                 "question_answering": "text-question-answering"}


def _tags(info, version):
    asset = f"{info.publisher}/{info.name}/{version}.tar.gz"  # relative to the hub root
    tags = [
        ("format", "saved_model_2"),
        ("fine-tunable", "false" if info.artifact == "preprocessing" else "true"),
        ("language", info.language),
        ("module-type", _TASK_MODULE_TYPES.get(info.task) or _MODULE_TYPES[info.artifact]),
        ("network-architecture", "transformer"),
        ("asset-path", asset),
    ]
    if info.dataset:
        tags.append(("dataset", info.dataset))
    return "\n".join(f"<!-- {k}: {v} -->" for k, v in tags)


def _architecture(info):
    c = info.config or {}
    rows = [
        ("Family", c.get("family")),
        ("Layers (L)", c.get("num_layers")),
        ("Hidden size (H)", c.get("hidden_size")),
        ("Attention heads (A)", c.get("num_heads")),
        ("Intermediate size", c.get("intermediate_size")),
        ("Embedding size", c.get("embedding_size") or c.get("hidden_size")),
        ("Vocabulary size", c.get("vocab_size")),
        ("Max positions", c.get("max_position_embeddings")),
        ("Parameters", f"{info.num_params:,}" if info.num_params is not None else None),
    ]
    lines = ["| | |", "|---|---|"] + [f"| {k} | {v} |" for k, v in rows if v is not None]
    return "\n".join(lines)


def _sentence_usage(info):
    """What a sentence-transformers model's card says first: which output to use, and how it is pooled."""
    from official_encoders.checkpoints.sentence_pooling import SentencePooling

    pooling = SentencePooling.from_dict(info.sentence_pooling)
    prompt = ("" if pooling.include_prompt else " The source pools without its prompt tokens; this export "
              "receives no prompt, so it pools every token under `input_mask`.")
    return (f"**Use `sentence_embedding`** ([batch, {len(pooling.modes) * info.config['hidden_size']}], float32): "
            f"the sentence embedding this sentence-transformers model was trained to produce, computed in "
            f"the graph as {pooling.describe()} (modes {', '.join(pooling.modes)}"
            f"{', normalize' if pooling.normalize else ''}).{prompt} `pooled_output` is the BERT pooler's "
            "output, which this model was not trained for.\n")


def _hub_root_line(hub_root):
    """The line that says where the hub tree is; the handles below are relative to it."""
    here = pathlib.Path(hub_root).resolve().name or "."
    return (f'HUB_ROOT = "{here}"  # this hub tree: its directory (as seen from where you run this) '
            'or the http(s) address serving it')


_TASK_MODULE_TYPES = {"sequence_classification": "text-classification",
                      "token_classification": "token-classification", "multiple_choice": "text-multiple-choice"}
_TASK_WHAT = {
    "sequence_classification": "classifies texts (or text pairs)",
    "token_classification": "finds entities in texts, with their character offsets",
    "multiple_choice": "picks, for each prompt, the most fitting of its candidate answers",
}
# The serving call and what it prints, per task; the text pair variant replaces the first.
_TASK_CALLS = {
    "sequence_classification": (
        'out = serve(text=tf.constant(["What a wonderful film.", "Dull and far too long."]))\n'
        'print(out["label"].numpy(), out["score"].numpy())  # the most probable label and its probability'),
    "sequence_classification_pairs": (
        'out = serve(text=tf.constant(["A man is sleeping."]), text_pair=tf.constant(["Nobody sleeps."]))\n'
        'print(out["label"].numpy(), out["score"].numpy())'),
    "sequence_regression": (
        'out = serve(text=tf.constant(["What a wonderful film."]))\nprint(out["score"].numpy())  # the predicted value'),
    "token_classification": (
        'text = "Ada Lovelace was born in London."\nout = serve(text=tf.constant([text]))\n'
        'for j in range(int(out["num_entities"][0])):\n'
        '    start, end = int(out["start"][0, j]), int(out["end"][0, j])\n'
        '    print(out["entity_group"][0, j].numpy().decode(), text[start:end], float(out["score"][0, j]))'),
    "multiple_choice": (
        'out = serve(prompt=tf.constant(["The sky is"]), choices=tf.constant([["blue", "a chair", "loud"]]))\n'
        'print(out["choice"].numpy(), out["probabilities"].numpy())  # [B] index, [B, K]'),
}


def task_overview(family, config, name, task):
    """The overview paragraph of a task export's card."""
    return (f"{family} `{name}` (L={config.num_layers}, H={config.hidden_size}, A={config.num_heads}) "
            f"{_TASK_WHAT[task]}. Its `serving_default` takes raw strings and does tokenization, "
            "windowing and post-processing in the graph, so TF Serving with the tensorflow-text ops "
            "serves it as it is. The root is also a Reusable SavedModel: `hub.KerasLayer(handle, "
            "trainable=True)` returns the task's `logits` for further fine-tuning.")


def _task_usage(info, handle, hub_line):
    key = info.task
    if key == "sequence_classification":
        key = "sequence_regression" if len(info.labels) == 1 else (
            "sequence_classification_pairs" if info.text_pairs else key)
    shape = "[batch, num_choices, seq_length]" if info.task == "multiple_choice" else "[batch, seq_length]"
    labels = f"Labels (by class index, also in `assets/labels.txt`): {', '.join(info.labels)}.\n\n" if info.labels else ""
    return f'''{labels}Raw strings in, through the `serving_default` signature (what TF Serving calls):

```python
import tensorflow as tf
import tensorflow_hub as hub
import tensorflow_text  # noqa: F401  (registers the tokenizer's ops)
import tf_keras

{hub_line}
MODEL = f"{{HUB_ROOT}}/{handle}"
serve = hub.load(MODEL).signatures["serving_default"]
{_TASK_CALLS[key]}
```

Fine-tune further through the Reusable root: encoder inputs (int32 {shape}) in, `logits` out:

```python
inputs = {{name: tf_keras.Input(shape=[None] * {2 if info.task == "multiple_choice" else 1}, dtype=tf.int32, name=name)
          for name in ("input_word_ids", "input_mask", "input_type_ids")}}
logits = hub.KerasLayer(MODEL, trainable=True)(inputs)["logits"]
model = tf_keras.Model(inputs, logits)
print(model.output_shape)
```
'''


def _encoder_usage(info, handle, hub_line):
    pre = info.preprocess_handle
    main = "sentence_embedding" if info.sentence_pooling else "pooled_output"
    width = info.config["hidden_size"] * len((info.sentence_pooling or {}).get("modes", ["pooler"]))
    blocks = [_sentence_usage(info)] if info.sentence_pooling else []
    if pre:
        blocks.append(f'''With its companion preprocessor, in a `tf_keras` model (what `hub.KerasLayer` needs):

```python
import tensorflow as tf
import tensorflow_hub as hub
import tensorflow_text  # noqa: F401  (registers the preprocessor's ops)
import tf_keras

{hub_line}
PREPROCESS = f"{{HUB_ROOT}}/{pre}"
ENCODER = f"{{HUB_ROOT}}/{handle}"

text = tf_keras.Input(shape=(), dtype=tf.string)
encoder_inputs = hub.KerasLayer(PREPROCESS)(text)
outputs = hub.KerasLayer(ENCODER, trainable=True)(encoder_inputs)
pooled = outputs["{main}"]  # [batch, {width}]
sequence = outputs["sequence_output"]  # [batch, seq_length, {info.config["hidden_size"]}]
logits = tf_keras.layers.Dense(2)(pooled)
classifier = tf_keras.Model(text, logits)
print(classifier(tf.constant(["The quick brown fox.", "A sentence to classify."])).shape)
```

Preprocess inside `tf.data` (the preprocessor has no Assert ops, so it runs in `Dataset.map`):

```python
preprocessor = hub.load(PREPROCESS)
dataset = (tf.data.Dataset.from_tensor_slices((["first example", "second example"], [0, 1]))
           .batch(2)
           .map(lambda text, label: (preprocessor(text), label)))
encoder = hub.KerasLayer(ENCODER, trainable=True)
for features, labels in dataset:
    print(encoder(features)["{main}"].shape)
```
''')
    else:
        blocks.append(f'''Feed token ids directly (no companion preprocessor was published with this version):

```python
import tensorflow as tf
import tensorflow_hub as hub
import tf_keras

{hub_line}
ENCODER = f"{{HUB_ROOT}}/{handle}"
inputs = {{name: tf_keras.Input(shape=(None,), dtype=tf.int32, name=name)
          for name in ("input_word_ids", "input_mask", "input_type_ids")}}
outputs = hub.KerasLayer(ENCODER, trainable=True)(inputs)
model = tf_keras.Model(inputs, outputs["{main}"])
ids = tf.constant([[2, 5, 7, 3, 0]])
print(model({{"input_word_ids": ids, "input_mask": tf.cast(ids > 0, tf.int32),
             "input_type_ids": tf.zeros_like(ids)}}).shape)
```
''')
    if info.sentence_pooling and pre:
        blocks.append('''Similarity of sentences, with the embedding as the model computes it:

```python
preprocessor, encoder = hub.load(PREPROCESS), hub.load(ENCODER)
texts = tf.constant(["A man is playing a guitar.", "Someone plays music.", "The cat sleeps."])
embeddings = encoder(preprocessor(texts))["sentence_embedding"]
embeddings = tf.math.l2_normalize(embeddings, axis=-1)  # cosine similarity below
print(tf.matmul(embeddings, embeddings, transpose_b=True).numpy().round(3))
```
''')
    if "mlm" in info.heads:
        feed = ('preprocessor = hub.load(PREPROCESS)\ninputs = dict(preprocessor(tf.constant(["Paris is the [MASK] of France."])))'
                if pre else
                'ids = tf.constant([[2, 5, 7, 3, 0]])\ninputs = {"input_word_ids": ids, "input_mask": tf.cast(ids > 0, tf.int32),\n          "input_type_ids": tf.zeros_like(ids)}')
        blocks.append(f'''The masked-LM head (`.mlm`) shares the encoder's variables:

```python
encoder = hub.load(ENCODER)
mlm = hub.KerasLayer(encoder.mlm, trainable=True)
{feed}
inputs["masked_lm_positions"] = tf.constant([[1, 2]])
print(mlm(inputs)["mlm_logits"].shape)  # [batch, 2, vocab_size]
```
''')
    if "rtd" in info.heads:
        blocks.append('''The ELECTRA discriminator head (`.rtd`) scores every token (positive = replaced):

```python
encoder = hub.load(ENCODER)
ids = tf.constant([[2, 5, 7, 3, 0]])
rtd = encoder.rtd({"input_word_ids": ids, "input_mask": tf.cast(ids > 0, tf.int32),
                   "input_type_ids": tf.zeros_like(ids)})
print(rtd["rtd_logits"].shape)  # [batch, seq_length]
```
''')
    if info.legacy_v1:
        blocks.append('''The v1 interface of the first TF-Hub BERT/ELECTRA pages is also present: a list in,
a list out.

```python
word_ids = tf_keras.Input(shape=(None,), dtype=tf.int32)
mask = tf_keras.Input(shape=(None,), dtype=tf.int32)
segment_ids = tf_keras.Input(shape=(None,), dtype=tf.int32)
pooled_output, sequence_output = hub.KerasLayer(ENCODER, trainable=True)([word_ids, mask, segment_ids])
print(pooled_output.shape, sequence_output.shape)
```
''')
    if importlib.util.find_spec("official_encoders.hub.hub_layer") is not None:
        blocks.append('''In a Keras 3 model, use this project's `HubLayer` (it honours `training`, the
trainable variables and the regularization losses):

```python
import keras
from official_encoders.hub.hub_layer import HubLayer

keras3_encoder = HubLayer(ENCODER, trainable=True)
ids = tf.constant([[2, 5, 7, 3, 0]])
print(keras3_encoder({"input_word_ids": ids, "input_mask": tf.cast(ids > 0, tf.int32),
                      "input_type_ids": tf.zeros_like(ids)})["pooled_output"].shape)
```
'''.replace('"pooled_output"', f'"{main}"'))
    return "\n".join(blocks)


def _preprocessing_usage(info, handle, hub_line):
    enc = info.encoder_handle
    encoder_part = f'''
encoder = hub.KerasLayer(f"{{HUB_ROOT}}/{enc}", trainable=True)
print(encoder(encoder_inputs)["pooled_output"].shape)''' if enc else ""
    offsets = ('\ntokens, starts, ends = preprocessor.tokenize_with_offsets(tf.constant(["Hello world"]))'
               if info.tokenizer == "wordpiece" else "")
    return f'''```python
import tensorflow as tf
import tensorflow_hub as hub
import tensorflow_text  # noqa: F401  (registers the preprocessor's ops)
import tf_keras

{hub_line}
PREPROCESS = f"{{HUB_ROOT}}/{handle}"
preprocessor = hub.load(PREPROCESS)

# One segment, default seq_length {info.seq_length}:
encoder_inputs = preprocessor(tf.constant(["The quick brown fox jumps over the lazy dog."]))
print({{k: v.shape for k, v in encoder_inputs.items()}}){encoder_part}

# Sentence pairs, another length:
tokenize = hub.KerasLayer(preprocessor.tokenize)
pack = hub.KerasLayer(preprocessor.bert_pack_inputs, arguments=dict(seq_length=64))
premises = tf_keras.Input(shape=(), dtype=tf.string)
hypotheses = tf_keras.Input(shape=(), dtype=tf.string)
packed = pack([tokenize(premises), tokenize(hypotheses)])
pair_model = tf_keras.Model([premises, hypotheses], packed)
print(pair_model([tf.constant(["A man sleeps."]), tf.constant(["Nobody sleeps."])])["input_word_ids"].shape)
print({{k: int(v) for k, v in preprocessor.tokenize.get_special_tokens_dict().items()}}){offsets}

# seq_length=0: pad to the batch's longest, rounded up to a multiple of 8, at most the
# encoder's max_position_embeddings (longer texts are truncated to it):
short = preprocessor(tf.constant(["Short.", "A little longer."]), seq_length=0)
print(short["input_word_ids"].shape)  # [2, a multiple of 8]
dynamic_model = tf_keras.Model(premises, hub.KerasLayer(PREPROCESS, arguments=dict(seq_length=0))(premises))
dynamic_pack = hub.KerasLayer(preprocessor.bert_pack_inputs, arguments=dict(seq_length=0))
dynamic_pairs = tf_keras.Model([premises, hypotheses], dynamic_pack([tokenize(premises), tokenize(hypotheses)]))
print(dynamic_pairs([tf.constant(["A man sleeps."]), tf.constant(["Nobody sleeps."])])["input_word_ids"].shape)

# Inside tf.data:
dataset = tf.data.Dataset.from_tensor_slices(["first", "second"]).batch(2).map(preprocessor)
print(next(iter(dataset))["input_mask"].shape)
```
'''


def question_answering_overview(config, settings):
    """The overview paragraph of a question-answering card."""
    family = {"bert": "BERT", "albert": "ALBERT", "electra": "ELECTRA"}[config["family"] if isinstance(config, dict)
                                                                        else config.family]
    negative = (" It may answer \"no answer\" (an empty answer with start = end = 0), as SQuAD 2.0 models do."
                if settings["version_2_with_negative"] else "")
    return (f"Extractive question answering with a {family} encoder and a span head, served from raw "
            "strings: `serving_default` takes a question and a context and returns the answer, an exact "
            "substring of the context, with its character offsets and score. Tokenization, windowing of long "
            "contexts and the choice of the span all run in the graph (tensorflow-text ops), as Hugging "
            f"Face's question-answering pipeline does them.{negative} The root stays a Reusable SavedModel "
            "for fine-tuning with `hub.KerasLayer(..., trainable=True)`.")


def _question_answering_settings(info):
    s = info.settings
    return (f"Serving settings: max_seq_length {s['max_seq_length']} tokens per window; doc_stride "
            f"{s['doc_stride']} (the tokens consecutive windows share, Hugging Face's meaning; google-research "
            f"BERT's doc_stride is the step between windows); questions keep {s['max_query_length']} tokens; "
            f"answers have at most {s['max_answer_length']} tokens; version_2_with_negative "
            f"{s['version_2_with_negative']}. Subobjects: `.encoder` (the encoder, on the same variables), "
            "assets `vocab_file` and `labels_file` (the span head's columns: start, end). "
            "`assets.extra/tf_serving.json` lists the tensorflow-text ops that TF Serving must link in.")


def _question_answering_usage(info, handle, hub_line):
    return f'''```python
import tensorflow as tf
import tensorflow_hub as hub
import tensorflow_text  # noqa: F401  (registers the tokenizer's ops)
import tf_keras

{hub_line}
QA = f"{{HUB_ROOT}}/{handle}"
qa = hub.load(QA)
out = qa.signatures["serving_default"](
    question=tf.constant(["Who jumps over the dog?"]),
    context=tf.constant(["The quick brown fox jumps over the lazy dog."]))
print(out["answer"], out["start"], out["end"], out["score"])

# Fine-tuning: the root maps encoder inputs to start and end logits.
inputs = {{name: tf_keras.Input(shape=(None,), dtype=tf.int32, name=name)
          for name in ("input_word_ids", "input_mask", "input_type_ids")}}
logits = hub.KerasLayer(QA, trainable=True)(inputs)
model = tf_keras.Model(inputs, [logits["start_logits"], logits["end_logits"]])
ids = tf.constant([[2, 5, 3, 7, 8, 3]])
print([t.shape for t in model({{"input_word_ids": ids, "input_mask": tf.ones_like(ids),
                                "input_type_ids": tf.constant([[0, 0, 0, 1, 1, 1]])}})])
```

With TF Serving (built with the tensorflow-text ops), POST to `/v1/models/<name>:predict`:
`{{"inputs": {{"question": ["..."], "context": ["..."]}}}}`.
'''


def render_model_card(info, hub_root, version):
    """The markdown text of `info`'s card at `version` (earlier versions from the hub tree)."""
    handle = f"{info.publisher}/{info.name}/{version}"
    hub_line = _hub_root_line(hub_root)
    parts = [_tags(info, version), "", f"# {handle}", "", "## Overview", "", info.overview.strip(), ""]
    if info.source:
        parts += [f"Source: {info.source} (the sha256 of each of its files is in MANIFEST.json).", ""]
    if info.artifact == "question_answering":
        parts += ["## Architecture", "", _architecture(info), "", _question_answering_settings(info), "",
                  "## Usage", "", _question_answering_usage(info, handle, hub_line)]
    elif info.artifact == "encoder":
        heads = ", ".join(f"`.{h}`" for h in info.heads) or "none"
        parts += ["## Architecture", "", _architecture(info), "",
                  f"Subobjects with heads: {heads}. Inputs: `input_word_ids`, `input_mask`, "
                  "`input_type_ids` (int32 [batch, seq]); outputs: `pooled_output`, `default`, "
                  "`sequence_output`, `encoder_outputs`.", "",
                  "## Usage", "", _encoder_usage(info, handle, hub_line)]
    elif info.artifact == "task":
        parts += ["## Architecture", "", _architecture(info), "",
                  f"Task: `{info.task}`. `.encoder` is the encoder's Reusable form (the same variables).", "",
                  "## Usage", "", _task_usage(info, handle, hub_line)]
    else:
        parts += ["## Usage", "",
                  f"Turns strings into encoder inputs ({info.tokenizer}, seq_length {info.seq_length}).", "",
                  _preprocessing_usage(info, handle, hub_line)]
    parts += ["## Changelog", ""]
    today = datetime.datetime.now(datetime.timezone.utc).date().isoformat()
    entries = [(version, today, info.changelog or "Initial release.")]
    entries += changelog_entries(hub_root, info.publisher, info.name, version)
    parts += [f"- Version {v} ({date}): {text or 'no notes'}" for v, date, text in entries]
    return "\n".join(parts) + "\n"
