"""The one place that picks a tokenizer for a vocabulary, and the default case handling."""

from preprocessors.sentencepiece import AlbertSentencepieceTokenizer
from preprocessors.wordpiece import BertWordpieceTokenizer

# The google-research default for BERT and ALBERT alike, when neither the source nor the user says.
DEFAULT_DO_LOWER_CASE = True


def make_tokenizer(vocab_file=None, sp_model_file=None, do_lower_case=None):
    """A BertWordpieceTokenizer for `vocab_file` or an AlbertSentencepieceTokenizer for `sp_model_file`.

    Args:
      vocab_file: a WordPiece vocab.txt (BERT, ELECTRA).
      sp_model_file: a SentencePiece model (ALBERT). Give exactly one of the two.
      do_lower_case: None takes DEFAULT_DO_LOWER_CASE.
    """
    if bool(vocab_file) == bool(sp_model_file):
        raise ValueError("Give exactly one vocabulary: a WordPiece vocab_file or a SentencePiece "
                         f"sp_model_file (got vocab_file={vocab_file!r}, sp_model_file={sp_model_file!r}).")
    lower = DEFAULT_DO_LOWER_CASE if do_lower_case is None else bool(do_lower_case)
    if vocab_file:
        return BertWordpieceTokenizer(str(vocab_file), lower)
    return AlbertSentencepieceTokenizer(str(sp_model_file), lower)
