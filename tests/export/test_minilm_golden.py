"""Golden test: the exported all-MiniLM-L6-v2 pair reproduces sentence-transformers' embeddings.

Both run in this process: sentence-transformers (torch) on the bundled directory, and
our published preprocessor + encoder through hub.load, mean-pooling `sequence_output`
under `input_mask`.
"""

import numpy as np
import pytest

from export import main_job, pipeline
from tests.preprocessors.corpus_data import read_passages
from official_encoders.hub.manifest import manifest_problems, read_manifest, sha256_file


@pytest.mark.slow
def test_exported_minilm_matches_sentence_transformers(tmp_path):
    import tensorflow as tf
    import tensorflow_hub as hub
    import tensorflow_text  # noqa: F401  (registers the preprocessor's ops)
    from sentence_transformers import SentenceTransformer

    passages = [p for p in read_passages() if 20 <= len(p) <= 200][::97][:40]
    sentences = list(main_job.SENTENCES) + passages
    assert len(sentences) >= 40

    summary = pipeline.run_export(pipeline.ExportOptions(
        source=f"hf:{main_job.minilm_dir()}", hub_root=str(tmp_path), export_type="all"), printer=lambda m: None)
    encoder_dir, preprocess_dir = (a.path for a in summary.artifacts)
    # Named after its own id, not after the catalog's BERT of the same shape.
    assert summary.name == "all_minilm_l6_v2" and preprocess_dir.endswith("local/all_minilm_l6_v2_preprocess/1")
    source = read_manifest(encoder_dir)["source"]
    assert (source["identity"], source["identity_from"]) == ("sentence-transformers/all-MiniLM-L6-v2", "README.md")
    assert source["files"]["model.safetensors"] == sha256_file(main_job.minilm_dir() / "model.safetensors")
    assert manifest_problems(encoder_dir, require=True) == [] and manifest_problems(preprocess_dir, require=True) == []

    preprocessor, encoder = hub.load(preprocess_dir), hub.load(encoder_dir)
    inputs = preprocessor(tf.constant(sentences))
    assert int(tf.reduce_max(tf.reduce_sum(inputs["input_mask"], axis=1))) < 128  # nothing truncated
    ours = main_job.mean_pool(encoder(inputs)["sequence_output"], inputs["input_mask"]).numpy()

    reference = SentenceTransformer(str(main_job.minilm_dir()), device="cpu").encode(
        sentences, batch_size=16, convert_to_numpy=True)
    cosine = np.sum(ours * reference, axis=1) / (np.linalg.norm(ours, axis=1) * np.linalg.norm(reference, axis=1))
    worst = int(np.argmin(cosine))
    assert cosine.min() >= 0.9999, f"cosine {cosine.min():.6f} on {sentences[worst]!r}"
