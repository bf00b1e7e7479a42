"""Which task head an import returns, and how a fresh one is reported; every source kind uses this.

`from_pretrained(task=...)` and `load_source(task=...)` take None (the encoder
alone; a task head in the source is reported unused), "auto" (the task the source
declares) or a task name. A source without that head is an error naming it,
unless `num_labels=` asks for a freshly initialised head.
"""

from official_encoders.tasks import AUTO, HEAD_NAME, TASKS, build_task_model, check_task, pooler_is_optional

FRESH_HEAD = "<fresh head>"  # the "source name" the report gives a freshly initialised head's variables


def choose_task(requested, source_task, what, num_labels=None, id2label=None):
    """(task to build or None, whether its head is fresh) for `requested` against the source's own task.

    Args:
      requested: None, "auto" or a task name.
      source_task: the task whose head the source holds, or None.
      what: the source, for messages (e.g. "Hugging Face directory /x (BertForQuestionAnswering)").
      num_labels, id2label: what the caller asked for; either asks for a fresh head when the
        source has none of `requested`.
    """
    if requested is None:
        return None, False
    if requested == AUTO:
        if source_task is None:
            raise ValueError(
                f"task='auto': {what} declares no task head. Pass task= one of {list(TASKS)} with "
                f"num_labels= for a freshly initialised head, or task=None for the encoder alone.")
        return source_task, False
    check_task(requested, "task")
    if requested == source_task:
        return requested, False
    if num_labels is None and id2label is None:
        held = f"its head is {source_task!r}" if source_task else "it holds no task head"
        raise ValueError(
            f"{what} has no {requested!r} head ({held}). Pass num_labels= to start a freshly "
            f"initialised {requested} head on its encoder, or task=None for the encoder alone.")
    return requested, True


def optional_targets(encoder, source_task=None):
    """Target variables an importer may find missing: what the encoder's family never has in a
    checkpoint (ELECTRA's pooler), and the pooler of a source whose task never reads it (Hugging
    Face's token-classification and question-answering classes build none). The one pooler rule."""
    family = encoder.config.family
    return tuple(encoder.not_in_checkpoints) + (("pooler_transform",) if pooler_is_optional(family, source_task)
                                                else ())


def check_source_num_labels(task, requested, held, what):
    """A loaded head keeps its size: `requested` num_labels (if given) must equal the source's."""
    if requested is not None and int(requested) != int(held):
        raise ValueError(
            f"{what}: its {task} head has {held} labels, not num_labels={requested}. Leave num_labels out "
            f"to load the head, or load the encoder (task=None) and build_task_model(...) a new head.")


def report_fresh_head(report, task_model):
    """Record the fresh head's variables as missing (and allowed): nothing was loaded into them."""
    for variable in getattr(task_model, HEAD_NAME).weights:
        entry = (FRESH_HEAD, variable.path)
        report.missing.append(entry)
        report.allowed_missing.append(entry)


class Variables:
    """The variables of several models sharing one encoder, each once: what `mapping.assign` fills."""

    def __init__(self, *models):
        self.weights, seen = [], set()
        for model in models:
            for variable in (model.weights if model is not None else ()):
                if id(variable) not in seen:
                    seen.add(id(variable))
                    self.weights.append(variable)


def attach_task(result, task, what, num_labels=None, id2label=None, source_task=None, source_num_labels=None):
    """Set `result.task_model` for a source that has no head weights to load (TF1, a catalog preset):
    a new head, reported as fresh unless the source declares that task (a preset's random weights)."""
    chosen, fresh = choose_task(task, source_task, what, num_labels, id2label)
    result.source_task = source_task
    if chosen is None:
        return result
    if not fresh and source_num_labels is not None:
        check_source_num_labels(chosen, num_labels, source_num_labels, what)
        num_labels = source_num_labels
    result.task_model = build_task_model(chosen, result.encoder, num_labels=num_labels, id2label=id2label)
    if fresh:
        report_fresh_head(result.report, result.task_model)
    return result
