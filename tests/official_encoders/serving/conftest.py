"""Fixtures of the serving tests: the real corpus, a WordPiece vocab trained on it, tiny HF task models."""

import json
import shutil

import pytest

from tests.preprocessors.conftest import multilingual_vocab, passages  # noqa: F401  (shared fixtures)

NER_LABELS = ("O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG", "MISC")
TOPIC_LABELS = ("sport", "politics", "science")


def hf_task_directory(directory, vocab_file, model_class, labels, classifier_scale, center_on=(), seed=0,
                      **config_changes):
    """A tiny random `transformers` task model saved with its BertTokenizerFast (cased, our vocab).

    The classifier weights are multiplied by `classifier_scale`, so logits are far apart and
    the most probable label is not decided by rounding. `config_changes` go to the BertConfig. With `center_on` texts, the bias
    cancels the mean pooled output's logits on them: a random pooler varies little from
    text to text, and one label would otherwise win everywhere.
    """
    import torch
    import transformers

    torch.manual_seed(seed)
    with open(vocab_file, encoding="utf-8") as f:
        vocab_size = sum(1 for line in f if line.strip())
    config = transformers.BertConfig(
        vocab_size=vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=512, num_labels=len(labels),
        id2label=dict(enumerate(labels)), label2id={label: i for i, label in enumerate(labels)}, **config_changes)
    model = model_class(config).eval()
    with torch.no_grad():
        model.classifier.weight.mul_(classifier_scale)
    with open(vocab_file, encoding="utf-8") as f:
        vocab = {line.rstrip("\n"): i for i, line in enumerate(f) if line.strip()}
    # transformers 5: BertTokenizerFast is the `tokenizers`-backed BertTokenizer, built from `vocab`.
    tokenizer = transformers.BertTokenizerFast(vocab=vocab, do_lower_case=False, model_max_length=512)
    assert tokenizer.is_fast and tokenizer.get_vocab() == vocab
    if center_on:
        with torch.no_grad():
            pooled = model.bert(**tokenizer(list(center_on), padding=True, return_tensors="pt")).pooler_output
            model.classifier.bias.copy_(-model.classifier(pooled).mean(0) + model.classifier.bias)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    shutil.copyfile(vocab_file, directory / "vocab.txt")  # transformers 5 writes only tokenizer.json
    tokenizer_config = directory / "tokenizer_config.json"
    settings = json.loads(tokenizer_config.read_text())
    assert settings.get("do_lower_case") is False  # what our importer reads
    return directory


def compare_entities(serve, pipe, texts, several_pieces, batch=16):
    """Our token-classification outputs against a HF pipeline's entity groups, text by text.

    Args:
      serve: strings [B] -> our serving outputs as numpy arrays (`entity_group`, `start`, ...).
      pipe: `pipeline("token-classification", aggregation_strategy="simple")`.
      several_pieces: HF entity -> whether it is made of several pieces.

    Returns (entities compared, mismatched (text, ours, theirs), max score diff, entities of
    several pieces); checks each entity's `word` is its text's [start:end].
    """
    compared, mismatched, max_score_diff, multi_piece = 0, [], 0.0, 0
    for begin in range(0, len(texts), batch):
        chunk = texts[begin:begin + batch]
        out = serve(chunk)
        for i, text in enumerate(chunk):
            want = pipe(text)
            ours = [(out["entity_group"][i, j].decode(), int(out["start"][i, j]), int(out["end"][i, j]))
                    for j in range(int(out["num_entities"][i]))]
            theirs = [(e["entity_group"], e["start"], e["end"]) for e in want]
            compared += len(theirs)
            if ours != theirs:
                mismatched.append((text, ours, theirs))
                continue
            for j, entity in enumerate(want):
                max_score_diff = max(max_score_diff, abs(float(out["score"][i, j]) - float(entity["score"])))
                assert out["word"][i, j].decode() == text[entity["start"]:entity["end"]]
                multi_piece += bool(several_pieces(entity))
    return compared, mismatched, max_score_diff, multi_piece


@pytest.fixture(scope="session")
def corpus_sample(passages):  # noqa: F811
    """Every 25th real passage (224 texts, 10 to 736 characters, many scripts)."""
    return [p for p in passages[::25] if p.strip()]
