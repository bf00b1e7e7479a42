"""--init_checkpoint=hf:<fine-tuned Hugging Face classifier>: its head is kept when the label set
matches (in the checkpoint's label order) and replaced when it does not."""

import numpy as np
import pytest
import tensorflow as tf

from official_encoders.finetune.params import FinetuneParams
from official_encoders.finetune.run import run
from tests.common.tiny_vocab import SPECIALS
from tests.official_encoders.finetune.sentence_data import FILLER, NEGATIVE, POSITIVE, write_single
from tests.official_encoders.serving.conftest import hf_task_directory

HF_LABELS = ("pos", "neg")  # not sorted: the kept head must keep this order


@pytest.fixture()
def hf_classifier(tmp_path):
    """A tiny random fine-tuned classifier whose vocabulary holds every word of the data."""
    import transformers

    vocab = tmp_path / "vocab.txt"
    vocab.write_text("\n".join(SPECIALS + list(FILLER + POSITIVE + NEGATIVE)) + "\n", encoding="utf-8")
    dev = write_single(tmp_path / "dev.tsv", 12, 2)
    # Centred on the dev texts, so both labels win somewhere (a random pooler varies little).
    return hf_task_directory(tmp_path / "hf", vocab, transformers.BertForSequenceClassification, HF_LABELS,
                             classifier_scale=100.0, center_on=_texts(dev),
                             hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)


def _texts(path):
    return [line.split("\t")[0] for line in open(path).read().splitlines()[1:]]


def _run(source, tmp_path, train, dev):
    # A learning rate of 1e-9 leaves the weights as they came, so the run serves the checkpoint.
    return run(FinetuneParams(init_checkpoint=f"hf:{source}", train_data=train, eval_data=dev,
                              model_dir=str(tmp_path / "run"), epochs=1, batch_size=8, seq_length=16,
                              learning_rate=1e-9, dropout=0.0), verbose=0)


def test_a_matching_head_is_kept_and_serves_as_the_hugging_face_model(hf_classifier, tmp_path):
    import torch
    import transformers

    train = write_single(tmp_path / "train.tsv", 16, 1)
    dev = str(tmp_path / "dev.tsv")  # written by the fixture
    summary = _run(hf_classifier, tmp_path, train, dev)
    assert any("head is kept" in note for note in summary["notes"]), summary["notes"]
    assert summary["labels"] == list(HF_LABELS)

    texts = _texts(dev)
    reference = transformers.BertForSequenceClassification.from_pretrained(str(hf_classifier)).eval()
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(hf_classifier))
    with torch.no_grad():
        expected = torch.softmax(reference(**tokenizer(texts, padding=True, return_tensors="pt")).logits,
                                 -1).numpy()
    served = tf.saved_model.load(summary["export_dir"]).signatures["serving_default"](text=tf.constant(texts))
    np.testing.assert_allclose(served["probabilities"].numpy(), expected, atol=1e-4)
    assert [label.decode() for label in served["label"].numpy()] == [HF_LABELS[i] for i in expected.argmax(-1)]
    assert len(set(expected.argmax(-1))) == 2  # both labels occur, so the order is checked


def test_a_head_with_other_labels_is_replaced_and_says_so(hf_classifier, tmp_path):
    train = write_single(tmp_path / "train.tsv", 16, 1)
    with open(train) as f:
        relabelled = f.read().replace("\tpos\n", "\tgood\n").replace("\tneg\n", "\tbad\n")
    (tmp_path / "relabelled.tsv").write_text(relabelled)
    summary = _run(hf_classifier, tmp_path, str(tmp_path / "relabelled.tsv"), None)
    assert summary["labels"] == ["bad", "good"]
    assert any("has labels ['pos', 'neg']" in note and "new head" in note for note in summary["notes"]), \
        summary["notes"]
