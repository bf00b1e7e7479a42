"""official-encoders: Keras 3 BERT, ALBERT and ELECTRA encoders in the TF-Hub style."""

from setuptools import find_packages, setup

setup(
    name="official-encoders",
    version="0.1.0",
    description="Keras 3 BERT/ALBERT/ELECTRA encoders, TF-Hub-style preprocessors and an export pipeline.",
    python_requires=">=3.10",
    packages=find_packages(include=["official_encoders*", "preprocessors*", "export*"]),
    install_requires=[
        "tensorflow==2.21.*",
        "tensorflow-text==2.21.*",
        "tensorflow-hub==0.16.1",
        "tf-keras==2.21.*",
        # 0.2.3's generated protobuf code refuses protobuf runtimes below 7.36, and Apache Beam
        # (the beam extra) needs protobuf < 7; 0.2.2 has the same tokenizer and no such check.
        "sentencepiece<0.2.3",
        "absl-py",
        "safetensors",
        # export.serve renders model cards as HTML.
        "markdown>=3",
        # official_encoders.finetune writes TensorBoard logs (tf.summary needs it).
        "tensorboard==2.21.*",
        "numpy",
        # tensorflow_hub still imports pkg_resources, which setuptools 82 removed.
        "setuptools<81",
    ],
    extras_require={
        # Reference implementations for parity tests (CPU torch only).
        "test": [
            "pytest",
            "hypothesis",
            # tests/reliability fuzz harness (coverage-guided; falls back to a random driver without it).
            "atheris",
            "tokenizers",
            "transformers",
            "torch==2.13.0",
            "sentence-transformers",
            # Bag-of-words baseline of tests/export/test_minilm_finetune.py.
            "scikit-learn",
            # Reference for the entity-level tagging scores of official_encoders.finetune.metrics.
            "seqeval",
            # TF Model Garden (installed with --no-deps by the Makefile) imports these.
            "scipy",
            "gin-config",
            "tf-slim",
            "pyyaml",
        ],
        "bench": [
            "keras-hub",
        ],
    },
)
