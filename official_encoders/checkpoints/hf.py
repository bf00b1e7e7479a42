"""Import Hugging Face BERT / ALBERT / ELECTRA directories (safetensors; no torch needed).

Handles BertModel, BertForPreTraining, sentence-transformers directories,
AlbertModel, AlbertForMaskedLM, ElectraModel, ElectraForPreTraining
(discriminator, with its RTD head) and ElectraForMaskedLM (generator, with
its MLM head). Which pretraining head is built follows the tensors present.
The task classes ({Bert,Albert,Electra}For{SequenceClassification,
TokenClassification,QuestionAnswering,MultipleChoice}, BertForNextSentencePrediction
and BertForPreTraining's NSP head) are known by config.json's `architectures`
(HF_TASK_CLASSES) and mapped by TASK_HEAD_TABLES.
"""

import json
import pathlib
import pickle
from typing import Dict, Sequence

import numpy as np

from official_encoders.checkpoints import safetensors_file
from official_encoders.checkpoints.mapping import TIED, Row, assign, expand
from official_encoders.checkpoints.report import CorruptWeightsFile, ImportResult
from official_encoders.checkpoints.task_import import (Variables, check_source_num_labels, choose_task,
                                                       optional_targets, report_fresh_head)
from official_encoders.models import EncoderConfig, EncoderWithMaskedLM, EncoderWithRtd, build_encoder
from official_encoders.tasks import (HEAD_NAME, MULTIPLE_CHOICE, NEXT_SENTENCE_PREDICTION, QUESTION_ANSWERING,
                                     SEQUENCE_CLASSIFICATION, TASK_CLASSES, TOKEN_CLASSIFICATION, build_task_model)


def _linear(source, target):
    return (Row(f"{source}.weight", f"{target}/kernel", "transpose"), Row(f"{source}.bias", f"{target}/bias"))


def _norm(source, target):
    return (Row(f"{source}.weight", f"{target}/gamma"), Row(f"{source}.bias", f"{target}/beta"))


def _tied_output(source_prefix):
    """An output layer tied to the word embeddings: its weight (and duplicate bias) must equal what we loaded."""
    return (Row(f"{source_prefix}.weight", "word_embeddings/embeddings", TIED),
            Row(f"{source_prefix}.bias", "masked_lm/output_bias", TIED))


# Names are relative to the body prefix ("bert.", "albert.", "electra." or none);
# a leading "/" marks a head tensor at the root of the file.
_EMBEDDINGS = (
    Row("embeddings.word_embeddings.weight", "word_embeddings/embeddings"),
    Row("embeddings.position_embeddings.weight", "position_embedding/embeddings"),
    Row("embeddings.token_type_embeddings.weight", "type_embeddings/embeddings"),
    *_norm("embeddings.LayerNorm", "embeddings/layer_norm"),
)
_BERT_LAYER = (
    *_linear("encoder.layer.{i}.attention.self.query", "transformer/layer_{i}/self_attention/query"),
    *_linear("encoder.layer.{i}.attention.self.key", "transformer/layer_{i}/self_attention/key"),
    *_linear("encoder.layer.{i}.attention.self.value", "transformer/layer_{i}/self_attention/value"),
    *_linear("encoder.layer.{i}.attention.output.dense", "transformer/layer_{i}/self_attention/attention_output"),
    *_norm("encoder.layer.{i}.attention.output.LayerNorm", "transformer/layer_{i}/self_attention_layer_norm"),
    *_linear("encoder.layer.{i}.intermediate.dense", "transformer/layer_{i}/feedforward/intermediate"),
    *_linear("encoder.layer.{i}.output.dense", "transformer/layer_{i}/feedforward/output"),
    *_norm("encoder.layer.{i}.output.LayerNorm", "transformer/layer_{i}/output_layer_norm"),
)
_ALBERT_BLOCK = "encoder.albert_layer_groups.0.albert_layers.0"
_ALBERT_LAYER = (
    *_linear("encoder.embedding_hidden_mapping_in", "embedding_projection"),
    *_linear(f"{_ALBERT_BLOCK}.attention.query", "transformer/shared_layer/self_attention/query"),
    *_linear(f"{_ALBERT_BLOCK}.attention.key", "transformer/shared_layer/self_attention/key"),
    *_linear(f"{_ALBERT_BLOCK}.attention.value", "transformer/shared_layer/self_attention/value"),
    *_linear(f"{_ALBERT_BLOCK}.attention.dense", "transformer/shared_layer/self_attention/attention_output"),
    *_norm(f"{_ALBERT_BLOCK}.attention.LayerNorm", "transformer/shared_layer/self_attention_layer_norm"),
    *_linear(f"{_ALBERT_BLOCK}.ffn", "transformer/shared_layer/feedforward/intermediate"),
    *_linear(f"{_ALBERT_BLOCK}.ffn_output", "transformer/shared_layer/feedforward/output"),
    *_norm(f"{_ALBERT_BLOCK}.full_layer_layer_norm", "transformer/shared_layer/output_layer_norm"),
)

# family -> body rows
BODY_TABLES = {
    "bert": (*_EMBEDDINGS, *_BERT_LAYER, *_linear("pooler.dense", "pooler_transform")),
    "electra": (*_EMBEDDINGS, *_linear("embeddings_project", "embedding_projection"), *_BERT_LAYER,
                *_linear("pooler.dense", "pooler_transform")),
    "albert": (*_EMBEDDINGS, *_ALBERT_LAYER, *_linear("pooler", "pooler_transform")),
}
# (family, head kind) -> (tensor whose presence selects the head, head rows)
HEAD_TABLES = {
    ("bert", "mlm"): ("/cls.predictions.transform.dense.weight", (
        *_linear("/cls.predictions.transform.dense", "masked_lm/transform"),
        *_norm("/cls.predictions.transform.LayerNorm", "masked_lm/layer_norm"),
        Row("/cls.predictions.bias", "masked_lm/output_bias"),
        *_tied_output("/cls.predictions.decoder"))),
    ("albert", "mlm"): ("/predictions.dense.weight", (
        *_linear("/predictions.dense", "masked_lm/transform"),
        *_norm("/predictions.LayerNorm", "masked_lm/layer_norm"),
        Row("/predictions.bias", "masked_lm/output_bias"),
        *_tied_output("/predictions.decoder"))),
    ("electra", "mlm"): ("/generator_predictions.dense.weight", (
        *_linear("/generator_predictions.dense", "masked_lm/transform"),
        *_norm("/generator_predictions.LayerNorm", "masked_lm/layer_norm"),
        Row("/generator_lm_head.bias", "masked_lm/output_bias"),
        Row("/generator_lm_head.weight", "word_embeddings/embeddings", TIED))),
    ("electra", "rtd"): ("/discriminator_predictions.dense.weight", (
        *_linear("/discriminator_predictions.dense", "rtd/dense"),
        *_linear("/discriminator_predictions.dense_prediction", "rtd/prediction"))),
}


def _head_output(source):
    return _linear(source, f"{HEAD_NAME}/output")


# (family, task) -> head rows; the head is the task model's `classifier` layer.
TASK_HEAD_TABLES = {
    ("bert", SEQUENCE_CLASSIFICATION): _head_output("/classifier"),
    ("bert", TOKEN_CLASSIFICATION): _head_output("/classifier"),
    ("bert", QUESTION_ANSWERING): _head_output("/qa_outputs"),
    ("bert", MULTIPLE_CHOICE): _head_output("/classifier"),
    ("bert", NEXT_SENTENCE_PREDICTION): _head_output("/cls.seq_relationship"),
    ("albert", SEQUENCE_CLASSIFICATION): _head_output("/classifier"),
    ("albert", TOKEN_CLASSIFICATION): _head_output("/classifier"),
    ("albert", QUESTION_ANSWERING): _head_output("/qa_outputs"),
    ("albert", MULTIPLE_CHOICE): _head_output("/classifier"),
    # ElectraClassificationHead: dense + GELU on the first token, then out_proj.
    ("electra", SEQUENCE_CLASSIFICATION): (*_linear("/classifier.dense", f"{HEAD_NAME}/dense"),
                                           *_head_output("/classifier.out_proj")),
    ("electra", TOKEN_CLASSIFICATION): _head_output("/classifier"),
    ("electra", QUESTION_ANSWERING): _head_output("/qa_outputs"),
    # ElectraSequenceSummary (first token, projection, activation) then the classifier.
    ("electra", MULTIPLE_CHOICE): (*_linear("/sequence_summary.summary", f"{HEAD_NAME}/dense"),
                                   *_head_output("/classifier")),
}
_HF_TASK_SUFFIXES = {"ForSequenceClassification": SEQUENCE_CLASSIFICATION,
                     "ForTokenClassification": TOKEN_CLASSIFICATION,
                     "ForQuestionAnswering": QUESTION_ANSWERING, "ForMultipleChoice": MULTIPLE_CHOICE}
# Hugging Face class (config.json `architectures`) -> (family, task)
HF_TASK_CLASSES = {
    **{f"{name}{suffix}": (family, task) for family, name in (("bert", "Bert"), ("albert", "Albert"),
                                                             ("electra", "Electra"))
       for suffix, task in _HF_TASK_SUFFIXES.items()},
    "BertForNextSentencePrediction": ("bert", NEXT_SENTENCE_PREDICTION),
    "BertForPreTraining": ("bert", NEXT_SENTENCE_PREDICTION),  # its cls.seq_relationship
}
# Hugging Face activation names in ElectraSequenceSummary -> ours ("linear" when it has none).
_SUMMARY_ACTIVATIONS = {"gelu": "gelu", "gelu_python": "gelu", "gelu_new": "gelu_approximate",
                        "gelu_pytorch_tanh": "gelu_approximate", "tanh": "tanh", "relu": "relu", None: "linear"}
# Non-weight buffers torch saves alongside the weights; never reported as unused.
BUFFERS = ("embeddings.position_ids", "embeddings.token_type_ids")


class _TensorFiles:
    """Name -> float32 numpy array over the weight files of one directory, read lazily.

    Every safetensors file is checked by safetensors_file.read_header before
    the safetensors library opens it; PyTorch pickles are only ever unpickled
    with weights_only=True.
    """

    def __init__(self, model_dir: pathlib.Path):
        self.files = []
        self._where: Dict[str, object] = {}
        index = model_dir / "model.safetensors.index.json"
        single = model_dir / "model.safetensors"
        if index.exists():
            self._open_safetensors([index] + [model_dir / n for n in _shard_names(index)])
        elif single.exists():
            self._open_safetensors([single])
        elif (model_dir / "pytorch_model.bin").exists():
            self._load_torch(model_dir / "pytorch_model.bin")
        else:
            raise FileNotFoundError(
                f"no weights in {model_dir}: expected model.safetensors, model.safetensors.index.json "
                f"or pytorch_model.bin")

    def _open_safetensors(self, paths):
        from safetensors import safe_open

        for path in paths:
            self.files.append(str(path))
            if path.suffix != ".safetensors":
                continue
            entries = safetensors_file.read_header(path)
            try:
                handle = safe_open(str(path), framework="numpy")
            except Exception as e:  # the library's own checks, beyond ours
                raise CorruptWeightsFile(f"{path}: the safetensors library refused it: {e}") from e
            for name, entry in entries.items():
                self._where[name] = (handle, path, entry)

    def _load_torch(self, path):
        try:
            import torch
        except ImportError as e:
            raise ImportError(
                f"{path} is a PyTorch pickle; reading it needs torch (pip install torch), or convert the "
                f"directory to model.safetensors") from e
        try:
            # weights_only=True: the unpickler builds tensors and plain containers only, never runs code.
            state = torch.load(str(path), map_location="cpu", weights_only=True)
        except pickle.UnpicklingError as e:
            raise ValueError(
                f"refused to unpickle {path}: it holds objects other than tensors, and PyTorch files are "
                f"only loaded with weights_only=True. Convert trusted weights to model.safetensors. ({e})") from e
        except Exception as e:  # truncated or otherwise unreadable archives
            raise CorruptWeightsFile(
                f"{path} is not a readable PyTorch weights file (truncated or corrupt?): {e}") from e
        if not isinstance(state, dict):
            raise ValueError(f"{path} holds a {type(state).__name__}, not a state dict of named tensors")
        self.files.append(str(path))
        for name, tensor in state.items():
            if not isinstance(tensor, torch.Tensor):
                raise ValueError(f"{path}: entry {name!r} is a {type(tensor).__name__}, not a tensor")
            if not tensor.is_floating_point():
                self._where[name] = ValueError(
                    f"{path}: tensor {name!r} has dtype {tensor.dtype}; weights must be floating point")
            else:
                self._where[name] = tensor.detach().to(torch.float32).numpy()

    def names(self):
        return list(self._where)

    def read(self, name) -> np.ndarray:
        source = self._where[name]
        if isinstance(source, ValueError):
            raise source
        if isinstance(source, np.ndarray):
            return _finite(source, name, self.files[0])
        handle, path, entry = source
        if entry.dtype not in safetensors_file.FLOAT_DTYPES:
            raise ValueError(f"{path}: tensor {name!r} has dtype {entry.dtype}; weights must be one of "
                             f"{list(safetensors_file.FLOAT_DTYPES)}")
        if entry.dtype == "BF16":
            value = _read_bfloat16(path, entry)
        else:
            try:
                value = np.asarray(handle.get_tensor(name), dtype=np.float32)
            except Exception as e:
                raise CorruptWeightsFile(f"{path}: tensor {name!r} could not be read: {e}") from e
        return _finite(value, name, path)


def _shard_names(index):
    """The shard file names of a sharded checkpoint's index; plain names in the same directory only."""
    try:
        weight_map = json.loads(index.read_text(encoding="utf-8"))["weight_map"]
        names = sorted(set(weight_map.values()))
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise CorruptWeightsFile(
            f"{index} is not a valid index: expected JSON with a 'weight_map' of tensor -> shard file ({e!r})") from e
    for name in names:
        if not isinstance(name, str) or pathlib.PurePath(name).name != name or name in ("", ".", ".."):
            raise ValueError(f"{index} names shard {name!r}; shards must be plain file names in its directory")
    return names


def _finite(value, name, path):
    """Weights are finite; NaN or Inf means a corrupt file (e.g. a flipped exponent bit)."""
    bad = int(np.size(value) - np.count_nonzero(np.isfinite(value)))
    if bad:
        raise CorruptWeightsFile(
            f"{path}: tensor {name!r} has {bad} non-finite values (NaN or Inf); the file is corrupt")
    return value


def _read_bfloat16(path, entry) -> np.ndarray:
    """numpy has no bfloat16: read the raw bytes at the checked offsets and widen them to float32,
    whose upper 16 bits bfloat16 is."""
    with open(path, "rb") as f:
        f.seek(entry.begin)
        raw = np.frombuffer(f.read(entry.end - entry.begin), dtype="<u2")
    return (raw.astype(np.uint32) << 16).view(np.float32).reshape(entry.shape)


def _canonical(name):
    """Old checkpoints call layer-norm parameters gamma/beta; newer ones weight/bias."""
    if name.endswith("LayerNorm.gamma"):
        return name[: -len("gamma")] + "weight"
    if name.endswith("LayerNorm.beta"):
        return name[: -len("beta")] + "bias"
    return name


def find_model_dir(directory) -> pathlib.Path:
    """The directory holding config.json and weights: the root, or a sentence-transformers Transformer module."""
    root = pathlib.Path(directory)
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a directory")
    modules = root / "modules.json"
    if modules.exists():
        for module in json.loads(modules.read_text()):
            if module.get("type", "").endswith("models.Transformer"):
                return root / module.get("path", "")
    for candidate in (root, root / "0_Transformer"):
        if (candidate / "config.json").exists():
            return candidate
    raise FileNotFoundError(f"no config.json in {root} (nor in a sentence-transformers Transformer module)")


def _first_existing(name, *dirs):
    for d in dirs:
        if (d / name).exists():
            return d / name
    return None


def _source_task(raw_config, family, tensor_names, requested, num_layers):
    """(task, HF class) of the head the directory holds, from `architectures`; without that field,
    the requested task when all of its head tensors are present."""
    for name in raw_config.get("architectures") or ():
        if HF_TASK_CLASSES.get(name, (None,))[0] == family:
            return HF_TASK_CLASSES[name][1], name
    if not raw_config.get("architectures") and (family, requested) in TASK_HEAD_TABLES:
        rows = expand(TASK_HEAD_TABLES[(family, requested)], num_layers)
        if all(row.source in tensor_names for row in rows):
            return requested, None
    return None, None


def _task_options(raw_config, family, task):
    """The head's dropout and activation as the Hugging Face class builds them from config.json."""
    if task in (QUESTION_ANSWERING, NEXT_SENTENCE_PREDICTION):
        return {}
    if family == "albert":
        dropout = raw_config.get("classifier_dropout_prob")
    elif family == "electra" and task == MULTIPLE_CHOICE:
        if raw_config.get("summary_type", "first") != "first" or not raw_config.get("summary_use_proj", True):
            raise ValueError(
                f"ElectraForMultipleChoice with summary_type={raw_config.get('summary_type')!r}, summary_use_proj="
                f"{raw_config.get('summary_use_proj')!r} is not supported; only 'first' with a projection")
        activation = raw_config.get("summary_activation", "gelu")
        if activation not in _SUMMARY_ACTIVATIONS:
            raise ValueError(f"ElectraForMultipleChoice summary_activation={activation!r} is not supported; "
                             f"allowed: {[a for a in _SUMMARY_ACTIVATIONS if a]}")
        return {"dropout": raw_config.get("summary_last_dropout", 0.1),
                "head_activation": _SUMMARY_ACTIVATIONS[activation]}
    else:
        dropout = raw_config.get("classifier_dropout")
    return {} if dropout is None else {"dropout": float(dropout)}


def _task_model_of_head(task, encoder, raw_config, tensors, by_canonical, num_labels, id2label, what):
    """The task model for the directory's own head, sized by its output tensor, with config.json's labels."""
    family = encoder.config.family
    rows = expand(TASK_HEAD_TABLES[(family, task)], encoder.config.num_layers)
    output = next(row.source for row in rows if row.target == f"{HEAD_NAME}/output/kernel")
    if output not in by_canonical:
        raise ValueError(f"{what} has no {task!r} head: tensor {output!r} is missing")
    held = int(tensors.read(by_canonical[output]).shape[0])
    fixed = TASK_CLASSES[task].fixed_num_labels
    if fixed is not None and held != fixed:
        raise ValueError(f"{what}: tensor {output!r} has {held} outputs, but a {task} head has {fixed}")
    check_source_num_labels(task, num_labels, held, what)
    labels = raw_config.get("id2label") if fixed is None else None
    return build_task_model(task, encoder, num_labels=held,
                            id2label=id2label or (labels if labels and len(labels) == held else None),
                            **_task_options(raw_config, family, task))


def load_hf(directory, allow_missing: Sequence[str] = (), task=None, num_labels=None,
            id2label=None) -> ImportResult:
    """Import a Hugging Face (or sentence-transformers) directory into our Keras model.

    `allow_missing`: target variable paths/prefixes or source names (globs
    allowed) that may be absent, e.g. ("pooler_transform",). Raises ValueError
    naming any other missing tensor and any shape mismatch.

    `task`: None (the result's `task_model` is None; a task head in the directory
    is reported unused), "auto" (the task of config.json's `architectures`) or a
    task name; `num_labels`/`id2label` ask for a fresh head when the directory has
    none for that task (see `task_import.choose_task`). A source whose class has no
    pooler (token classification, question answering) may lack it; the report lists
    it as allowed missing.
    """
    root = pathlib.Path(directory)
    model_dir = find_model_dir(root)
    config_path = model_dir / "config.json"
    raw_config = json.loads(config_path.read_text(encoding="utf-8"))
    config = EncoderConfig.from_hf_config(raw_config)
    tensors = _TensorFiles(model_dir)
    by_canonical = {_canonical(n): n for n in tensors.names() if not n.endswith(BUFFERS)}

    family = config.family
    prefix = f"{family}." if any(n.startswith(f"{family}.") for n in by_canonical) else ""
    rows = list(BODY_TABLES[family])
    head = None
    for (head_family, kind), (marker, head_rows) in HEAD_TABLES.items():
        if head_family == family and marker[1:] in by_canonical:
            head = kind
            rows += head_rows
    source_task, hf_class = _source_task(raw_config, family, by_canonical, task, config.num_layers)
    what = f"Hugging Face directory {model_dir}" + (f" ({hf_class})" if hf_class else "")
    chosen, fresh = choose_task(task, source_task, what, num_labels, id2label)

    encoder = build_encoder(config)
    if head == "mlm":
        model = EncoderWithMaskedLM(encoder, activation="gelu" if family == "electra" else None)
    elif head == "rtd":
        model = EncoderWithRtd(encoder)
    else:
        model = encoder
    task_model = None
    if chosen is not None and not fresh:
        task_model = _task_model_of_head(chosen, encoder, raw_config, tensors, by_canonical, num_labels, id2label,
                                         what)
        rows += TASK_HEAD_TABLES[(family, chosen)]
    report = assign(
        Variables(model, task_model), expand(rows, config.num_layers, source_prefix=prefix), by_canonical,
        lambda name: tensors.read(by_canonical[name]),
        allow_missing=tuple(allow_missing) + optional_targets(encoder, source_task),
        what=f"Hugging Face weights in {model_dir}")
    if fresh:
        task_model = build_task_model(chosen, encoder, num_labels=num_labels, id2label=id2label)
        report_fresh_head(report, task_model)

    vocab = _first_existing("vocab.txt", model_dir, root)
    spiece = _first_existing("spiece.model", model_dir, root)
    tokenizer_config = _first_existing("tokenizer_config.json", model_dir, root)
    do_lower_case = None
    if tokenizer_config is not None:
        do_lower_case = json.loads(tokenizer_config.read_text()).get("do_lower_case")
    source_files = [str(config_path)] + tensors.files + [
        str(p) for p in (vocab, spiece, tokenizer_config, root / "modules.json") if p is not None and p.exists()]
    return ImportResult(
        config=config, model=model, encoder=encoder, report=report,
        vocab_file=str(vocab) if vocab else None, sp_model_file=str(spiece) if spiece else None,
        do_lower_case=do_lower_case, source_files=source_files, task_model=task_model, source_task=source_task)
