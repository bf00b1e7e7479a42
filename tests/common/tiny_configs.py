"""The one set of tiny encoder sizes (vocab 100, 2 layers, hidden 16) every test builds from.

Tests that need another value pass it as a change (`tiny_config("albert", num_heads=4)`),
so each test shows what it departs from.
"""

from official_encoders.models.configs import EncoderConfig

# In EncoderConfig's names.
TINY_SIZES = dict(vocab_size=100, hidden_size=16, num_layers=2, num_heads=2, intermediate_size=32,
                  max_position_embeddings=24, type_vocab_size=2)
# ALBERT and ELECTRA factorise the embedding; the tiny width for them.
TINY_EMBEDDING_SIZE = 8
# EncoderConfig name -> Hugging Face / google-research bert_config.json name.
_HF_NAMES = {"num_layers": "num_hidden_layers", "num_heads": "num_attention_heads"}


def tiny_config(family="bert", **changes):
    """A validated tiny EncoderConfig of `family`, with `changes` applied."""
    sizes = dict(TINY_SIZES, family=family)
    if family in ("albert", "electra"):
        sizes["embedding_size"] = TINY_EMBEDDING_SIZE
    sizes.update(changes)
    return EncoderConfig(**sizes).validate()


def tiny_hf_config(**changes):
    """The tiny sizes in Hugging Face config.json (and bert_config.json) names, with `changes`."""
    sizes = {_HF_NAMES.get(k, k): v for k, v in TINY_SIZES.items()}
    sizes.update(changes)
    return sizes
