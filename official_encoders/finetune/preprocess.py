"""The text side of a run (`RunText`): a tokenizer and packer from a vocabulary, or a preprocessing SavedModel.

As the TF-Hub text API asks, the packer runs outside the distribution strategy (in
`tf.data.Dataset.map`); the same packer serves in the exported SavedModel.
"""

import tensorflow as tf

from official_encoders.finetune.task_base import RunText
from official_encoders.hub import resolver
from official_encoders.serving.text_inputs import TextPacker
from preprocessors.tokenizer_factory import make_tokenizer


class FixedLengthPacker(TextPacker):
    """A `TextPacker` whose batches are always `max_seq_length` wide, so the train step is traced once."""

    def pack(self, segments):
        inputs = super().pack(segments)
        width = self.max_seq_length
        return {k: tf.ensure_shape(tf.pad(v, [[0, 0], [0, width - tf.shape(v)[1]]]), [None, width])
                for k, v in inputs.items()}


class SavedModelPacker(tf.Module):
    """A TF-Hub preprocessing SavedModel (`.tokenize`, `.bert_pack_inputs`) in the shape of a TextPacker."""

    type_vocab_size = 2  # the preprocessor packs segment types itself

    def __init__(self, module, seq_length):
        super().__init__()
        for method in ("tokenize", "bert_pack_inputs"):
            if not hasattr(module, method):
                raise ValueError(f"The preprocessor has no .{method}; it must follow the TF-Hub "
                                 "text preprocessing API.")
        self.module = module
        self.max_seq_length = int(seq_length)

    def tokenize(self, strings):
        return self.module.tokenize(strings)

    def pack(self, segments):
        return self.module.bert_pack_inputs(segments, seq_length=self.max_seq_length)


def make_run_text(params, run_encoder):
    """The `RunText` of a run: `--preprocess_url`, else a tokenizer of `--vocab_file`/`--sp_model_file`
    or of the encoder's own vocabulary (`run_encoder`, a `finetune.model.RunEncoder`).

    Example:

        text = make_run_text(params, build_run_encoder(params))
        inputs = text.packer.pack([text.packer.tokenize(tf.constant(["a sentence"]))])
    """
    if params.preprocess_url:
        module = tf.saved_model.load(resolver.resolve(params.preprocess_url))
        return RunText(SavedModelPacker(module, params.seq_length))
    vocab_file, sp_model_file, lower = params.vocab_file, params.sp_model_file, params.do_lower_case
    if not (vocab_file or sp_model_file):
        vocab_file, sp_model_file = run_encoder.vocab_file, run_encoder.sp_model_file
        if run_encoder.do_lower_case is not None:
            lower = run_encoder.do_lower_case
        if not (vocab_file or sp_model_file):
            raise ValueError(f"{params.hub_module_url or params.init_checkpoint} comes without a "
                             "vocabulary; pass --preprocess_url, --vocab_file or --sp_model_file.")
    config = run_encoder.config
    if config is not None and params.seq_length > config.max_position_embeddings:
        raise ValueError(f"--seq_length={params.seq_length} exceeds the encoder's max_position_embeddings "
                         f"{config.max_position_embeddings}; pass --seq_length <= {config.max_position_embeddings}.")
    tokenizer = make_tokenizer(vocab_file, sp_model_file, lower)
    type_vocab_size = config.type_vocab_size if config is not None else 2
    return RunText(FixedLengthPacker(tokenizer, params.seq_length, type_vocab_size), tokenizer=tokenizer,
                   vocab_file=vocab_file, sp_model_file=sp_model_file,
                   do_lower_case=lower if vocab_file else None)
