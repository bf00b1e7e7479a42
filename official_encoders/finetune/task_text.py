"""The packer a fine-tuning task tokenizes with, built from the run's `RunText`, and its checks."""

from official_encoders.serving.text_inputs import TextPacker


def encoder_type_vocab_size(model, default=2):
    """The type_vocab_size of the task model's encoder config (`default` when it has no config)."""
    config = getattr(getattr(model, "encoder", None), "config", None)
    return int(getattr(config, "type_vocab_size", default))


def task_packer(text, seq_length, task, type_vocab_size=None, needs_offsets=False):
    """A `TextPacker` over the run's tokenizer, at most `seq_length` tokens per packed sequence.

    Args:
      text: the run's `task_base.RunText`.
      seq_length: the task's `params.seq_length`.
      task: the `--task` value, for the messages.
      type_vocab_size: the encoder's; None takes `text.packer`'s (2 when it does not say).
      needs_offsets: refuse a tokenizer without `tokenize_with_offsets` (the serving model
        reports character offsets).

    Example:

        packer = task_packer(text, params.seq_length, "tagging", needs_offsets=True)
    """
    tokenizer = text.tokenizer
    if tokenizer is None:
        raise ValueError(f"--task={task} tokenizes with the run's own tokenizer, but the run has only a "
                         "preprocessing SavedModel (--preprocess_url); give the vocabulary instead "
                         "(--vocab_file, or an encoder that carries one).")
    if needs_offsets and not hasattr(tokenizer, "tokenize_with_offsets"):
        raise ValueError(f"--task={task} needs character offsets (its serving model reports where each "
                         f"entity is in the text), which {type(tokenizer).__name__} does not give; use a tokenizer "
                         "from preprocessors.tokenizer_factory.make_tokenizer (WordPiece or SentencePiece).")
    if type_vocab_size is None:
        type_vocab_size = getattr(text.packer, "type_vocab_size", 2)
    return TextPacker(tokenizer, max_seq_length=seq_length, type_vocab_size=type_vocab_size)
