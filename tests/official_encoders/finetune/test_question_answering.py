"""QuestionAnsweringTask on a tiny WordPiece vocabulary and a tiny span model: windows, loss, evaluation, training."""

import json
import random

import keras
import numpy as np
import pytest
import tensorflow as tf

from official_encoders import build_encoder
from official_encoders.finetune.metrics import normalize_answer, squad_exact_match_and_f1
from official_encoders.finetune.params import FinetuneParams
from official_encoders.finetune import question_answering as qa
from official_encoders.finetune.question_answering import QuestionAnsweringTask
from official_encoders.finetune.readers import QuestionExample
from official_encoders.finetune.task_base import RunText
from official_encoders.finetune.training import make_train_step
from official_encoders.serving.question_answering import QuestionAnsweringServer
from preprocessors.wordpiece import BertWordpieceTokenizer, read_vocab
from tests.common.ids_only_tokenizer import IdsOnlyTokenizer
from tests.common.tiny_configs import tiny_config
from tests.common.tiny_vocab import write_vocab
from tests.preprocessors.conftest import tiny_sp_model  # noqa: F401  (a fixture)

# Answers are made of ANSWER_WORDS, contexts of FILLER too, so each answer occurs once in its context.
ANSWER_WORDS = "guitar stage sofa morning recipe flour password zebra".split()  # zebra: z ##e ##b ##r ##a
FILLER = "the quick brown fox jumps over lazy dog hello world a man is playing on cat sleeps all".split()
QUESTION_WORDS = "how do i reset my two cups of".split()
SETTINGS = dict(seq_length=32, doc_stride=8, max_query_length=8, max_answer_length=6, n_best_size=5)


def make_examples(count, seed, unanswerable_every=0):
    """Questions on contexts of 20 to 60 words (one to several windows) with a 1-3 word answer, at random."""
    rng = random.Random(seed)
    examples = []
    for number in range(count):
        words = [rng.choice(FILLER) for _ in range(rng.randint(20, 60))]
        words = [w.capitalize() if rng.random() < 0.2 else w + rng.choice(",.!?") if rng.random() < 0.1 else w
                 for w in words]
        answer_words = rng.sample(ANSWER_WORDS, rng.randint(1, 3))
        at = rng.randint(0, len(words))
        before = " ".join(words[:at])
        answer = " ".join(answer_words)
        context = " ".join(filter(None, [before, answer, " ".join(words[at:])]))
        start = len(before) + 1 if before else 0
        assert context[start:start + len(answer)] == answer
        question = " ".join(rng.choice(QUESTION_WORDS) for _ in range(rng.randint(2, 10))) + "?"
        unanswerable = unanswerable_every and number % unanswerable_every == 0
        examples.append(QuestionExample(f"q{number}", question, context, () if unanswerable else ((answer, start),)))
    return examples


def make_task(**changes):
    params = FinetuneParams(batch_size=8, seed=3, seq_length=SETTINGS["seq_length"])
    for name, value in dict(SETTINGS, **changes).items():
        setattr(params, name, value)
    return QuestionAnsweringTask(params)


@pytest.fixture(scope="module")
def parts(tmp_path_factory):
    vocab_file = str(write_vocab(tmp_path_factory.mktemp("qa_vocab")))
    tokenizer = BertWordpieceTokenizer(vocab_file, do_lower_case=True)
    text = RunText(packer=None, tokenizer=tokenizer, vocab_file=vocab_file, do_lower_case=True)
    return text, read_vocab(vocab_file)


def decode(vocab, ids):
    words = []
    for token in (vocab[i] for i in ids):
        if token.startswith("##") and words:
            words[-1] += token[2:]
        else:
            words.append(token)
    return " ".join(words)


def contains(sequence, part):
    return any(list(sequence[i:i + len(part)]) == list(part) for i in range(len(sequence) - len(part) + 1))


def answer_ids(tokenizer, examples):
    """The token ids of each question's first answer (empty when unanswerable)."""
    texts = [e.answers[0][0] if e.answers else "" for e in examples]
    return [ids.numpy() for ids in tokenizer.tokenize(tf.constant(texts))]


@pytest.mark.parametrize("version_2", [False, True])
def test_targets_point_at_the_answer_and_windows_without_it_are_dropped_or_learn_cls(parts, version_2):
    text, vocab = parts
    examples = make_examples(40, seed=1, unanswerable_every=5 if version_2 else 0)
    answers = answer_ids(text.tokenizer, examples)
    task = make_task(version_2_with_negative=version_2)
    windows = task.windows(examples, text)
    assert windows["input_word_ids"].shape == (len(windows["example"]), SETTINGS["seq_length"])
    # Every window of every question, cut as the server cuts them; v1.1 keeps those that hold the answer.
    all_windows = make_task(version_2_with_negative=True).windows(examples, text)
    per_question = np.bincount(all_windows["example"], minlength=len(examples))
    assert per_question.max() >= 3 and per_question.min() == 1  # multi-window contexts, and single ones
    holds, cut = [], 0
    for row, index in enumerate(all_windows["example"]):
        types = all_windows["input_type_ids"][row]
        context_ids = all_windows["input_word_ids"][row][types == 1][:-1]  # without the last [SEP]
        holds.append(bool(examples[index].answers) and contains(context_ids, answers[index]))
        cut += bool(examples[index].answers) and not holds[-1] and bool(set(answers[index]) & set(context_ids))
    holds = np.array(holds)
    assert holds.any() and cut  # answers held by a window, and answers cut by a window's edge
    kept = np.ones_like(holds) if version_2 else holds
    np.testing.assert_array_equal(windows["example"], all_windows["example"][kept])
    np.testing.assert_array_equal(windows["input_word_ids"], all_windows["input_word_ids"][kept])
    for row, (index, holds_answer) in enumerate(zip(windows["example"], holds[kept])):
        start, end = windows["start_positions"][row], windows["end_positions"][row]
        if not holds_answer:
            assert version_2 and start == end == 0
        else:
            assert 0 < start <= end
            decoded = decode(vocab, windows["input_word_ids"][row][start:end + 1])
            assert normalize_answer(decoded) == normalize_answer(examples[index].answers[0][0])


def test_windows_in_several_traced_batches_equal_one_eager_batch(parts, monkeypatch):
    text, _ = parts
    examples = make_examples(20, seed=8, unanswerable_every=3)
    task = make_task(version_2_with_negative=True)
    eager = task.windows(examples, text)
    monkeypatch.setattr(qa, "_FEATURE_BATCH", 6)
    traced = task.windows(examples, text)
    assert sorted(traced) == sorted(eager)
    for key in eager:
        np.testing.assert_array_equal(traced[key], eager[key], err_msg=key)


def test_the_dataset_is_batched_padded_and_shuffled_by_seed(parts):
    text, _ = parts
    examples = make_examples(12, seed=2)
    task = make_task()
    windows = task.windows(examples, text)
    train = [b for b in task.dataset(examples, text, None, training=True)]
    again = [b for b in make_task().dataset(examples, text, None, training=True)]
    evaluation = [b for b in task.dataset(examples, text, None, training=False)]
    assert sorted(train[0][0]) == ["input_mask", "input_type_ids", "input_word_ids"]
    assert all(b[0]["input_word_ids"].shape[1] == SETTINGS["seq_length"] for b in train)
    assert max(len(b[1]["start_positions"]) for b in train) == 8
    order = lambda batches: np.concatenate([b[1]["start_positions"] * 1000 + b[1]["end_positions"] for b in batches])
    np.testing.assert_array_equal(order(evaluation), windows["start_positions"] * 1000 + windows["end_positions"])
    np.testing.assert_array_equal(order(train), order(again))
    assert sorted(order(train)) == sorted(order(evaluation)) and list(order(train)) != list(order(evaluation))


def test_loss_is_the_mean_of_start_and_end_cross_entropy_per_window():
    rng = np.random.default_rng(0)
    start_logits, end_logits = rng.normal(size=(2, 5, 7)).astype("float32") * 3
    starts, ends = rng.integers(0, 7, 5), rng.integers(0, 7, 5)

    def cross_entropy(logits, labels):
        shifted = logits - logits.max(-1, keepdims=True)
        log_softmax = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
        return -log_softmax[np.arange(len(labels)), labels]

    loss_sum, weight = make_task().loss({"start_positions": tf.constant(starts), "end_positions": tf.constant(ends)},
                                        {"start_logits": tf.constant(start_logits),
                                         "end_logits": tf.constant(end_logits)})
    expected = (cross_entropy(start_logits, starts) + cross_entropy(end_logits, ends)) / 2
    np.testing.assert_allclose(float(loss_sum), expected.sum(), rtol=1e-5)
    assert float(weight) == 5.0


def null_leaning(model, question_marker):
    """`model` with [CLS] made the likely start and end on windows whose question has `question_marker`."""

    def call(inputs, training=False):
        outputs = model(inputs, training=training)
        boost = tf.reduce_any(tf.equal(inputs["input_word_ids"], question_marker), axis=1, keepdims=True)
        at_cls = tf.one_hot(tf.zeros_like(inputs["input_word_ids"][:, 0]), tf.shape(inputs["input_word_ids"])[1])
        return {k: v + 30.0 * at_cls * tf.cast(boost, tf.float32) for k, v in outputs.items()}

    return call


@pytest.mark.parametrize("version_2", [False, True])
def test_evaluation_answers_as_the_server_and_writes_squad_files(parts, tmp_path, version_2):
    text, vocab = parts
    task = make_task(version_2_with_negative=version_2)
    keras_model = task.build_model(build_encoder(tiny_config("bert", max_position_embeddings=64)), None)
    model = null_leaning(keras_model, vocab.index("cups")) if version_2 else keras_model
    examples = make_examples(45, seed=4, unanswerable_every=4 if version_2 else 0)
    if version_2:
        examples.append(QuestionExample("empty", "how do i?", "", ()))
    scores = task.evaluate(model, examples, text, None, str(tmp_path))

    server = QuestionAnsweringServer(model, text.tokenizer, max_seq_length=SETTINGS["seq_length"],
                                     doc_stride=SETTINGS["doc_stride"], max_query_length=SETTINGS["max_query_length"],
                                     max_answer_length=SETTINGS["max_answer_length"],
                                     version_2_with_negative=version_2)
    served = server(tf.constant([e.question for e in examples]), tf.constant([e.context for e in examples]))
    expected = {e.id: a.decode() for e, a in zip(examples, served["answer"].numpy())}
    predictions = json.loads((tmp_path / "predictions.json").read_text())
    assert predictions == expected
    empty = sum(not a for a in expected.values())
    assert (0 < empty < len(examples) - 5) if version_2 else empty == 0  # "no answer" wins on some, not all
    gold = {e.id: [a for a, _ in e.answers] for e in examples}
    assert scores == squad_exact_match_and_f1(expected, gold, version="2.0" if version_2 else "1.1")
    assert task.monitor in scores and ("HasAns_f1" in scores) == version_2

    nbest = json.loads((tmp_path / "nbest_predictions.json").read_text())
    assert set(nbest) == set(expected)
    for qid, entries in nbest.items():
        assert 1 <= len(entries) <= SETTINGS["n_best_size"]
        assert entries[0]["text"] == expected[qid]
        probabilities = [e["probability"] for e in entries]
        assert probabilities == sorted(probabilities, reverse=True)
        assert sum(probabilities) <= 1 + 1e-6 and min(probabilities) >= 0
        assert all(sorted(e) == ["end_logit", "probability", "start_logit", "text"] for e in entries)
        texts = [e["text"].lower() for e in entries]
        assert len(set(texts)) == len(texts)
        context = next(e.context for e in examples if e.id == qid)
        assert all(e["text"] in context for e in entries)
    assert any(len(entries) == SETTINGS["n_best_size"] for entries in nbest.values())


def test_a_few_training_steps_lower_the_loss(parts):
    text, _ = parts
    keras.utils.set_random_seed(0)
    task = make_task(version_2_with_negative=True)
    examples = make_examples(24, seed=5, unanswerable_every=6)
    strategy = tf.distribute.get_strategy()
    with strategy.scope():
        model = task.build_model(build_encoder(tiny_config("bert", max_position_embeddings=64)), None)
        optimizer = keras.optimizers.Adam(3e-3)
    dataset = task.dataset(examples, text, None, training=True)

    def mean_loss():
        sums = [task.loss(targets, model(inputs, training=False))
                for inputs, targets in task.dataset(examples, text, None, training=False)]
        return sum(float(s) for s, _ in sums) / sum(float(w) for _, w in sums)

    before = mean_loss()
    step = make_train_step(model, task.loss, optimizer, strategy)
    for _ in range(2):
        for inputs, targets in strategy.experimental_distribute_dataset(dataset):
            step(inputs, targets)
    after = mean_loss()
    assert after < 0.8 * before, (before, after)


def test_tokenizers_without_offsets_and_runs_without_a_tokenizer_are_refused(parts, tiny_sp_model):  # noqa: F811
    from preprocessors.sentencepiece import AlbertSentencepieceTokenizer

    text, _ = parts
    task = make_task()
    examples = make_examples(2, seed=6)
    albert = AlbertSentencepieceTokenizer(tiny_sp_model, True)
    ids_only = RunText(packer=None, tokenizer=IdsOnlyTokenizer(albert))
    with pytest.raises(ValueError, match="IdsOnlyTokenizer has no tokenize_words_with_offsets.*"
                                         "WordPiece or SentencePiece"):
        task.dataset(examples, ids_only, None, training=True)
    with pytest.raises(ValueError, match="no tokenize_words_with_offsets"):
        task.serving_module(lambda inputs, training=False: inputs, ids_only, None)
    # SentencePiece gives word offsets, so ALBERT question answering is accepted.
    windows = task.dataset(examples, RunText(packer=None, tokenizer=albert), None, training=False)
    assert next(iter(windows))[0]["input_word_ids"].shape[0] > 0
    with pytest.raises(ValueError, match="only a preprocessing SavedModel.*--vocab_file"):
        task.dataset(examples, RunText(packer=None), None, training=False)
    with pytest.raises(ValueError, match="doc_stride 30 leaves the windows no room"):
        make_task(doc_stride=30).dataset(examples, text, None, training=True)


def test_settings_and_serving_module_carry_the_run_settings(parts):
    text, _ = parts
    task = make_task(version_2_with_negative=True)
    assert task.settings() == dict(SETTINGS, version_2_with_negative=True)
    assert task.label_names(make_examples(2, seed=7)) is None
    server = task.serving_module(lambda inputs, training=False: inputs, text, None)
    assert server.settings == {"max_seq_length": 32, "doc_stride": 8, "max_query_length": 8,
                               "max_answer_length": 6, "version_2_with_negative": True}
    assert server.input_names == ("question", "context")
    assert server.serving_function().input_signature[0].name == "question"
    # Params without the task's fields (the runner's older FinetuneParams) get the defaults.
    defaults = QuestionAnsweringTask(FinetuneParams(seq_length=384)).settings()
    assert defaults == {"seq_length": 384, "doc_stride": 128, "max_query_length": 64, "max_answer_length": 15,
                        "version_2_with_negative": False, "n_best_size": 20}


def test_read_follows_version_2_with_negative_and_skip_bad_examples(tmp_path):
    from official_encoders.finetune.readers import BadExampleError

    path = tmp_path / "squad.json"
    path.write_text(json.dumps({"data": [{"title": "t", "paragraphs": [{"context": "a man is playing guitar", "qas": [
        {"id": "a", "question": "who plays?", "answers": [{"text": "a man", "answer_start": 0}]},
        {"id": "b", "question": "why?", "answers": [], "is_impossible": True}]}]}]}))
    with pytest.raises(BadExampleError, match="id 'b'.*need --version_2_with_negative"):
        make_task().read(str(path))
    skipping = make_task()
    skipping.params.skip_bad_examples = True
    result = skipping.read(str(path))
    assert [e.id for e in result.examples] == ["a"] and len(result.skipped) == 1
    both = make_task(version_2_with_negative=True).read(str(path)).examples
    assert [(e.id, e.answers) for e in both] == [("a", (("a man", 0),)), ("b", ())]
