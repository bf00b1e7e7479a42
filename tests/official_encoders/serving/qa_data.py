"""Question-answering test material: a tiny random Hugging Face QA model and real (question, context) pairs.

The model is `transformers.BertForQuestionAnswering` with random weights; its
qa_outputs weights are scaled up so the start/end probabilities are peaked and the
best span is well separated from the next (otherwise float rounding decides). The
pairs come from the real multilingual corpus: contexts are one passage or many
passages joined (longer than one window), questions are a few words cut from the
context or from another passage.
"""

import json
import pathlib
import random

import numpy as np

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def train_vocab(passages, directory, vocab_size=4000):
    """A cased WordPiece vocab.txt trained here with HF tokenizers on the corpus."""
    from tokenizers.implementations import BertWordPieceTokenizer

    trainer = BertWordPieceTokenizer(lowercase=False, strip_accents=False)
    trainer.train_from_iterator(passages, vocab_size=vocab_size, limit_alphabet=1500,
                                special_tokens=SPECIAL_TOKENS, show_progress=False)
    return pathlib.Path(trainer.save_model(str(directory))[0])


def write_hf_qa_model(directory, vocab_file, do_lower_case=False, seed=0, qa_scale=1.0, null_bias=0.0, **sizes):
    """Saves a random tiny BertForQuestionAnswering with its tokenizer files into `directory`.

    `null_bias` > 0 pushes segment 0 ([CLS], the question) one way along a random
    direction and segment 1 (the context) the other, and adds that direction to the
    span head: [CLS] then scores higher, so "no answer" wins on part of the pairs.
    """
    import torch
    import transformers

    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    vocab = pathlib.Path(vocab_file).read_text(encoding="utf-8").splitlines()
    config = transformers.BertConfig(
        vocab_size=len(vocab), hidden_size=sizes.get("hidden_size", 16),
        num_hidden_layers=sizes.get("num_layers", 2), num_attention_heads=sizes.get("num_heads", 2),
        intermediate_size=sizes.get("intermediate_size", 32), max_position_embeddings=512, type_vocab_size=2)
    torch.manual_seed(seed)
    model = transformers.BertForQuestionAnswering(config).eval()
    with torch.no_grad():
        model.qa_outputs.weight.normal_(0.0, qa_scale)
        model.qa_outputs.bias.normal_(0.0, qa_scale)
        if null_bias:
            direction = torch.nn.functional.normalize(torch.randn(config.hidden_size), dim=0)
            model.bert.embeddings.token_type_embeddings.weight[0] += null_bias * direction
            model.bert.embeddings.token_type_embeddings.weight[1] -= null_bias * direction
            model.qa_outputs.weight += null_bias * direction
    model.save_pretrained(str(directory), safe_serialization=True)
    (directory / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    (directory / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "BertTokenizer", "do_lower_case": do_lower_case, "strip_accents": None,
        "tokenize_chinese_chars": True, "model_max_length": 512}))
    return directory


def question_context_pairs(passages, count, long_share=0.4, long_chars=2400, seed=0):
    """`count` real (question, context) pairs; about `long_share` of the contexts are many passages joined."""
    rng = random.Random(seed)
    usable = [p for p in passages if len(p.strip()) >= 20]
    pairs = []
    for index in range(count):
        if index < long_share * count:
            parts = []
            while sum(len(p) + 1 for p in parts) < long_chars:
                parts.append(rng.choice(usable))
            context = " ".join(parts)
        else:
            context = " ".join(rng.choice(usable) for _ in range(rng.choice((1, 1, 2, 3))))
        source = context if rng.random() < 0.8 else rng.choice(usable)
        question = ""
        while not any(c.isalnum() for c in question):
            start = rng.randrange(max(1, len(source) - 30))
            question = source[start:start + rng.randrange(8, 30)].strip()
        pairs.append((question + "?", context))
    rng.shuffle(pairs)
    return pairs


def hf_question_lengths(model_dir, pairs):
    """The number of tokens of each question by Hugging Face's tokenizer."""
    import transformers

    tokenizer = transformers.AutoTokenizer.from_pretrained(str(model_dir))
    return np.array([len(tokenizer(question, add_special_tokens=False)["input_ids"]) for question, _ in pairs])


def hf_window_counts(model_dir, pairs, max_seq_length, doc_stride):
    """How many windows Hugging Face's tokenizer makes of each pair (truncation="only_second")."""
    import transformers

    tokenizer = transformers.AutoTokenizer.from_pretrained(str(model_dir))
    counts = []
    for question, context in pairs:
        encoded = tokenizer(question, context, truncation="only_second", max_length=max_seq_length,
                            stride=doc_stride, return_overflowing_tokens=True)
        counts.append(len(encoded["input_ids"]))
    return np.array(counts)


def compare_answers(pairs, ours, theirs):
    """(mismatched (pair, ours, theirs), max score difference) of two lists of answers
    ({"answer", "start", "end", "score"}); checks each of ours is its context[start:end]."""
    for (_, context), answer in zip(pairs, ours):
        assert context[answer["start"]:answer["end"]] == answer["answer"], (context, answer)
    mismatches = [(pair, a, b) for pair, a, b in zip(pairs, ours, theirs)
                  if (a["answer"], a["start"], a["end"]) != (b["answer"], b["start"], b["end"])]
    return mismatches, max(abs(a["score"] - b["score"]) for a, b in zip(ours, theirs))
