"""hf.py without a reference library: directory layouts, vocab files, the report and its errors."""

import json

import numpy as np
import pytest

from official_encoders.checkpoints.hf import load_hf
from official_encoders import EncoderWithMaskedLM, EncoderWithRtd, build_encoder
from tests.official_encoders.checkpoints.hf_dirs import write_hf_dir
from tests.official_encoders.encoder_checks import assert_outputs_close, random_inputs
from tests.common.tiny_configs import tiny_config


@pytest.mark.parametrize("family", ["bert", "albert", "electra"])
def test_round_trip_through_hf_names(family, tmp_path):
    encoder = build_encoder(tiny_config(family))
    write_hf_dir(tmp_path, encoder, family)
    result = load_hf(tmp_path)
    assert result.encoder is result.model and result.config == encoder.config
    assert result.report.missing == [] and result.report.unused == []
    assert len(result.report.loaded) == len(encoder.weights)
    inputs = random_inputs(2, 6)
    assert_outputs_close(result.encoder(inputs), encoder(inputs), atol=1e-6)


@pytest.mark.parametrize("family, head, model_class", [
    ("bert", "mlm", EncoderWithMaskedLM), ("albert", "mlm", EncoderWithMaskedLM),
    ("electra", "rtd", EncoderWithRtd)])
def test_heads_are_built_from_the_tensors_present(family, head, model_class, tmp_path):
    model = model_class(build_encoder(tiny_config(family)))
    write_hf_dir(tmp_path, model, family, head=head, prefix=f"{family}.")
    result = load_hf(tmp_path)
    assert isinstance(result.model, model_class) and result.model.encoder is result.encoder
    assert result.report.missing == []
    inputs = random_inputs(2, 6)
    inputs["masked_lm_positions"] = np.array([[1, 2], [0, 4]], "int32")
    key = "mlm_logits" if head == "mlm" else "rtd_logits"
    np.testing.assert_allclose(result.model(inputs)[key], model(inputs)[key], atol=1e-5)


def test_sentence_transformers_layout_with_prefix_and_tokenizer_files(tmp_path):
    encoder = build_encoder(tiny_config("bert"))
    module_dir = write_hf_dir(tmp_path / "0_Transformer", encoder, "bert", prefix="bert.")
    (tmp_path / "modules.json").write_text(json.dumps([
        {"idx": 0, "name": "0", "path": "0_Transformer", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]))
    (module_dir / "vocab.txt").write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n")
    (module_dir / "tokenizer_config.json").write_text(json.dumps({"do_lower_case": False}))
    (tmp_path / "1_Pooling").mkdir()
    (tmp_path / "1_Pooling" / "config.json").write_text(json.dumps({"embedding_dimension": 16, "pooling_mode": "cls"}))
    result = load_hf(tmp_path)
    assert result.sentence_pooling.modes == ("cls",) and not result.sentence_pooling.normalize
    assert result.vocab_file == str(module_dir / "vocab.txt")
    assert result.do_lower_case is False and result.sp_model_file is None
    assert str(module_dir / "model.safetensors") in result.source_files
    inputs = random_inputs(2, 5)
    assert_outputs_close(result.encoder(inputs), encoder(inputs), atol=1e-6)


def test_missing_tensor_is_named_and_can_be_allowed(tmp_path):
    encoder = build_encoder(tiny_config("bert"))
    write_hf_dir(tmp_path, encoder, "bert", drop=["pooler.dense.weight", "pooler.dense.bias"])
    with pytest.raises(ValueError, match=r"pooler\.dense\.weight -> pooler_transform/kernel") as info:
        load_hf(tmp_path)
    assert "allow_missing" in str(info.value)
    result = load_hf(tmp_path, allow_missing=("pooler_transform",))
    assert ("pooler.dense.bias", "pooler_transform/bias") in result.report.allowed_missing
    assert "missing: pooler.dense.weight -> pooler_transform/kernel (allowed)" in result.report.summary()


def test_missing_layer_tensor_is_an_error(tmp_path):
    encoder = build_encoder(tiny_config("bert"))
    write_hf_dir(tmp_path, encoder, "bert", drop=["encoder.layer.1.attention.self.key.weight"])
    with pytest.raises(ValueError, match=r"encoder\.layer\.1\.attention\.self\.key\.weight -> "
                                         r"transformer/layer_1/self_attention/key/kernel"):
        load_hf(tmp_path)


def test_shape_mismatch_names_both_tensors_and_shapes(tmp_path):
    encoder = build_encoder(tiny_config("bert"))
    bad = np.zeros((33, 16), "float32")
    write_hf_dir(tmp_path, encoder, "bert", replace={"encoder.layer.0.intermediate.dense.weight": bad})
    with pytest.raises(ValueError) as info:
        load_hf(tmp_path)
    message = str(info.value)
    for part in ("encoder.layer.0.intermediate.dense.weight", "(33, 16)",
                 "transformer/layer_0/feedforward/intermediate/kernel", "(16, 32)"):
        assert part in message


def test_unknown_tensors_are_reported_unused(tmp_path):
    encoder = build_encoder(tiny_config("electra"))
    write_hf_dir(tmp_path, encoder, "electra", drop=["pooler.dense.weight", "pooler.dense.bias"],
                 replace={"some_other_head.weight": np.ones((2, 2), "float32")})
    result = load_hf(tmp_path)
    assert result.report.unused == ["some_other_head.weight"]
    # ELECTRA has no pooler: allowed without asking, and it stays the identity.
    assert ("pooler.dense.weight", "pooler_transform/kernel") in result.report.allowed_missing
    np.testing.assert_array_equal(result.encoder.pooler_transform.kernel.numpy(), np.eye(16))


def test_untied_output_layer_is_refused(tmp_path):
    model = EncoderWithMaskedLM(build_encoder(tiny_config("bert")))
    write_hf_dir(tmp_path, model, "bert", head="mlm", prefix="bert.",
                 replace={"cls.predictions.decoder.weight": np.ones((100, 16), "float32")})
    with pytest.raises(ValueError, match="cls.predictions.decoder.weight.*tied"):
        load_hf(tmp_path)


def test_directory_without_weights_says_what_it_expected(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps(tiny_config("bert").to_hf_config()))
    with pytest.raises(FileNotFoundError, match="model.safetensors"):
        load_hf(tmp_path)


def test_bfloat16_and_float16_weights_are_widened_to_float32(tmp_path):
    import tensorflow as tf
    from safetensors.numpy import load_file, save_file

    encoder = build_encoder(tiny_config("bert"))
    write_hf_dir(tmp_path, encoder, "bert")
    tensors = load_file(str(tmp_path / "model.safetensors"))
    # Store one tensor as float16, the rest as bfloat16 (bytes made by TensorFlow's own bfloat16 cast).
    raw = {}
    for name, value in tensors.items():
        if name == "pooler.dense.weight":
            raw[name] = value.astype("float16")
        else:
            raw[name] = tf.bitcast(tf.cast(value, tf.bfloat16), tf.uint16).numpy()
    save_file(raw, str(tmp_path / "model.safetensors"))
    # Patch the header dtype from U16 to BF16 (same width) so the file is a genuine bfloat16 file.
    data = (tmp_path / "model.safetensors").read_bytes()
    size = int.from_bytes(data[:8], "little")
    header = data[8:8 + size].replace(b'"U16"', b'"BF16"')
    header += b" " * (-len(header) % 8)  # keep the data 8-byte aligned
    (tmp_path / "model.safetensors").write_bytes(len(header).to_bytes(8, "little") + header + data[8 + size:])

    result = load_hf(tmp_path)
    for source, target in result.report.loaded:
        variable = next(v for v in result.encoder.weights if v.path == target)
        original = next(v for v in encoder.weights if v.path == target).numpy()
        expected = (original.astype("float16").astype("float32") if source == "pooler.dense.weight"
                    else tf.cast(tf.cast(original, tf.bfloat16), tf.float32).numpy())
        np.testing.assert_array_equal(variable.numpy(), expected, err_msg=source)


def test_pytorch_bin_without_torch_says_how_to_proceed(tmp_path, monkeypatch):
    (tmp_path / "config.json").write_text(json.dumps(tiny_config("bert").to_hf_config()))
    (tmp_path / "pytorch_model.bin").write_bytes(b"not read")
    monkeypatch.setitem(__import__("sys").modules, "torch", None)  # as if torch were not installed
    with pytest.raises(ImportError, match="needs torch.*safetensors"):
        load_hf(tmp_path)


def test_import_into_a_model_built_inside_a_name_scope(tmp_path, monkeypatch):
    import keras

    from official_encoders.checkpoints import hf

    encoder = build_encoder(tiny_config("bert"))
    write_hf_dir(tmp_path, encoder, "bert")

    def build_in_scope(config):
        with keras.name_scope("outer"):
            return build_encoder(config)

    monkeypatch.setattr(hf, "build_encoder", build_in_scope)
    result = load_hf(tmp_path)
    assert result.encoder.weights[0].path == "outer/word_embeddings/embeddings"
    assert result.report.missing == []
    inputs = random_inputs(2, 4)
    assert_outputs_close(result.encoder(inputs), encoder(inputs), atol=1e-6)
