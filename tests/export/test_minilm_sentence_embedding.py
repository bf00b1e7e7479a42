"""The real all-MiniLM-L6-v2: its exported `sentence_embedding` equals SentenceTransformer.encode.

A few hundred real multilingual passages, batched, both sides truncating at the model's
own max_seq_length (sentence_bert_config.json: 256).
"""

import json

import numpy as np
import pytest

from export import main_job, pipeline
from official_encoders.hub.manifest import read_manifest
from tests.preprocessors.corpus_data import read_passages

BATCH = 32


@pytest.mark.slow
def test_minilm_sentence_embedding_matches_sentence_transformers(tmp_path):
    import tensorflow as tf
    import tensorflow_hub as hub
    import tensorflow_text  # noqa: F401  (registers the preprocessor's ops)
    from sentence_transformers import SentenceTransformer

    source = main_job.minilm_dir()
    max_seq_length = json.loads((source / "sentence_bert_config.json").read_text())["max_seq_length"]
    passages = read_passages()
    texts = list(main_job.SENTENCES) + passages[:: len(passages) // 300][:300]
    summary = pipeline.run_export(pipeline.ExportOptions(
        source=f"hf:{source}", hub_root=str(tmp_path), export_type="all", seq_length=max_seq_length),
        printer=lambda m: None)
    encoder_dir, preprocess_dir = (a.path for a in summary.artifacts)
    assert read_manifest(encoder_dir)["sentence_pooling"] == {
        "modes": ["mean"], "normalize": True, "include_prompt": True}

    preprocessor, encoder = hub.load(preprocess_dir), hub.load(encoder_dir)
    ours, longest = [], 0
    for start in range(0, len(texts), BATCH):
        inputs = preprocessor(tf.constant(texts[start:start + BATCH]))
        longest = max(longest, int(tf.reduce_max(tf.reduce_sum(inputs["input_mask"], axis=1))))
        ours.append(encoder(inputs)["sentence_embedding"].numpy())
    ours = np.concatenate(ours)
    assert longest == max_seq_length  # some passages are truncated, on both sides alike

    model = SentenceTransformer(str(source), device="cpu")
    assert model.max_seq_length == max_seq_length
    reference = model.encode(texts, batch_size=BATCH, convert_to_numpy=True)
    cosine = np.sum(ours * reference, axis=1) / (np.linalg.norm(ours, axis=1) * np.linalg.norm(reference, axis=1))
    worst = int(np.argmin(cosine))
    print(f"all-MiniLM-L6-v2 sentence_embedding vs SentenceTransformer.encode on {len(texts)} texts: "
          f"min cosine {cosine.min():.7f}, mean {cosine.mean():.7f}, max abs diff "
          f"{np.abs(ours - reference).max():.2g}")
    assert cosine.min() >= 0.9999, f"cosine {cosine.min():.6f} on {texts[worst]!r}"
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, rtol=1e-5)  # the Normalize module
