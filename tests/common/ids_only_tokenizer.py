"""A tokenizer that gives ids but no offsets, as a third-party one might: for refusal tests."""


class IdsOnlyTokenizer:
    """Wraps a `preprocessors` tokenizer, keeping only `tokenize` and `special_ids`."""

    def __init__(self, tokenizer):
        self.tokenize = tokenizer.tokenize
        self.special_ids = tokenizer.special_ids
