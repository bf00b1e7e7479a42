"""Publishes hand-built SavedModels into a hub tree with export.publish, for server/resolver tests."""

import pathlib
import shutil

from export.publish.manifest import source_record, write_manifest
from export.publish.staging import stage_version
from tests.official_encoders import tiny_saved_models


def publish_saved_model(hub_root, publisher, name, version, saved_model_dir, card=None):
    """Publishes a copy of `saved_model_dir` with export.publish (MANIFEST.json, tarball, card)."""
    with stage_version(hub_root, publisher, name) as staged:
        shutil.copytree(saved_model_dir, staged.path)
        write_manifest(staged.path, artifact="encoder",
                               source=source_record("test", pathlib.Path(saved_model_dir).name, []))
        published = staged.publish(
            version=version,
            render_card=lambda n: card or f"# {publisher}/{name}\n\nVersion {n}.\n")
    return published.path


def make_tiny_hub(hub_root, work_dir, publisher="tiny", name="encoder", seeds=(0, 1)):
    """One hand-built encoder per seed, published as versions 1, 2, ..."""
    for version, seed in enumerate(seeds, start=1):
        source = tiny_saved_models.save_hand_built_encoder(
            pathlib.Path(work_dir) / f"{name}-{seed}", seed=seed)
        publish_saved_model(
            hub_root, publisher, name, version, source,
            card=(f"# Tiny encoder v{version}\n\n<!-- asset-path: {name}/{version} -->\n"
                  f"A hand-built encoder, seed `{seed}`.\n\n- hidden size 8\n"))
    return pathlib.Path(hub_root)


def export_tiny_bert(hub_root, work_dir, seq_length=16):
    """A tiny real BERT (+MLM) and its WordPiece preprocessor, exported by `python -m export`'s pipeline.

    Returns (result, encoder_dir, preprocessor_dir): `result` is the source
    official_encoders.checkpoints.ImportResult (the Keras 3 model the export was made from).
    """
    from export import pipeline
    from official_encoders.checkpoints.tf2 import save_pretrained
    from tests.export import tiny_models

    work_dir = pathlib.Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    vocab = tiny_models.write_vocab(work_dir)
    result = tiny_models.tiny_result("bert", "mlm", vocab_file=vocab)
    source = save_pretrained(result, work_dir / "tf2")
    summary = pipeline.run_export(
        pipeline.ExportOptions(source=f"tf2:{source}", hub_root=str(hub_root), export_type="all",
                               publisher="test", name="tiny_bert", seq_length=seq_length),
        printer=lambda line: None)
    encoder, preprocessor = summary.artifacts
    return result, encoder.path, preprocessor.path
