"""`--task=question_answering`: SQuAD v1.1/v2.0 span extraction on doc-stride windows.

Training and evaluation cut windows as the served model does
(`official_encoders.serving.question_answering.context_windows`), and evaluation
answers through the serving module itself (`QuestionAnsweringServer`), so the
published model gives the answers the final evaluation scored.
"""

import json
import os

import numpy as np
import tensorflow as tf

from official_encoders.finetune import metrics
from official_encoders.finetune.readers import read_squad
from official_encoders.finetune.task_base import FinetuneTask
from official_encoders.serving import span_selection
from official_encoders.serving.question_answering import (QuestionAnsweringServer, context_windows,
                                                          require_word_offsets)
from official_encoders.tasks import build_task_model
from official_encoders.tasks.names import QUESTION_ANSWERING
from preprocessors.packing import INPUT_KEYS
from preprocessors.qa_windows import check_window_settings

# The settings of this task, with their defaults, by their FinetuneParams names.
SETTING_DEFAULTS = {"doc_stride": 128, "max_query_length": 64, "max_answer_length": 15,
                    "version_2_with_negative": False, "n_best_size": 20}
TARGET_KEYS = ("start_positions", "end_positions")
_FEATURE_BATCH = 256  # questions tokenized and windowed at a time
_EVAL_BATCH = 32  # questions answered at a time


def _byte_offset(text, characters):
    """The UTF-8 byte offset of character `characters` of `text`."""
    return len(text[:characters].encode("utf-8", "replace"))


def _same(cached, key):
    """Whether a cache key (objects, then settings) is `key`: the same objects and equal settings."""
    return cached is not None and all(a is b for a, b in zip(cached[:-1], key[:-1])) and cached[-1] == key[-1]


class QuestionAnsweringTask(FinetuneTask):
    """Fine-tunes a span model (`SpanLabeler`) on SQuAD-format questions.

    Windows are `[CLS] question [SEP] context piece [SEP]`, `params.seq_length` tokens,
    consecutive windows sharing `doc_stride` context tokens. A window's targets are the
    first and last token of the question's (first) answer; a window that does not hold
    the whole answer, and every window of an unanswerable question, learns [CLS]
    (position 0) with `version_2_with_negative` and is dropped without it. The loss is
    Hugging Face's: the mean of the start and end cross-entropies of each window.

    Evaluation answers every question through the `QuestionAnsweringServer` that
    `serving_module` exports, writes `predictions.json` and `nbest_predictions.json`,
    and returns SQuAD exact match and F1.

    Args:
      params: a `FinetuneParams`; reads `seq_length`, `batch_size`, `seed`,
        `skip_bad_examples` and the settings of `SETTING_DEFAULTS`.

    Example:

        task = QuestionAnsweringTask(params)
        train = task.read(params.train_data).examples
        model = task.build_model(encoder, None)
        dataset = task.dataset(train, text, None, training=True)
        scores = task.evaluate(model, task.read(params.eval_data).examples, text, None, "/tmp/eval")
    """

    name = "question_answering"
    model_task = QUESTION_ANSWERING
    monitor = "f1"

    def setting(self, name):
        """A task setting from the params, or its default when the params predate it."""
        return getattr(self.params, name, SETTING_DEFAULTS[name])

    def read(self, path):
        return read_squad(path, version_2_with_negative=self.setting("version_2_with_negative"),
                          skip_bad_examples=getattr(self.params, "skip_bad_examples", False))

    def label_names(self, train_examples):
        return None

    def build_model(self, encoder, label_names):
        return build_task_model(self.model_task, encoder)

    def _tokenizer(self, text):
        if text.tokenizer is None:
            raise ValueError(
                "question_answering needs the run's tokenizer to map answers to character offsets, but this run "
                "has only a preprocessing SavedModel (--preprocess_url). Drop --preprocess_url and give the "
                "vocabulary instead (--vocab_file, or an encoder that carries its vocabulary).")
        require_word_offsets(text.tokenizer)
        return text.tokenizer

    # ------------------------------------------------------------------ training windows

    def windows(self, examples, text):
        """The windows of `examples` with their targets, as numpy arrays.

        Returns a dict: the encoder inputs [windows, seq_length] int32, `start_positions`
        and `end_positions` [windows] int32, and `example` [windows], the index in
        `examples` of each window's question. Windows dropped for v1.1 are not in it.
        """
        tokenizer = self._tokenizer(text)
        seq_length = self.params.seq_length
        version_2 = self.setting("version_2_with_negative")
        featurize = self._featurizer(tokenizer, traced=len(examples) > _FEATURE_BATCH)
        padding = int(tokenizer.special_ids["padding_id"])
        parts = {k: [] for k in (*INPUT_KEYS, *TARGET_KEYS, "example")}
        for first in range(0, len(examples), _FEATURE_BATCH):
            batch = examples[first:first + _FEATURE_BATCH]
            out = {k: v.numpy() for k, v in featurize(tf.constant([e.question for e in batch]),
                                                      tf.constant([e.context for e in batch])).items()}
            width = out["input_word_ids"].shape[1]
            for key in INPUT_KEYS:
                fill = padding if key == "input_word_ids" else 0
                parts[key].append(np.pad(out[key], [[0, 0], [0, seq_length - width]], constant_values=fill))
            targets = [self._targets(batch[e], out["context_piece"][w], out["piece_start"], out["piece_end"])
                       for w, e in enumerate(out["window_example"])]
            kept = np.array([t is not None or version_2 for t in targets], bool)
            for key in INPUT_KEYS:
                parts[key][-1] = parts[key][-1][kept]
            spans = np.array([t or (0, 0) for t, k in zip(targets, kept) if k], np.int32).reshape(-1, 2)
            parts["start_positions"].append(spans[:, 0])
            parts["end_positions"].append(spans[:, 1])
            parts["example"].append(out["window_example"][kept] + first)
        return {k: np.concatenate(v) for k, v in parts.items()}

    def _featurizer(self, tokenizer, traced):
        """(questions, contexts) -> windows with piece offsets. Traced once per task and tokenizer
        when there are several batches; a single batch runs eagerly, as tracing costs more."""
        settings = (self.params.seq_length, self.setting("doc_stride"), self.setting("max_query_length"))
        check_window_settings(*settings)

        def featurize(question, context):
            windows = context_windows(tokenizer, tokenizer.tokenize(question), context, *settings)
            keys = (*INPUT_KEYS, "window_example", "context_piece", "piece_start", "piece_end")
            return {k: windows[k] for k in keys}

        if not traced:
            return featurize
        key = (tokenizer, settings)
        if not _same(getattr(self, "_traced_featurizer", (None, None))[0], key):
            self._traced_featurizer = key, tf.function(featurize, input_signature=[tf.TensorSpec([None], tf.string)] * 2)
        return self._traced_featurizer[1]

    @staticmethod
    def _targets(example, context_piece, piece_start, piece_end):
        """(first token, last token) of the answer in one window, or None when it is not all in it.

        As Hugging Face's run_qa: the window must reach from the answer's first character
        to its last; the start is the last token starting at or before the answer, the end
        the first token ending at or after it.
        """
        if example.is_impossible:
            return None
        positions = np.flatnonzero(context_piece >= 0)
        if not len(positions):
            return None
        answer, start_char = example.answers[0]
        answer_start = _byte_offset(example.context, start_char)
        answer_end = _byte_offset(example.context, start_char + len(answer))
        starts, ends = piece_start[context_piece[positions]], piece_end[context_piece[positions]]
        if not (starts[0] <= answer_start and ends[-1] >= answer_end):
            return None
        start = positions[np.flatnonzero(starts <= answer_start)[-1]]
        end = positions[np.flatnonzero(ends >= answer_end)[0]]
        return int(start), int(end)

    def dataset(self, examples, text, label_names, training):
        windows = self.windows(examples, text)
        count = len(windows["example"])
        if not count:
            raise ValueError(
                f"None of the {len(examples)} questions has a window that holds its whole answer, so there is "
                f"nothing to train on; raise seq_length ({self.params.seq_length}) or check the answers.")
        dropped = "" if self.setting("version_2_with_negative") else (
            f", {len(examples) - len(set(windows['example'].tolist()))} questions without a window holding "
            "their whole answer")
        print(f"question_answering: {count} windows of {self.params.seq_length} tokens from {len(examples)} "
              f"questions{dropped}")
        inputs = {k: windows[k] for k in INPUT_KEYS}
        targets = {k: windows[k] for k in TARGET_KEYS}
        dataset = tf.data.Dataset.from_tensor_slices((inputs, targets))
        if training:
            dataset = dataset.shuffle(count, seed=self.params.seed, reshuffle_each_iteration=True)
        return dataset.batch(self.params.batch_size).prefetch(tf.data.AUTOTUNE)

    def loss(self, targets, outputs):
        def cross_entropy(key, logits):
            return tf.nn.sparse_softmax_cross_entropy_with_logits(
                labels=tf.cast(targets[key], tf.int32), logits=tf.cast(outputs[logits], tf.float32))

        per_window = (cross_entropy("start_positions", "start_logits")
                      + cross_entropy("end_positions", "end_logits")) / 2.0
        return tf.reduce_sum(per_window), tf.cast(tf.size(per_window), tf.float32)

    # ------------------------------------------------------------------ evaluation

    def predict(self, model, examples, text):
        """The serving module's answer to each question, and its n-best list.

        Returns (predictions, nbest): {id: answer text, '' for no answer} and {id: [{"text",
        "probability", "start_logit", "end_logit"}, ...] best first}, as the SQuAD scripts
        write them. The order is the serving module's (span_selection's merged scores), so
        the first text is the prediction. An answer's probability is the mean over the
        question's windows of the probability each gives it (p_start * p_end, summed over
        its spans with that text). The empty answer has [CLS]'s lowest "no answer"
        probability (p_start * p_end of [CLS]) and logits: with version_2_with_negative it is
        listed where it ranks, without it only when there is no other answer. The candidates are the
        serving module's (its 12 best spans per window), so a short context may list fewer
        than n_best_size answers.
        """
        answer = self._answerer(model, text)
        predictions, nbest = {}, {}
        for first in range(0, len(examples), _EVAL_BATCH):
            batch = examples[first:first + _EVAL_BATCH]
            out = {k: v.numpy() for k, v in answer(tf.constant([e.question for e in batch]),
                                                   tf.constant([e.context for e in batch])).items()}
            for i, example in enumerate(batch):
                predictions[example.id] = out["answer"][i].decode("utf-8")
                nbest[example.id] = self._nbest(out, i)
        return predictions, nbest

    def _answerer(self, model, text):
        """A tf.function (questions, contexts) -> answers and n-best lists, through the serving
        module of `model`; kept while the model and tokenizer stay the same (every epoch)."""
        key = (model, text.tokenizer, self.settings())
        if _same(getattr(self, "_traced_answerer", (None, None))[0], key):
            return self._traced_answerer[1]
        server = self.serving_module(model, text, None)
        n_best = self.setting("n_best_size")

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string)] * 2)
        def answer(question, context):
            answers, c = server.answers_and_candidates(question, context)
            chosen, score = span_selection.best_answers(c["example"], c["answer"], c["score"], c["batch"], n_best)
            safe = tf.maximum(chosen, 0)
            out = {"answer": answers["answer"], "chosen": chosen, "score": score}
            out.update({f"best_{k}": tf.gather(c[k], safe) for k in ("answer", "start_logit", "end_logit")})
            out.update({k: c[k] for k in ("window_example", "no_answer", "null_start_logit", "null_end_logit")})
            return out

        self._traced_answerer = key, answer
        return answer

    def _nbest(self, out, i):
        windows = np.flatnonzero(out["window_example"] == i)
        null_window = windows[np.argmin(out["no_answer"][windows])]
        scale = 1.0 / len(windows)
        entries = [(float(out["score"][i, k]), {
            "text": out["best_answer"][i, k].decode("utf-8"),
            "probability": float(out["score"][i, k]) * scale,
            "start_logit": float(out["best_start_logit"][i, k]),
            "end_logit": float(out["best_end_logit"][i, k])}) for k in np.flatnonzero(out["chosen"][i] >= 0)]
        null_score = float(out["no_answer"][null_window])
        null = {"text": "", "probability": null_score * scale,
                "start_logit": float(out["null_start_logit"][null_window]),
                "end_logit": float(out["null_end_logit"][null_window])}
        if self.setting("version_2_with_negative"):
            # "No answer" wins only when strictly more probable, as the server decides.
            place = next((k for k, (score, _) in enumerate(entries) if null_score > score), len(entries))
            entries.insert(place, (null_score, null))
        elif not entries:
            entries = [(0.0, null)]
        return [entry for _, entry in entries[:self.setting("n_best_size")]]

    def evaluate(self, model, examples, text, label_names, output_dir):
        predictions, nbest = self.predict(model, examples, text)
        os.makedirs(output_dir, exist_ok=True)
        for name, content in (("predictions.json", predictions), ("nbest_predictions.json", nbest)):
            with open(os.path.join(output_dir, name), "w", encoding="utf-8") as f:
                json.dump(content, f, indent=2, ensure_ascii=False)
        gold = {e.id: [answer for answer, _ in e.answers] for e in examples}
        version = "2.0" if self.setting("version_2_with_negative") else "1.1"
        return metrics.squad_exact_match_and_f1(predictions, gold, version=version)

    # ------------------------------------------------------------------ export

    def serving_module(self, model, text, label_names):
        return QuestionAnsweringServer(
            model, self._tokenizer(text), max_seq_length=self.params.seq_length,
            doc_stride=self.setting("doc_stride"), max_query_length=self.setting("max_query_length"),
            max_answer_length=self.setting("max_answer_length"),
            version_2_with_negative=self.setting("version_2_with_negative"))

    def settings(self):
        return {"seq_length": self.params.seq_length, **{k: self.setting(k) for k in SETTING_DEFAULTS}}
