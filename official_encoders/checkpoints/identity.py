"""What a source calls itself: a Hugging Face model id or a directory name, never a machine path.

The exporter names a model after its source's identity and records it in MANIFEST.json
instead of the path the source was read from. Each importer reads it with one of
these functions; `official_encoders.hub.layout.hub_style_name` turns it into a name.
"""

import dataclasses
import json
import os
import pathlib
import re

# "org/name" or "name", as the Hugging Face hub spells model ids.
_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?$")
# The id a sentence-transformers model card loads itself by, in its usage example.
_CARD_LOAD = re.compile(r"""(?:SentenceTransformer|from_pretrained)\(\s*["']([^"']+)["']""")
# The Hugging Face cache: .../models--<org>--<name>/snapshots/<revision>/.
_HF_CACHE_DIR = re.compile(r"^models--(.+)$")


@dataclasses.dataclass(frozen=True)
class SourceIdentity:
    """A source's own name (`id`) and where it was read (`read_from`, e.g. "README.md")."""

    id: str
    read_from: str


def looks_like_hub_id(text):
    """Whether `text` is a Hugging Face model id ("org/name" or "name") rather than a local path."""
    text = str(text or "")
    return bool(_HUB_ID.match(text)) and not text.startswith((".", "~")) and not os.path.isabs(text)


def directory_identity(directory):
    """The identity of a model directory by its name; inside the Hugging Face cache, the cached id."""
    path = pathlib.Path(os.path.abspath(os.fspath(directory)))
    for part in (path, *path.parents):
        cached = _HF_CACHE_DIR.match(part.name)
        if cached:
            return SourceIdentity(cached.group(1).replace("--", "/"), "the Hugging Face cache directory name")
    return SourceIdentity(path.name, "the directory name")


def hf_identity(root, model_dir):
    """The identity of a Hugging Face or sentence-transformers directory.

    In order: the Hugging Face cache directory name; for a sentence-transformers
    directory, the id its README.md loads it by; for a plain Hugging Face
    directory, config.json's `_name_or_path` when it is a hub id (not a local
    path); the directory name. A sentence-transformers config.json is skipped: its
    `_name_or_path` names the base model it was trained from (all-MiniLM-L6-v2's
    says nreimers/MiniLM-L6-H384-uncased), a different model.

    Args:
      root: the directory given as the source.
      model_dir: the directory holding config.json (`root` or its Transformer module).

    Example:

        hf_identity(minilm_dir(), minilm_dir())
        # SourceIdentity(id='sentence-transformers/all-MiniLM-L6-v2', read_from='README.md')
    """
    root, model_dir = pathlib.Path(root), pathlib.Path(model_dir)
    from_directory = directory_identity(root)
    if from_directory.read_from != "the directory name":
        return from_directory
    if (root / "modules.json").exists():
        readme = root / "README.md"
        if readme.is_file():
            for found in _CARD_LOAD.finditer(readme.read_text(encoding="utf-8", errors="replace")):
                if looks_like_hub_id(found.group(1)):
                    return SourceIdentity(found.group(1), "README.md")
        return from_directory
    config = model_dir / "config.json"
    if config.is_file():
        name = json.loads(config.read_text(encoding="utf-8")).get("_name_or_path")
        if looks_like_hub_id(name):
            return SourceIdentity(name, "config.json _name_or_path")
    return from_directory
