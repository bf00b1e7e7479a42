"""Every task through the runner's `run()` on a tiny tf2 checkpoint: eval_results.json, best epoch,
final/ published by the export pipeline serving as export/ and as the last evaluation, and mirrored
on two CPUs against one device through the CLI's flags. (sentence_prediction: test_runner.py.)"""

import csv
import json
import pathlib
import random
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from official_encoders.finetune import metrics
from official_encoders.finetune.params import FinetuneParams, apply_params_override
from official_encoders.finetune.run import run
from tests.official_encoders.finetune.test_question_answering import make_examples

REPO_ROOT = pathlib.Path(__file__).resolve().parents[3]
QA_SETTINGS = dict(seq_length=32, doc_stride=8, max_query_length=8, max_answer_length=6)
METRICS = {"question_answering": {"exact_match", "f1"},
           "tagging": {"precision", "recall", "f1", "accuracy"},
           "multiple_choice": {"accuracy"}}
EXPORT_TYPES = {"question_answering": "question_answering", "tagging": "token_classification",
                "multiple_choice": "multiple_choice"}

ANIMALS = ("fox", "dog", "cat", "foxy", "zebra")  # foxy, zebra: several word pieces
OTHERS = ("the", "quick", "brown", "jumps", "over", "lazy", "a", "man", "is", "playing", "guitar", "on",
          "stage", "sleeps", "sofa", "all", "morning")


# ---------------------------------------------------------------- data files

def write_squad(path, count, seed, unanswerable_every=0):
    """SQuAD's nested layout; every `unanswerable_every`-th question has no answer (v2.0)."""
    qas = []
    for example in make_examples(count, seed, unanswerable_every):
        answers = [{"text": text, "answer_start": start} for text, start in example.answers]
        qas.append((example.context, {"id": example.id, "question": example.question, "answers": answers,
                                      "is_impossible": not answers}))
    data = [{"title": "t", "paragraphs": [{"context": context, "qas": [qa]} for context, qa in qas]}]
    path.write_text(json.dumps({"version": "v2.0" if unanswerable_every else "1.1", "data": data}))
    return str(path)


def write_conll(path, count, seed):
    """CoNLL columns (word, POS, tag): animals are B-ANI (a following animal I-ANI), 'hello world' B-/I-GRT."""
    rng = random.Random(seed)
    lines = []
    for _ in range(count):
        words, tags = [], []
        if rng.random() < 0.3:
            words, tags = ["Hello", "world"], ["B-GRT", "I-GRT"]
        for _ in range(rng.randint(3, 8)):
            animal = rng.random() < 0.3
            words.append(rng.choice(ANIMALS if animal else OTHERS))
            tags.append(("I-ANI" if tags and tags[-1].endswith("ANI") else "B-ANI") if animal else "O")
        lines += [f"{w} X {t}" for w, t in zip(words, tags)] + [""]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def write_swag(path, count, seed):
    """SWAG CSV with three endings; the right one is the only one naming an animal."""
    rng = random.Random(seed)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["sent1", "sent2", "ending0", "ending1", "ending2", "label"])
        for _ in range(count):
            label = rng.randrange(3)
            endings = [" ".join(rng.sample(OTHERS, 3)) for _ in range(3)]
            endings[label] = f"{rng.choice(OTHERS)} the {rng.choice(ANIMALS)}"
            writer.writerow([" ".join(rng.sample(OTHERS, 5)) + ".", "The man", *endings, label])
    return str(path)


CASES = {
    "qa_v1": dict(task="question_answering", data=lambda p, n, s: write_squad(p.with_suffix(".json"), n, s),
                  settings=QA_SETTINGS),
    "qa_v2": dict(task="question_answering",
                  data=lambda p, n, s: write_squad(p.with_suffix(".json"), n, s, unanswerable_every=3),
                  settings=dict(QA_SETTINGS, version_2_with_negative=True)),
    "tagging": dict(task="tagging", data=lambda p, n, s: write_conll(p.with_suffix(".conll"), n, s),
                    settings=dict(seq_length=16), train=48),  # 16 sentences teach it no entity yet
    "multiple_choice": dict(task="multiple_choice", data=lambda p, n, s: write_swag(p.with_suffix(".csv"), n, s),
                            settings=dict(seq_length=12)),  # shorter than some pairs: truncation shows
}


# ---------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A tiny BERT without dropout (max_position_embeddings 64) as a tf2 checkpoint with its vocabulary."""
    from official_encoders.checkpoints.tf2 import save_pretrained
    from tests.export import tiny_models

    base = tmp_path_factory.mktemp("every_task")
    vocab = tiny_models.write_vocab(base)
    quiet = tiny_models.tiny_result("bert", "mlm", vocab_file=vocab, hidden_dropout=0.0, attention_dropout=0.0)
    return {"tf2": str(save_pretrained(quiet, base / "tf2")), "base": base}


@pytest.fixture(scope="module")
def finished(tiny):
    """case -> (params, summary) of its 2-epoch run, each run once for the module."""
    done = {}

    def get(case):
        if case not in done:
            spec = CASES[case]
            directory = tiny["base"] / case
            directory.mkdir()
            params = FinetuneParams(
                task=spec["task"], init_checkpoint=f"tf2:{tiny['tf2']}", model_dir=str(directory / "run"),
                train_data=spec["data"](directory / "train", spec.get("train", 16), 1),
                eval_data=spec["data"](directory / "dev", 6, 2),
                epochs=2, batch_size=8, learning_rate=0.01, dropout=0.0, steps_per_checkpoint=1000,
                **spec["settings"])
            done[case] = params, run(params, verbose=0)
        return done[case]

    return get


def _publish(summary, task, hub_root):
    from export import pipeline

    published = pipeline.run_export(pipeline.ExportOptions(
        source=f"tf2:{summary['final_dir']}", export_type=EXPORT_TYPES[task], hub_root=str(hub_root),
        name=f"tiny_{task}"), printer=lambda line: None)
    return pathlib.Path(published.artifacts[0].path)


# ---------------------------------------------------------------- 1. run() completes with the task's metrics

@pytest.mark.parametrize("case", sorted(CASES))
def test_run_evaluates_every_epoch_with_the_tasks_metrics(finished, case):
    params, summary = finished(case)
    model_dir = pathlib.Path(params.model_dir)
    entries = json.loads((model_dir / "eval_results.json").read_text())
    assert [e["epoch"] for e in entries] == [1, 2]
    # Question answering also keeps the official scripts' counts and v2.0's has-answer/no-answer split.
    extra = {"total"} | ({f"{g}_{k}" for g in ("HasAns", "NoAns") for k in ("exact", "f1", "total")}
                         if params.version_2_with_negative else set())
    for entry in entries:
        assert METRICS[params.task] <= set(entry) and set(entry) - METRICS[params.task] - {"epoch"} <= (
            extra if params.task == "question_answering" else set()), entry
    monitor = summary["monitor"]
    assert summary["best"] == max(entries, key=lambda e: (e[monitor], -e["epoch"]))
    assert summary["steps"] > 0 and len(summary["history"]["loss"]) == 2
    assert summary["final_dir"] == str(model_dir / "final")
    if params.task == "question_answering":
        predictions = json.loads((model_dir / "predictions.json").read_text())
        nbest = json.loads((model_dir / "nbest_predictions.json").read_text())
        dev = [qa["id"] for p in json.loads(pathlib.Path(params.eval_data).read_text())["data"][0]["paragraphs"]
               for qa in p["qas"]]
        assert sorted(predictions) == sorted(nbest) == sorted(dev)
        assert all(nbest[i] and nbest[i][0]["text"] == predictions[i] for i in dev)


# ---------------------------------------------------------------- 2. final/ published = export/ = evaluation

QA_SERVING = ("doc_stride", "max_query_length", "max_answer_length", "version_2_with_negative")


@pytest.mark.parametrize("case", ["qa_v1", "qa_v2"])
def test_published_question_answering_answers_as_predictions_json(finished, case, tmp_path):
    params, summary = finished(case)
    path = _publish(summary, params.task, tmp_path / "hub")
    # The export's defaults are the run's settings: published MANIFEST.json = the run's tf_serving.json = params.
    published_settings = json.loads((path / "MANIFEST.json").read_text())["settings"]
    run_settings = json.loads((pathlib.Path(summary["export_dir"]) / "assets.extra" / "tf_serving.json").read_text())[
        "settings"]
    assert published_settings == dict({k: run_settings[k] for k in QA_SERVING},
                                      max_seq_length=run_settings["seq_length"])
    assert published_settings == dict({k: getattr(params, k) for k in QA_SERVING}, max_seq_length=params.seq_length)
    served = tf.saved_model.load(str(path)).signatures["serving_default"]
    exported = tf.saved_model.load(summary["export_dir"]).signatures["serving_default"]
    predictions = json.loads((pathlib.Path(params.model_dir) / "predictions.json").read_text())
    from official_encoders.finetune.readers import read_squad

    dev = read_squad(params.eval_data, params.version_2_with_negative).examples
    inputs = dict(question=tf.constant([e.question for e in dev]), context=tf.constant([e.context for e in dev]))
    published_answers = [a.decode() for a in served(**inputs)["answer"].numpy()]
    exported_answers = [a.decode() for a in exported(**inputs)["answer"].numpy()]
    assert published_answers == exported_answers == [predictions[e.id] for e in dev]
    gold = {e.id: [text for text, _ in e.answers] for e in dev}
    scores = metrics.squad_exact_match_and_f1(dict(zip([e.id for e in dev], published_answers)), gold,
                                              version="2.0" if params.version_2_with_negative else "1.1")
    last = json.loads((pathlib.Path(params.model_dir) / "eval_results.json").read_text())[-1]
    assert scores == pytest.approx({k: last[k] for k in scores})


def _assert_serves_with_the_run_seq_length(path, summary, params):
    manifest = json.loads((path / "MANIFEST.json").read_text())
    run_notes = json.loads((pathlib.Path(summary["export_dir"]) / "assets.extra" / "tf_serving.json").read_text())
    assert manifest["settings"]["max_seq_length"] == run_notes["settings"]["seq_length"] == params.seq_length


def _entities(out):
    rows = []
    for row in range(out["num_entities"].shape[0]):
        n = int(out["num_entities"][row])
        rows.append([(g.decode(), int(s), int(e)) for g, s, e in zip(
            out["entity_group"][row].numpy()[:n], out["start"][row].numpy()[:n], out["end"][row].numpy()[:n])])
    return rows


def test_published_tagger_finds_the_entities_of_the_run_export(finished, tmp_path):
    params, summary = finished("tagging")
    path = _publish(summary, params.task, tmp_path / "hub")
    _assert_serves_with_the_run_seq_length(path, summary, params)
    from official_encoders.finetune.readers import read_tagging

    dev = read_tagging(params.eval_data).examples
    sentences = tf.constant([" ".join(e.tokens) for e in dev])
    published = _entities(tf.saved_model.load(str(path)).signatures["serving_default"](text=sentences))
    exported = _entities(tf.saved_model.load(summary["export_dir"]).signatures["serving_default"](text=sentences))
    assert published == exported and sum(map(len, published)) > 0


def test_published_multiple_choice_chooses_as_the_last_evaluation(finished, tmp_path):
    params, summary = finished("multiple_choice")
    path = _publish(summary, params.task, tmp_path / "hub")
    _assert_serves_with_the_run_seq_length(path, summary, params)
    from official_encoders.finetune.multiple_choice import choice_texts
    from official_encoders.finetune.readers import read_multiple_choice

    dev = read_multiple_choice(params.eval_data).examples
    inputs = dict(prompt=tf.constant([e.context for e in dev]), choices=tf.constant([choice_texts(e) for e in dev]))
    published = tf.saved_model.load(str(path)).signatures["serving_default"](**inputs)["choice"].numpy()
    exported = tf.saved_model.load(summary["export_dir"]).signatures["serving_default"](**inputs)["choice"].numpy()
    assert published.tolist() == exported.tolist()
    last = json.loads((pathlib.Path(params.model_dir) / "eval_results.json").read_text())[-1]
    assert np.isclose(np.mean(published == np.array([e.label for e in dev])), last["accuracy"])


# ---------------------------------------------------------------- 3. mirrored on two CPUs = one device

def test_every_task_trains_mirrored_on_two_cpus_as_on_one_device(finished, tmp_path):
    """One CLI process per task (TF splits the CPU once per process, and the collectives of two
    MirroredStrategies in one process would share instance keys), all started at once; each first
    epoch's loss against the same epoch of the module's one-device run (same data, seed and order)."""
    processes = {}
    for case in ("qa_v1", "tagging", "multiple_choice"):
        params, _ = finished(case)
        settings = "".join(f",task.{k}={v}" for k, v in CASES[case]["settings"].items())
        args = [f"--init_checkpoint={params.init_checkpoint}", f"--train_data={params.train_data}", "--epochs=1",
                f"--batch_size={params.batch_size}", f"--learning_rate={params.learning_rate}", "--dropout=0",
                f"--seed={params.seed}", f"--model_dir={tmp_path / case}", "--distribution_strategy=mirrored",
                "--num_cpu_devices=2", f"--params_override=task.type={params.task}{settings}"]
        processes[case] = subprocess.Popen([sys.executable, "-m", "official_encoders.finetune", *args], cwd=REPO_ROOT,
                                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for case, process in processes.items():
        out, err = process.communicate(timeout=600)
        assert process.returncode == 0, err[-3000:]
        mirrored = json.loads(out.split("SUMMARY ", 1)[1])
        one = finished(case)[1]
        assert (mirrored["task"], mirrored["replicas"], one["replicas"]) == (CASES[case]["task"], 2, 1)
        assert mirrored["steps"] * 2 == one["steps"]
        np.testing.assert_allclose(mirrored["history"]["loss"][0], one["history"]["loss"][0], rtol=1e-4,
                                   err_msg=case)


# ---------------------------------------------------------------- 4. task.type selects the task

def test_task_type_selects_the_task_and_a_typo_names_the_closest_key():
    assert apply_params_override(FinetuneParams(), "task.type=tagging").task == "tagging"
    with pytest.raises(ValueError, match="unknown key 'task.typo'; did you mean 'task.type'"):
        apply_params_override(FinetuneParams(), "task.typo=tagging")
