"""The settings of a fine-tuning run, and `--params_override` parsing (task.*, trainer.*, runtime.*)."""

import dataclasses
import difflib

from preprocessors.tokenizer_factory import DEFAULT_DO_LOWER_CASE

STRATEGIES = ("one_device", "mirrored", "multi_worker_mirrored")
TASK_NAMES = ("sentence_prediction", "question_answering", "tagging", "multiple_choice")
# --seq_length when not given: Hugging Face's question-answering default (384, which leaves the
# doc_stride=128 windows room to move), else 128.
DEFAULT_SEQ_LENGTH = {"question_answering": 384}


@dataclasses.dataclass
class FinetuneParams:
    """Every setting of a run; flags and --params_override both fill this."""

    task: str = "sentence_prediction"
    hub_module_url: str = None
    preprocess_url: str = None
    init_checkpoint: str = None
    config_file: str = None
    vocab_file: str = None
    sp_model_file: str = None
    do_lower_case: bool = DEFAULT_DO_LOWER_CASE
    train_data: str = None
    eval_data: str = None
    text_columns: str = "sentence"
    label_column: str = "label"
    has_header: bool = True
    seq_length: int = None  # DEFAULT_SEQ_LENGTH of the task, else 128
    epochs: int = 3
    batch_size: int = 32
    learning_rate: float = 3e-5
    dropout: float = 0.1
    num_labels: int = None  # 1: regression (float labels, MSE, pearson/spearman); else from the data
    skip_bad_examples: bool = False
    # question_answering: Hugging Face's defaults (doc_stride is the overlap between windows).
    max_query_length: int = 64
    doc_stride: int = 128
    max_answer_length: int = 15
    version_2_with_negative: bool = False
    n_best_size: int = 20
    model_dir: str = None
    distribution_strategy: str = "one_device"
    num_cpu_devices: int = 1
    seed: int = 0
    steps_per_checkpoint: int = 100
    steps_per_loop: int = 10  # steps between progress, TensorBoard and steps/s updates
    resume: bool = False

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
        if self.task not in TASK_NAMES:
            raise ValueError(f"--task={self.task!r}; allowed: {', '.join(TASK_NAMES)}.")
        if self.seq_length is None:
            self.seq_length = DEFAULT_SEQ_LENGTH.get(self.task, 128)
        if self.num_labels is not None and self.num_labels < 1:
            raise ValueError(f"--num_labels must be 1 (regression) or more, got {self.num_labels}.")
        for name in ("seq_length", "epochs", "batch_size", "num_cpu_devices", "steps_per_checkpoint",
                     "steps_per_loop", "max_query_length", "doc_stride", "max_answer_length", "n_best_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name} must be a positive integer, got {getattr(self, name)}.")
        if not 0 < self.learning_rate < 1:
            raise ValueError(f"--learning_rate must be in (0, 1), got {self.learning_rate}.")
        if self.task == "question_answering":
            from preprocessors.qa_windows import check_window_settings

            try:
                check_window_settings(self.seq_length, self.doc_stride, self.max_query_length)
            except ValueError as error:
                raise ValueError(f"--task=question_answering: {error} (--seq_length is the "
                                 "max_seq_length).") from None
        if len(self.text_column_list) not in (1, 2):
            raise ValueError(f"--text_columns={self.text_columns!r}: give one column (sentence) "
                             "or two (sentence pair), comma-separated.")
        return self

    @property
    def text_column_list(self):
        return [c.strip() for c in self.text_columns.split(",") if c.strip()]


# --params_override key -> FinetuneParams field.
OVERRIDE_KEYS = {
    "task.type": "task",
    **{f"task.{name}": name for name in (
        "hub_module_url", "preprocess_url", "init_checkpoint", "config_file", "vocab_file",
        "sp_model_file", "do_lower_case", "train_data", "eval_data", "text_columns",
        "label_column", "has_header", "seq_length", "dropout", "num_labels", "skip_bad_examples",
        "max_query_length", "doc_stride", "max_answer_length", "version_2_with_negative", "n_best_size")},
    **{f"trainer.{name}": name for name in ("epochs", "batch_size", "learning_rate", "seed",
                                            "steps_per_checkpoint", "steps_per_loop", "resume")},
    "runtime.distribution_strategy": "distribution_strategy",
    "runtime.num_cpu_devices": "num_cpu_devices",
    "runtime.model_dir": "model_dir",
}


def _typed(field, text):
    kind = {f.name: f.type for f in dataclasses.fields(FinetuneParams)}[field]
    if text.lower() in ("none", "null") and field == "num_labels":
        return None
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
            close = difflib.get_close_matches(key, OVERRIDE_KEYS, n=1, cutoff=0.5)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ValueError(f"--params_override: unknown key {key!r}; {hint}allowed: "
                             f"{', '.join(sorted(OVERRIDE_KEYS))}.")
        field = OVERRIDE_KEYS[key]
        typed = _typed(field, value)
        if field in explicitly_set and getattr(params, field) != typed:
            raise ValueError(f"--{field}={getattr(params, field)!r} conflicts with "
                             f"--params_override {key}={value!r}; give it once.")
        setattr(params, field, typed)
    return params
