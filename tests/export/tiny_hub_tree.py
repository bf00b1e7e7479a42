"""Builds a tiny hub tree (DESIGN.md layout) from hand-built SavedModels, for server/resolver tests."""

import hashlib
import json
import pathlib
import shutil
import tarfile

from tests.official_encoders import tiny_saved_models


def _sha256(path):
    return hashlib.sha256(pathlib.Path(path).read_bytes()).hexdigest()


def publish_saved_model(hub_root, publisher, name, version, saved_model_dir, card=None):
    """Copies `saved_model_dir` into the tree as `version`, with MANIFEST.json, tarball and card."""
    hub_root = pathlib.Path(hub_root)
    version_dir = hub_root / publisher / name / str(version)
    shutil.copytree(saved_model_dir, version_dir)
    files = {}
    for path in sorted(p for p in version_dir.rglob("*") if p.is_file()):
        files[path.relative_to(version_dir).as_posix()] = {
            "sha256": _sha256(path), "size": path.stat().st_size}
    (version_dir / "MANIFEST.json").write_text(json.dumps({"files": files}, indent=2))
    tarball = hub_root / publisher / name / f"{version}.tar.gz"
    with tarfile.open(tarball, "w:gz") as tar:
        for path in sorted(version_dir.rglob("*"),
                           key=lambda p: (len(p.relative_to(version_dir).parts), str(p))):
            tar.add(path, arcname=path.relative_to(version_dir).as_posix(), recursive=False)
    card_path = hub_root / "docs" / publisher / "models" / name / f"{version}.md"
    card_path.parent.mkdir(parents=True, exist_ok=True)
    card_path.write_text(card or f"# {publisher}/{name}\n\nVersion {version}.\n")
    return version_dir


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
