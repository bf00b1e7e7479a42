"""ElectraEncoder's pooler starts as the identity (the shared checks are in test_encoder_contract)."""

import numpy as np

from official_encoders import ElectraEncoder
from tests.official_encoders.encoder_checks import random_inputs
from tests.common.tiny_configs import tiny_config


def test_electra_pooler_is_tanh_of_first_token():
    config = tiny_config("electra")
    outputs = ElectraEncoder(config)(random_inputs(2, 4))
    np.testing.assert_allclose(outputs["pooled_output"], np.tanh(outputs["sequence_output"].numpy()[:, 0]),
                               atol=1e-6)


def test_electra_without_factorization_has_no_projection():
    encoder = ElectraEncoder(tiny_config("electra", embedding_size=None))
    assert encoder.embedding_projection is None
