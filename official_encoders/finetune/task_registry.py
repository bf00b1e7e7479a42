"""`--task` name -> its FinetuneTask class, imported when asked for.

Each task lives in its own module; adding one is one line of `TASKS`.
"""

import importlib

# --task -> (its module, its FinetuneTask class); literal import_module strings, so the layering
# test and the BUILD generator see the imports.
TASKS = {
    "sentence_prediction": (lambda: importlib.import_module("official_encoders.finetune.sentence_prediction"),
                            "SentencePredictionTask"),
    "question_answering": (lambda: importlib.import_module("official_encoders.finetune.question_answering"),
                           "QuestionAnsweringTask"),
    "tagging": (lambda: importlib.import_module("official_encoders.finetune.tagging"), "TaggingTask"),
    "multiple_choice": (lambda: importlib.import_module("official_encoders.finetune.multiple_choice"),
                        "MultipleChoiceTask"),
}


def task_class(name):
    """The FinetuneTask subclass of `--task=name`.

    Raises ValueError for a name not in `TASKS`, and NotImplementedError naming the module
    when the task is listed but its module is not in this installation yet.

    Example:

        task = task_class("sentence_prediction")(params)
    """
    if name not in TASKS:
        raise ValueError(f"--task={name!r}; allowed: {', '.join(TASKS)}.")
    load_module, class_name = TASKS[name]
    module_name = f"official_encoders.finetune.{name}"
    try:
        module = load_module()
    except ModuleNotFoundError as error:
        if error.name != module_name:
            raise
        raise NotImplementedError(f"--task={name} is not available: its module {module_name} is missing "
                                  "from this installation.") from None
    return getattr(module, class_name)
