"""One name, one architecture: a new version's config must equal its latest version's.

The versions of a name are one model's history (fine-tuned weights, fixes); a
different architecture is a different model and gets its own name. The export checks
this before it starts and again under the publish lock, where no other export can
publish in between; `--allow_config_change` lets a change through on purpose.
"""

import json
import re

from official_encoders.hub.layout import latest_version_dir
from official_encoders.hub.manifest import MANIFEST_NAME, read_manifest

ALLOW_FLAG = "--allow_config_change"
# Short name parts for the fields that say what shape a model has, as in "..._L-6_H-384_A-12".
_NAME_PARTS = {"family": "{}", "num_layers": "l{}", "hidden_size": "h{}", "num_heads": "a{}",
               "intermediate_size": "i{}", "vocab_size": "vocab{}", "max_position_embeddings": "pos{}"}


class ConfigChangedError(ValueError):
    """A new version whose config differs from the latest published version of its name."""


def config_changes(hub_root, publisher, name, config):
    """(latest version, [(field, published value, new value), ...]) for `name`'s newest version.

    (None, []) when nothing is published under `name` yet; (version, []) when that version
    records no config (a hand-made version without MANIFEST.json, or one without "config").
    """
    latest = latest_version_dir(hub_root, publisher, name)
    if latest is None:
        return None, []
    if not (latest / MANIFEST_NAME).is_file():
        return int(latest.name), []
    published = read_manifest(latest).get("config")
    if published is None:
        return int(latest.name), []
    new = json.loads(json.dumps(config))  # the form it takes in MANIFEST.json (tuples become lists)
    changes = [(field, published.get(field), new.get(field)) for field in sorted(set(published) | set(new))
               if published.get(field) != new.get(field)]
    return int(latest.name), changes


def describe(changes):
    """"num_layers 6 -> 4, hidden_size 384 -> 256"."""
    return ", ".join(f"{field} {old} -> {new}" for field, old, new in changes)


def suggested_name(name, changes):
    """`name` plus what tells the new architecture apart, e.g. all_minilm_l6_v2_l4_h256."""
    parts = [_NAME_PARTS.get(field, field + "_{}").format(new) for field, _, new in changes[:3]]
    return name + "_" + re.sub(r"[^A-Za-z0-9]+", "_", "_".join(parts)).strip("_").lower()


def require_same_config(hub_root, publisher, name, config, export_name=None):
    """Raises ConfigChangedError naming the differing fields and a new name, if the config changed.

    Args:
      hub_root, publisher, name: the version line to check (`name` as published, e.g. "m_preprocess").
      config: the new version's `EncoderConfig.to_dict()`.
      export_name: the `--name` the suggestion is built on (default `name`).

    Example:

        require_same_config("hub", "local", "all_minilm_l6_v2", config.to_dict())
    """
    version, changes = config_changes(hub_root, publisher, name, config)
    if changes:
        raise ConfigChangedError(
            f"{publisher}/{name} version {version} has another architecture ({describe(changes)}); the "
            f"versions of one name share one config. Publish this model under a new name, e.g. "
            f"--name={suggested_name(export_name or name, changes)}, or pass {ALLOW_FLAG} to add it to "
            "this name on purpose.")
