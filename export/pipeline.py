"""One export, stage by stage: load, build, save, verify, manifest, publish.

`run_export(ExportOptions)` is what `python -m export` calls; the main job calls it too.
Everything is staged under the hub root and verified before anything is published;
any failure leaves the hub tree as it was.
"""

import contextlib
import dataclasses
import pathlib
import tempfile
import time

from export import task_export
from official_encoders.checkpoints.sources import parse_source_spec
from official_encoders.hub.layout import hub_style_name, latest_version_dir
from preprocessors.preprocessing_module import PreprocessingModule
from preprocessors.tokenizer_factory import DEFAULT_DO_LOWER_CASE, make_tokenizer

EXPORT_TYPES = ("model", "model_with_mlm", "preprocessing", "all") + task_export.TASK_EXPORT_TYPES + (
    "question_answering",)
SAMPLE_SENTENCES = (
    "The quick brown fox jumps over the lazy dog.",
    "Hello, world! Tokenizers split punctuation.",
    "Unbelievably, the naïve café owner re-opened at 9:30am.",
    "Straße, Ärger und ÜBER-große Wörter.",
    "東京は日本の首都です。",
    "",
)


@dataclasses.dataclass
class ExportOptions:
    source: str
    hub_root: str
    export_type: str = "model"
    config_file: str | None = None
    publisher: str = "local"
    name: str | None = None
    version: int | None = None
    vocab_file: str | None = None
    sp_model_file: str | None = None
    do_lower_case: bool | None = None
    seq_length: int = 128
    legacy_v1: bool = False
    dtype: str = "float32"
    changelog: str | None = None
    language: str | None = None
    dataset: str | None = None
    check_inputs: bool = True  # False: no in-graph id/type/mask checks (ids validated upstream)
    allow_config_change: bool = False  # True: a version may change the architecture of its name
    # Serving settings of task exports; None: what a fine-tuning run recorded in the source
    # (its task_settings), else the defaults below (SERVING_DEFAULTS, QUESTION_ANSWERING_DEFAULTS).
    text_pairs: bool | None = None  # sequence_classification: serve text and text_pair
    max_seq_length: int | None = None  # tokens per window (QA) / per packed input (classification)
    doc_stride: int | None = None
    max_query_length: int | None = None
    max_answer_length: int | None = None
    version_2_with_negative: bool | None = None


# question_answering: Hugging Face pipeline defaults; doc_stride is the overlap between windows.
QUESTION_ANSWERING_DEFAULTS = dict(max_seq_length=384, doc_stride=128, max_query_length=64, max_answer_length=15,
                                   version_2_with_negative=False)
# The other task exports: pairs off; max_seq_length None is the encoder's max_position_embeddings.
SERVING_DEFAULTS = dict(text_pairs=False, max_seq_length=None)


def serving_settings(options, result, task):
    """The serving settings of a task export: each one given in `options`, else the one a fine-tuning
    run recorded with the source (`result.task_settings`: its `seq_length` is the serving
    max_seq_length), else the default. So a fine-tuned `final/` serves as its run evaluated, and an
    explicit flag still wins."""
    recorded = dict(getattr(result, "task_settings", None) or {})
    if "seq_length" in recorded:
        recorded.setdefault("max_seq_length", recorded["seq_length"])
    defaults = QUESTION_ANSWERING_DEFAULTS if task == "question_answering" else SERVING_DEFAULTS
    settings = {}
    for name, default in defaults.items():
        value = getattr(options, name)
        settings[name] = value if value is not None else recorded.get(name, default)
    if task != "sequence_classification" and task != "question_answering":
        settings["text_pairs"] = False
    return settings


@dataclasses.dataclass
class ArtifactSummary:
    kind: str  # "encoder" | "preprocessing" | "task"
    path: str
    tarball: str
    card: str
    version: int
    size_bytes: int
    tarball_bytes: int
    verification: dict


@dataclasses.dataclass
class ExportSummary:
    name: str
    num_params: int | None
    artifacts: list
    seconds: dict

    def text(self):
        lines = [f"Export summary for {self.name}"]
        if self.num_params is not None:
            lines.append(f"  parameters: {self.num_params:,}")
        for a in self.artifacts:
            lines.append(f"  {a.kind} version {a.version}: {a.path}")
            lines.append(f"    SavedModel {a.size_bytes / 1e6:.2f} MB, tarball {a.tarball_bytes / 1e6:.2f} MB: {a.tarball}")
            lines.append(f"    model card: {a.card}")
            v = a.verification
            if a.kind == "task":
                diffs = ", ".join(f"{k} {d:.2g}" for k, d in v["max_abs_diff"].items())
                lines.append(f"    max abs diff (<= {v['tolerance']:g}): {diffs}")
                lines.append(f"    serving_default outputs: {', '.join(v['serving_outputs'])}; trainable variables: "
                             f"{v['trainable_variables']['found']}; gradients: {v['gradients']}")
            elif a.kind == "question_answering":
                diffs = ", ".join(f"{k} {d:.2g}" for k, d in v["max_abs_diff"].items())
                lines.append(f"    {v['pairs']} sample pairs answered as in memory; max abs diff: {diffs}")
                lines.append(f"    trainable variables: {v['trainable_variables']}; custom ops: {len(v['custom_ops'])}")
            elif a.kind == "encoder":
                diffs = ", ".join(f"{k} {d:.2g}" for k, d in v["max_abs_diff"].items())
                scale = max(1.0, max(v["output_scale"].values()))
                lines.append(f"    max abs diff (<= {v['tolerance']:g} x output scale {scale:.3g}): {diffs}")
                tv = v["trainable_variables"]["found"]
                lines.append(f"    trainable variables: {tv}")
                lines.append(f"    dropout: {v['dropout']}; gradients: {v['gradients']}")
            else:
                also = f" and to {v['python_reference']}" if v.get("python_reference") else ""
                lines.append(f"    {v['sentences']} sample sentences equal to the in-memory preprocessor{also}; "
                             f"seq_length {v['seq_length']}")
        lines.append("  seconds: " + ", ".join(f"{k} {s:.1f}" for k, s in self.seconds.items()))
        return "\n".join(lines)


class _Stages:
    """Prints one progress line per stage and keeps the timings for the summary."""

    def __init__(self, total, printer):
        self.total, self.printer, self.index, self.seconds = total, printer, 0, {}
        self._name, self._start = None, None

    def start(self, name, detail=""):
        self.finish()
        self.index += 1
        self._name, self._start = name, time.perf_counter()
        self.printer(f"[{self.index}/{self.total}] {name}{': ' + detail if detail else ''}")

    def finish(self):
        if self._name:
            self.seconds[self._name] = time.perf_counter() - self._start
            self._name = None

    def note(self, message):
        self.printer(f"      {message}")


def default_name(result, source_spec):
    """The model name when --name is not given: the source's own identity, in the hub's style.

    A `preset:` source keeps its catalog name (which may nest, as
    "small_bert/bert_en_uncased_L-2_H-128_A-2"); any other source is named after
    `result.identity` (its Hugging Face id or directory name) by
    `official_encoders.hub.layout.hub_style_name`, so "sentence-transformers/all-MiniLM-L6-v2"
    becomes "all_minilm_l6_v2". Raises ValueError asking for --name when there is none.
    """
    from official_encoders.models import presets

    kind, location = parse_source_spec(source_spec, what="--source")
    if kind == "preset":
        return presets.get_preset(location).name
    identity = getattr(result, "identity", None)
    if identity is None or not identity.id:
        raise ValueError(f"--source {source_spec} does not say what model it is; pass --name=<name>.")
    return hub_style_name(identity.id)


def _name_note(options, result, name):
    """The progress line that says which name was chosen and why."""
    from official_encoders.models import presets

    if options.name:
        return f"name {options.publisher}/{name} (--name)"
    identity = result.identity
    catalog = presets.name_for_config(result.config, do_lower_case=result.do_lower_case)
    return (f"name {options.publisher}/{name}, from the source's identity {identity.id!r} "
            f"({identity.read_from}); pass --name to choose another (the catalog's name for this "
            f"architecture is {catalog})")


def _resolve_vocab(options, result):
    vocab_file = options.vocab_file or (None if options.sp_model_file else result.vocab_file)
    sp_model_file = options.sp_model_file or (None if options.vocab_file else result.sp_model_file)
    for flag, path in (("--vocab_file", vocab_file), ("--sp_model_file", sp_model_file)):
        if path and not pathlib.Path(path).is_file():
            raise FileNotFoundError(f"{flag} {path}: no such file.")
    if not (vocab_file or sp_model_file):
        raise ValueError(f"{options.source} has no vocabulary: pass --vocab_file (WordPiece vocab.txt) "
                         "or --sp_model_file (SentencePiece model).")
    size = _vocabulary_size(vocab_file, sp_model_file)
    if size != result.config.vocab_size:
        flag = "--vocab_file" if vocab_file else "--sp_model_file"
        raise ValueError(
            f"The vocabulary {vocab_file or sp_model_file} has {size} tokens but the encoder's vocab_size is "
            f"{result.config.vocab_size}: pass the {flag} that belongs to this model.")
    do_lower_case = options.do_lower_case
    if do_lower_case is None:
        do_lower_case = result.do_lower_case
    if do_lower_case is None:
        do_lower_case = DEFAULT_DO_LOWER_CASE
    return vocab_file, sp_model_file, bool(do_lower_case)


def _vocabulary_size(vocab_file, sp_model_file):
    if vocab_file:
        with open(vocab_file, encoding="utf-8") as f:
            return sum(1 for line in f if line.strip())
    import sentencepiece

    return sentencepiece.SentencePieceProcessor(model_file=str(sp_model_file)).get_piece_size()


def run_export(options, printer=print):
    """Runs one export and returns its ExportSummary; raises on any failure (nothing published).

    What `python -m export` runs; the flags map one to one onto `ExportOptions`.

    Args:
      options: an `ExportOptions` (source spec, hub root, export type, name, version, ...).
      printer: where the stage lines go (`print` by default).

    Example:

        summary = run_export(ExportOptions(source="hf:/models/all-MiniLM-L6-v2",
                                           hub_root="hub", export_type="all"))
        summary.artifacts[0].path   # 'hub/local/<name>/1'
    """
    import keras

    from export import model_card, saved_model, verify
    from export.publish import manifest, staging, version_line
    from official_encoders import checkpoints
    from official_encoders.hub.layout import model_dir

    if options.export_type not in EXPORT_TYPES:
        raise ValueError(f"--export_type {options.export_type!r}: use one of {', '.join(EXPORT_TYPES)}.")
    if options.export_type == "question_answering":
        return _run_question_answering(options, printer)
    kind, source_path = parse_source_spec(options.source, what="--source")
    task = options.export_type if options.export_type in task_export.TASK_EXPORT_TYPES else None
    if options.text_pairs and task != "sequence_classification":
        raise ValueError(f"--text_pairs applies to --export_type=sequence_classification, not {options.export_type}; "
                         "drop --text_pairs.")
    want_encoder = options.export_type != "preprocessing"
    want_preprocessing = options.export_type in ("preprocessing", "all")
    with_heads = options.export_type in ("model_with_mlm", "all")
    stages = _Stages(3 + want_encoder + want_preprocessing + 1, printer)

    stages.start("load source", options.source)
    if options.dtype != "float32":
        keras.mixed_precision.set_global_policy(options.dtype)
    try:
        result = checkpoints.load_source(options.source, options.config_file, **({"task": task} if task else {}))
    except (ValueError, KeyError, FileNotFoundError):
        raise  # the importers' own errors already name the problem
    except Exception as error:  # e.g. a truncated checkpoint: "Read less bytes than requested"
        raise ValueError(f"Could not read --source {options.source}: {type(error).__name__}: {error}. "
                         "The checkpoint is probably truncated or corrupt; copy it again.") from error
    finally:
        keras.mixed_precision.set_global_policy("float32")
    if getattr(result, "report", None) is not None:
        stages.note(result.report.summary())
    if not options.check_inputs:
        result.encoder.check_inputs = False  # read when the call is traced, so this covers every head
        stages.note("check_inputs=False: no in-graph checks of id, type id or mask values")
    config = result.config
    served = serving_settings(options, result, task) if task else dict(SERVING_DEFAULTS)
    text_pairs = bool(served["text_pairs"])
    if served["max_seq_length"] is not None and served["max_seq_length"] > config.max_position_embeddings:
        raise ValueError(f"--max_seq_length {served['max_seq_length']} exceeds the encoder's max_position_embeddings "
                         f"{config.max_position_embeddings}; pass --max_seq_length <= {config.max_position_embeddings}.")
    name = options.name or default_name(result, options.source) + (f"_{task}" if task else "")
    pre_name = f"{name}_preprocess"
    if options.version is not None:
        for artifact_name, wanted in ((name, want_encoder), (pre_name, want_preprocessing)):
            if wanted and (model_dir(options.hub_root, options.publisher, artifact_name)
                           / str(options.version)).exists():
                raise staging.VersionExistsError(
                    f"{options.publisher}/{artifact_name} version {options.version} already exists; "
                    "published versions are never overwritten. Leave --version unset or pick another.")
    heads = ()
    if with_heads:
        head = getattr(result.model, "head_kind", None)
        if head is None and options.export_type == "model_with_mlm":
            raise ValueError(f"{options.source} has no pretraining head (masked LM or RTD) weights; "
                             "use --export_type=model.")
        heads = (head,) if head else ()
    vocab_file, sp_model_file, do_lower_case = _resolve_vocab(options, result)
    if want_preprocessing and options.seq_length > config.max_position_embeddings:
        raise ValueError(f"--seq_length {options.seq_length} exceeds the encoder's max_position_embeddings "
                         f"{config.max_position_embeddings}; pass --seq_length <= {config.max_position_embeddings}.")
    num_params = (result.task_model if task else result.encoder).count_params()
    stages.note(f"{config.family}: L={config.num_layers} H={config.hidden_size} A={config.num_heads}, "
                f"{num_params:,} parameters")
    stages.note(_name_note(options, result, name))
    identity = result.identity
    source_root = None if kind == "preset" else _source_directory(source_path)
    source_record = manifest.source_record(kind, identity, getattr(result, "source_files", []), source_root)
    config_dict = config.to_dict()
    tokenizer_kind = "wordpiece" if vocab_file else "sentencepiece"
    hub_root = pathlib.Path(options.hub_root)
    source_text = f"{kind} {identity.id}" if identity else kind
    changelog = options.changelog or f"Exported from {source_text}."
    changelog += _check_version_lines(options, hub_root, [n for n, wanted in (
        (name, want_encoder), (pre_name, want_preprocessing)) if wanted], config_dict, name, stages.note)

    def check_line(artifact_name):
        """Under the publish lock: the check again, in case another export published meanwhile."""
        if not options.allow_config_change:
            version_line.require_same_config(hub_root, options.publisher, artifact_name, config_dict, name)
    sentence_pooling = result.sentence_pooling.to_dict() if getattr(result, "sentence_pooling", None) else None

    with contextlib.ExitStack() as stack:
        enc_stage = pre_stage = None
        if want_encoder:
            enc_stage = stack.enter_context(staging.stage_version(hub_root, options.publisher, name))
        if want_preprocessing:
            pre_stage = stack.enter_context(staging.stage_version(hub_root, options.publisher, pre_name))
        stages.start("build SavedModel objects")
        enc_module = pre_module = None
        if task:
            enc_module = task_export.build_task_module(
                result.task_model, task, vocab_file=vocab_file, sp_model_file=sp_model_file,
                do_lower_case=do_lower_case, text_pairs=text_pairs, max_seq_length=served["max_seq_length"],
                labels_dir=stack.enter_context(tempfile.TemporaryDirectory()))
        elif want_encoder:
            enc_module = saved_model.build_encoder_module(
                result, with_heads=bool(heads), legacy_v1=options.legacy_v1, vocab_file=vocab_file,
                sp_model_file=sp_model_file, do_lower_case=do_lower_case)
        if want_preprocessing:
            pre_module = PreprocessingModule(make_tokenizer(vocab_file, sp_model_file, do_lower_case),
                                             seq_length=options.seq_length,
                                             max_seq_length=config.max_position_embeddings)
        stages.start("save", "into temp directories under " + ", ".join(
            str(s.tmp_dir.relative_to(hub_root)) for s in (enc_stage, pre_stage) if s))
        if task:
            task_export.save_task_model(enc_module, enc_stage.path, task)
        elif want_encoder:
            saved_model.save_encoder_model(enc_module, enc_stage.path)
        if want_preprocessing:
            from export.preprocessing_export import save_preprocessing_model

            save_preprocessing_model(pre_module, pre_stage.path)
        for stage in (enc_stage, pre_stage):
            if stage:
                stage.start_tarball()  # compresses in the background while verification runs
        figures = {}
        if task:
            from export import task_verify

            stages.start("verify task model")
            figures["encoder"] = task_verify.verify_task(enc_stage.path, enc_module, result.task_model, task,
                                                         text_pairs=text_pairs)
        elif want_encoder:
            stages.start("verify encoder")
            figures["encoder"] = verify.verify_encoder(
                enc_stage.path, result, with_heads=bool(heads), legacy_v1=options.legacy_v1,
                progress=stages.note)
        if want_preprocessing:
            stages.start("verify preprocessor")
            figures["preprocessing"] = verify.verify_preprocessing(pre_stage.path, pre_module, SAMPLE_SENTENCES)
            vocab_size = figures["preprocessing"]["special_tokens"].get("vocab_size")
            if vocab_size != config.vocab_size:
                raise verify.VerificationError(
                    f"The preprocessor reports vocab_size {vocab_size}, the encoder {config.vocab_size}.")
        stages.start("manifest, tarball, model card, publish")
        extra = {"export_type": options.export_type, "dtype": options.dtype, "legacy_v1": options.legacy_v1,
                 "check_inputs": options.check_inputs,
                 "tokenizer": {"kind": tokenizer_kind, "do_lower_case": do_lower_case}}
        if task:
            extra.update(task_export.manifest_entries(enc_module, task, text_pairs))
            # What it serves with, as the question answering export records it.
            extra["settings"] = dict(served, max_seq_length=served["max_seq_length"] or config.max_position_embeddings)
        if want_encoder:
            manifest.write_manifest(enc_stage.path, artifact="task" if task else "encoder", source=source_record,
                                   config=config_dict,
                                   verification=figures["encoder"], changelog=changelog,
                                   extra=dict(extra, heads=list(heads), num_params=num_params,
                                              sentence_pooling=sentence_pooling))
        if want_preprocessing:
            manifest.write_manifest(pre_stage.path, artifact="preprocessing", source=source_record,
                                   config=config_dict, verification=figures["preprocessing"],
                                   changelog=changelog, extra=dict(extra, seq_length=options.seq_length))
        info = dict(publisher=options.publisher, language=options.language or _language(result),
                    dataset=options.dataset, config=config_dict, num_params=num_params, tokenizer=tokenizer_kind,
                    seq_length=options.seq_length, source=source_text, changelog=changelog)
        published = {}

        def handle(model_name, version):
            return f"{options.publisher}/{model_name}/{version}"

        def publish_preprocessor(encoder_version=None):
            card = model_card.CardInfo(
                name=pre_name, artifact="preprocessing",
                overview=f"Text preprocessing for {options.publisher}/{name}: {tokenizer_kind} tokenization "
                         f"({'lower-cased' if do_lower_case else 'cased'}), packing to seq_length "
                         f"{options.seq_length}, in-graph with tensorflow-text.",
                encoder_handle=(handle(name, encoder_version) if encoder_version
                                else _latest_handle(hub_root, options.publisher, name)), **info)
            published["preprocessing"] = pre_stage.publish(
                version=options.version, before_commit=lambda n: check_line(pre_name),
                render_card=lambda n: model_card.render_model_card(card, hub_root, n))

        if want_encoder:
            def encoder_card(n):
                pre = published.get("preprocessing")
                card = model_card.CardInfo(
                    name=name, artifact="task" if task else "encoder", heads=heads, legacy_v1=options.legacy_v1,
                    overview=_overview(config, name, result, task),
                    preprocess_handle=handle(pre_name, pre.version) if pre else
                    _latest_handle(hub_root, options.publisher, pre_name), sentence_pooling=sentence_pooling,
                    task=task, text_pairs=text_pairs, labels=tuple(extra.get("labels", ())), **info)
                return model_card.render_model_card(card, hub_root, n)

            def before_encoder_commit(n):
                check_line(name)
                if want_preprocessing:
                    publish_preprocessor(n)

            published["encoder"] = enc_stage.publish(
                version=options.version, render_card=encoder_card, before_commit=before_encoder_commit)
        else:
            publish_preprocessor()
        stages.finish()

    artifacts = []
    for kind_name in ("encoder", "preprocessing"):
        if kind_name in published:
            p = published[kind_name]
            artifacts.append(ArtifactSummary(
                kind="task" if task and kind_name == "encoder" else kind_name, path=str(p.path), tarball=str(p.tarball), card=str(p.card), version=p.version,
                size_bytes=staging.directory_size(p.path), tarball_bytes=p.tarball.stat().st_size,
                verification=figures[kind_name]))
    return ExportSummary(name=name, num_params=num_params if want_encoder else None, artifacts=artifacts,
                         seconds=stages.seconds)


def _check_version_lines(options, hub_root, names, config_dict, name, note):
    """Refuses a config change on any of `names` unless --allow_config_change; returns the changelog
    sentence that says what changed ("" when nothing did)."""
    from export.publish import version_line

    for artifact_name in names:
        if not options.allow_config_change:
            version_line.require_same_config(hub_root, options.publisher, artifact_name, config_dict, name)
            continue
        latest, changes = version_line.config_changes(hub_root, options.publisher, artifact_name, config_dict)
        if changes:
            note(f"{version_line.ALLOW_FLAG}: {options.publisher}/{artifact_name} changes its architecture: "
                 f"{version_line.describe(changes)}")
            return (f" Architecture changed from version {latest} ({version_line.ALLOW_FLAG}): "
                    f"{version_line.describe(changes)}.")
    return ""


def _latest_handle(hub_root, publisher, name):
    latest = latest_version_dir(hub_root, publisher, name)
    return f"{publisher}/{name}/{latest.name}" if latest else None


def _source_directory(location):
    """The directory a source's files are named relative to in MANIFEST.json."""
    location = pathlib.Path(location).expanduser()
    return location if location.is_dir() else location.parent


def _language(result):
    return "multilingual" if result.config.vocab_size > 60000 else "en"


def _overview(config, name, result, task=None):
    family = {"bert": "BERT", "albert": "ALBERT", "electra": "ELECTRA"}[config.family]
    if task:
        from export.model_card import task_overview

        return task_overview(family, config, name, task)
    return (f"{family} text encoder `{name}` (L={config.num_layers}, H={config.hidden_size}, "
            f"A={config.num_heads}) as a Reusable SavedModel for TensorFlow 2: it returns a pooled "
            "embedding of each input and one contextual embedding per token, and it can be fine-tuned "
            "with `hub.KerasLayer(..., trainable=True)`.")


# Verification pairs for a question-answering export: short, several windows long, empty, non-Latin.
SAMPLE_QA_PAIRS = (
    ("Who jumps over the dog?", "The quick brown fox jumps over the lazy dog."),
    ("When did the café re-open?", " ".join(["Unbelievably, the naïve café owner re-opened at 9:30am."] * 60)),
    ("What is the capital?", "東京は日本の首都です。"),
    ("Anything?", ""),
)


def _run_question_answering(options, printer):
    """--export_type=question_answering: one text-in serving SavedModel of a span model."""
    from export import model_card, task_export, task_verify
    from export.publish import manifest, staging
    from official_encoders import checkpoints
    from preprocessors.qa_windows import check_window_settings

    kind, source_path = parse_source_spec(options.source, what="--source")
    window = (options.max_seq_length, options.doc_stride, options.max_query_length)
    if None not in window:  # all given: checked before the (slow) load
        check_window_settings(*window)
    stages = _Stages(5, printer)
    stages.start("load source", options.source)
    result = checkpoints.load_source(options.source, options.config_file, task="question_answering")
    if getattr(result, "report", None) is not None:
        stages.note(result.report.summary())
    config, task_model = result.config, result.task_model
    settings = serving_settings(options, result, "question_answering")
    check_window_settings(settings["max_seq_length"], settings["doc_stride"], settings["max_query_length"])
    if settings["max_seq_length"] > config.max_position_embeddings:
        raise ValueError(f"--max_seq_length {settings['max_seq_length']} exceeds the encoder's max_position_embeddings "
                         f"{config.max_position_embeddings}; pass --max_seq_length <= "
                         f"{config.max_position_embeddings}.")
    vocab_file, sp_model_file, do_lower_case = _resolve_vocab(options, result)
    name = options.name or f"{default_name(result, options.source)}_squad{'2' if settings['version_2_with_negative'] else ''}"
    num_params = task_model.count_params()
    hub_root = pathlib.Path(options.hub_root)
    identity = result.identity
    source_text = f"{kind} {identity.id}" if identity else kind
    source_root = None if kind == "preset" else _source_directory(source_path)
    changelog = options.changelog or f"Exported from {source_text}."
    with staging.stage_version(hub_root, options.publisher, name) as stage:
        stages.start("build SavedModel objects")
        module = task_export.build_question_answering_module(
            task_model, make_tokenizer(vocab_file, sp_model_file, do_lower_case), vocab_file=vocab_file,
            sp_model_file=sp_model_file, do_lower_case=do_lower_case, labels_dir=stage.tmp_dir, **settings)
        stages.start("save", str(stage.tmp_dir.relative_to(hub_root)))
        notes = task_export.save_question_answering_model(module, stage.path)
        stage.start_tarball()
        stages.start("verify question answering")
        questions, contexts = zip(*SAMPLE_QA_PAIRS)
        figures = task_verify.verify_question_answering(stage.path, module, task_model, questions, contexts)
        figures["custom_ops"] = notes["custom_ops"]
        stages.start("manifest, tarball, model card, publish")
        manifest.write_manifest(
            stage.path, artifact="question_answering", source=manifest.source_record(
                kind, identity, getattr(result, "source_files", []), source_root),
            config=config.to_dict(), verification=figures, changelog=changelog,
            extra={"export_type": options.export_type, "dtype": "float32", "num_params": num_params,
                   "tokenizer": {"kind": "wordpiece" if vocab_file else "sentencepiece",
                                 "do_lower_case": do_lower_case}, "settings": settings})
        card = model_card.CardInfo(
            publisher=options.publisher, name=name, artifact="question_answering",
            overview=model_card.question_answering_overview(config, settings),
            language=options.language or _language(result), dataset=options.dataset, config=config.to_dict(),
            num_params=num_params, seq_length=settings["max_seq_length"], source=source_text,
            changelog=changelog, settings=settings)
        published = stage.publish(version=options.version,
                                  render_card=lambda n: model_card.render_model_card(card, hub_root, n))
        stages.finish()
    artifact = ArtifactSummary(
        kind="question_answering", path=str(published.path), tarball=str(published.tarball),
        card=str(published.card), version=published.version, size_bytes=staging.directory_size(published.path),
        tarball_bytes=published.tarball.stat().st_size, verification=figures)
    return ExportSummary(name=name, num_params=num_params, artifacts=[artifact], seconds=stages.seconds)
