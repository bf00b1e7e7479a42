"""Every encoder class passes every shared check; each (class, check) pair is reported on its own."""

import keras
import pytest

from official_encoders import AlbertEncoder, BertEncoder, ElectraEncoder
from tests.official_encoders.encoder_checks import CHECKS
from tests.common.tiny_configs import tiny_config

VARIANTS = {
    "bert": (BertEncoder, {}),
    "bert_talking_heads_gated_gelu": (BertEncoder, dict(
        attention_kind="talking_heads", feedforward_kind="gated_gelu", hidden_act="gelu_approximate",
        has_pooler=False)),
    "albert": (AlbertEncoder, dict(num_layers=3)),
    "electra": (ElectraEncoder, {}),
}


@pytest.fixture(scope="module")
def encoders():
    """One encoder per variant, built once for all its checks (no check changes weights)."""
    built = {}

    def get(variant):
        if variant not in built:
            encoder_class, changes = VARIANTS[variant]
            config = tiny_config(encoder_class.family, **changes)
            keras.utils.set_random_seed(0)
            encoder = encoder_class(config)
            assert isinstance(encoder, keras.Model) and type(encoder).family == config.family
            built[variant] = (encoder, config)
        return built[variant]
    return get


@pytest.mark.parametrize("check", sorted(CHECKS))
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_encoder_contract(encoders, variant, check, tmp_path):
    encoder, config = encoders(variant)
    CHECKS[check](encoder, config, tmp_path)
