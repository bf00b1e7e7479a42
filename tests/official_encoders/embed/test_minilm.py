"""encode with the real all-MiniLM-L6-v2, exported by our pipeline, against sentence-transformers."""

import time

import numpy as np
import pytest

from official_encoders.embed import SentenceEncoder
from tests.preprocessors.corpus_data import read_passages


@pytest.mark.slow  # real weights; sentence-transformers as the reference
def test_matches_sentence_transformers_on_real_multilingual_passages(tmp_path):
    from sentence_transformers import SentenceTransformer

    from export import pipeline
    from export.main_job import minilm_dir

    summary = pipeline.run_export(
        pipeline.ExportOptions(source=f"hf:{minilm_dir()}", hub_root=str(tmp_path / "hub"), export_type="model"),
        printer=lambda line: None)
    handle = summary.artifacts[0].path
    passages = read_passages()[::16]  # 351 passages spread over the whole corpus (every language)
    reference_model = SentenceTransformer(str(minilm_dir()), device="cpu")
    started = time.perf_counter()
    reference = reference_model.encode(passages, batch_size=64, convert_to_numpy=True)
    reference_seconds = time.perf_counter() - started

    encoder = SentenceEncoder(handle, batch_size=64, max_seq_length=reference_model.max_seq_length,
                              normalize=True)
    # all-MiniLM-L6-v2 is mean pooling then L2 normalisation; an export that carries its own
    # sentence_embedding output is used as it is.
    assert encoder.pooling in ("mean", "sentence_embedding")
    result = encoder.encode(passages)
    vectors = result.embeddings
    reference = reference / np.linalg.norm(reference, axis=1, keepdims=True)
    cosine = np.sum(vectors * reference, axis=1) / np.linalg.norm(vectors, axis=1)
    worst = int(np.argmin(cosine))
    assert cosine.min() >= 0.9999, f"passage {worst}: cosine {cosine[worst]:.6f}: {passages[worst][:80]!r}"
    print(f"\n{len(passages)} passages: ours {result.texts_per_second:.1f} texts/s, sentence-transformers "
          f"{len(passages) / reference_seconds:.1f} texts/s; {result.num_truncated} truncated; "
          f"min cosine {cosine.min():.7f}")
    lengths = [len(ids) for ids in reference_model.tokenizer(passages)["input_ids"]]  # with [CLS], [SEP]
    assert result.num_truncated == sum(n > reference_model.max_seq_length for n in lengths)
