"""The task names: what `from_pretrained(task=...)`, `build_task_model` and configs call each task."""

SEQUENCE_CLASSIFICATION = "sequence_classification"  # logits [B, C] (regression when C == 1)
TOKEN_CLASSIFICATION = "token_classification"  # logits [B, S, C]
QUESTION_ANSWERING = "question_answering"  # start_logits, end_logits [B, S] (span labelling)
MULTIPLE_CHOICE = "multiple_choice"  # inputs [B, K, S] -> logits [B, K]
NEXT_SENTENCE_PREDICTION = "next_sentence_prediction"  # logits [B, 2]: 0 = B follows A, 1 = random

TASKS = (SEQUENCE_CLASSIFICATION, TOKEN_CLASSIFICATION, QUESTION_ANSWERING, MULTIPLE_CHOICE,
         NEXT_SENTENCE_PREDICTION)
AUTO = "auto"  # from_pretrained: the task the source declares


def check_task(task, what="task"):
    """`task` if it is one of TASKS; ValueError listing them otherwise."""
    if task not in TASKS:
        raise ValueError(f"{what}={task!r} is not a task; use one of {list(TASKS)}")
    return task
