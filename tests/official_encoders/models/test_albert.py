"""AlbertEncoder really shares one block across all layers (the shared checks are in test_encoder_contract)."""

from official_encoders import AlbertEncoder
from tests.common.tiny_configs import tiny_config


def test_albert_shares_one_block():
    config = tiny_config("albert", num_layers=3)
    encoder = AlbertEncoder(config)
    paths = [v.path for v in encoder.weights]
    assert sum(p.startswith("transformer/") for p in paths) == 16  # one block, however many layers
    assert all(p.startswith("transformer/shared_layer/") for p in paths if p.startswith("transformer/"))
    assert encoder.block_for_layer(0) is encoder.block_for_layer(2)
    assert encoder.get_layer("embedding_projection").kernel.shape == (8, 16)
