"""The preprocessor of a run: a TF-Hub text preprocessing module, loaded or built from a vocabulary."""

import tensorflow as tf

from official_encoders.hub import resolver
from preprocessors import preprocessing_module
from preprocessors.tokenizer_factory import make_tokenizer


class Preprocessor:
    """Segments of strings -> encoder inputs, through `.tokenize` and `.bert_pack_inputs`."""

    def __init__(self, module, seq_length):
        for method in ("tokenize", "bert_pack_inputs"):
            if not hasattr(module, method):
                raise ValueError(f"The preprocessor has no .{method}; it must follow the TF-Hub "
                                 "text preprocessing API.")
        self.module = module
        self.seq_length = seq_length

    def __call__(self, segments):
        tokens = [self.module.tokenize(segment) for segment in segments]
        return self.module.bert_pack_inputs(tokens, seq_length=self.seq_length)


def load_preprocessor(params, encoder_object=None):
    """The preprocessing module: --preprocess_url, else built from a vocabulary."""
    if params.preprocess_url:
        return Preprocessor(tf.saved_model.load(resolver.resolve(params.preprocess_url)),
                            params.seq_length)
    vocab_file, sp_model_file, lower = params.vocab_file, params.sp_model_file, params.do_lower_case
    if not (vocab_file or sp_model_file):
        if hasattr(encoder_object, "vocab_file"):
            vocab_file = encoder_object.vocab_file.asset_path.numpy().decode()
            if hasattr(encoder_object, "do_lower_case"):
                lower = bool(encoder_object.do_lower_case.numpy())
        elif hasattr(encoder_object, "sp_model_file"):
            sp_model_file = encoder_object.sp_model_file.asset_path.numpy().decode()
        else:
            raise ValueError(f"{params.hub_module_url or params.init_checkpoint} comes without a "
                             "vocabulary; pass --preprocess_url, --vocab_file or --sp_model_file.")
    tokenizer = make_tokenizer(vocab_file, sp_model_file, lower)
    return Preprocessor(preprocessing_module.PreprocessingModule(tokenizer, seq_length=params.seq_length),
                        params.seq_length)
