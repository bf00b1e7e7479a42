"""ElectraEncoder passes the shared checks; its pooler starts as the identity."""

import numpy as np

from official_encoders import ElectraEncoder
from tests.official_encoders.encoder_checks import check_encoder, random_inputs, tiny_config


def test_electra_encoder(tmp_path):
    check_encoder(ElectraEncoder, tiny_config("electra"), tmp_path)


def test_electra_pooler_is_tanh_of_first_token():
    config = tiny_config("electra")
    outputs = ElectraEncoder(config)(random_inputs(2, 4))
    np.testing.assert_allclose(outputs["pooled_output"], np.tanh(outputs["sequence_output"].numpy()[:, 0]),
                               atol=1e-6)


def test_electra_without_factorization_has_no_projection():
    encoder = ElectraEncoder(tiny_config("electra", embedding_size=None))
    assert encoder.embedding_projection is None
