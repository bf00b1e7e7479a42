"""What every task model shares: the encoder, the task name, label names, one head, the config."""

import keras

from official_encoders.layers.classification_head import ClassificationHead
from official_encoders.models.pretrainer import encoder_from_config
from preprocessors.packing import INPUT_KEYS

HEAD_NAME = "classifier"  # the head layer of every task model; its variables are `classifier/...`
_AUTO = "auto"


def normalize_labels(task, num_labels, id2label, fixed_num_labels=None):
    """(num_labels, id2label as {int: str} or None), checked against each other and the task."""
    if id2label is not None:
        try:
            id2label = {int(k): str(v) for k, v in dict(id2label).items()}
        except (TypeError, ValueError) as e:
            raise ValueError(f"{task}: id2label must map label ids (ints) to names, got {id2label!r}") from e
        if sorted(id2label) != list(range(len(id2label))):
            raise ValueError(f"{task}: id2label keys must be 0..{len(id2label) - 1}, got {sorted(id2label)}")
        if num_labels is None:
            num_labels = len(id2label)
        elif int(num_labels) != len(id2label):
            raise ValueError(f"{task}: num_labels={num_labels} but id2label names {len(id2label)} labels")
    if fixed_num_labels is not None:
        if num_labels is not None and int(num_labels) != fixed_num_labels:
            raise ValueError(f"{task} heads have {fixed_num_labels} outputs; num_labels={num_labels} cannot "
                             f"change that (pass num_labels={fixed_num_labels} or leave it out)")
        num_labels = fixed_num_labels
    if num_labels is None:
        raise ValueError(f"{task} needs num_labels= (or id2label=): the number of classes of its head")
    if isinstance(num_labels, bool) or int(num_labels) != num_labels or int(num_labels) < 1:
        raise ValueError(f"{task}: num_labels={num_labels!r} must be a positive int")
    return int(num_labels), id2label


class TaskModel(keras.Model):
    """Base of the task models: `encoder` -> `classifier` head -> a dict of float32 logits.

    Subclasses set `task`, `fixed_num_labels` (heads whose size the task fixes),
    say whether their head reads the pooled output, and write `call`.
    """

    task = None
    fixed_num_labels = None

    def __init__(self, encoder, num_labels=None, id2label=None, dropout=None, head_activation=_AUTO, **kwargs):
        encoder = encoder_from_config(encoder)
        super().__init__(**kwargs)
        self.encoder = encoder
        self.num_labels, self.id2label = normalize_labels(self.task, num_labels, id2label, self.fixed_num_labels)
        c = encoder.config
        self.dropout = float(c.hidden_dropout if dropout is None else dropout)
        self.head_activation = (self.default_head_activation(c.family) if head_activation == _AUTO
                                else head_activation)
        self.classifier = ClassificationHead(
            c.hidden_size, self.num_labels, inner_activation=self.head_activation, dropout=self.dropout,
            dropout_before_dense=self.dropout_before_dense, initializer_range=c.initializer_range,
            dtype=encoder.dtype_policy, name=HEAD_NAME)
        self.classifier.build(None)
        self.built = True

    # ---- what subclasses may override -------------------------------------------
    dropout_before_dense = True
    # One prediction per sequence: BERT and ALBERT read pooled_output, ELECTRA (which has no
    # pooler in its checkpoints) a GELU dense layer on the first token, as Hugging Face does.
    sequence_level = False

    @classmethod
    def default_head_activation(cls, family):
        """The activation of the head's inner dense layer (None: no inner layer) for `family`."""
        return "gelu" if cls.sequence_level and family == "electra" else None

    @classmethod
    def reads_pooled_output(cls, family):
        """Whether the head of this task reads `pooled_output` (so the pooler must be loaded)."""
        return cls.sequence_level and cls.default_head_activation(family) is None

    # ---- shared ---------------------------------------------------------------------
    @property
    def config(self):
        """The encoder's EncoderConfig."""
        return self.encoder.config

    @property
    def label2id(self):
        """{name: id}, the inverse of id2label (None without label names)."""
        return None if self.id2label is None else {name: i for i, name in self.id2label.items()}

    def encode(self, inputs, training=None):
        """The encoder's outputs for the three input keys of `inputs` (other keys are ignored)."""
        missing = [k for k in INPUT_KEYS if k not in inputs]
        if missing:
            raise KeyError(f"{type(self).__name__} inputs are missing {missing}; expected keys {list(INPUT_KEYS)}")
        return self.encoder({k: inputs[k] for k in INPUT_KEYS}, training=training)

    def first_token_features(self, outputs):
        """pooled_output for BERT-style heads; the first token's sequence_output for ELECTRA-style
        heads (those with an inner dense layer)."""
        if self.classifier.dense is None:
            return outputs["pooled_output"]
        return outputs["sequence_output"][:, 0, :]

    def task_config(self):
        """The head's settings, without the encoder (what our checkpoint format stores)."""
        return {"task": self.task, "num_labels": self.num_labels,
                "id2label": None if self.id2label is None else {str(k): v for k, v in self.id2label.items()},
                "dropout": self.dropout, "head_activation": self.head_activation}

    def get_config(self):
        config = {"name": self.name, "trainable": self.trainable,
                  "encoder": keras.saving.serialize_keras_object(self.encoder)}
        config.update({k: v for k, v in self.task_config().items() if k != "task"})
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)
