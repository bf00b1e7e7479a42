"""python -m official_encoders.finetune on hand-built SavedModels: settings, data, training, export."""

import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from official_encoders.finetune.data import read_examples
from official_encoders.finetune.model import RunEncoder, build_encoder_from_checkpoint, build_run_encoder
from official_encoders.finetune.params import FinetuneParams, apply_params_override
from official_encoders.finetune.preprocess import make_run_text
from official_encoders.finetune.run import run
from tests.common.tiny_configs import tiny_config
from tests.official_encoders.finetune.sentence_data import write_pairs, write_single
from tests.export import tiny_hub_tree
from tests.official_encoders import tiny_saved_models as tsm

REPO_ROOT = pathlib.Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    base = tmp_path_factory.mktemp("finetune")
    return {"encoder": tsm.save_hand_built_encoder(base / "encoder", dropout_rate=0.1),
            "preprocessor": tsm.save_whitespace_preprocessor(base / "preprocessor"),
            "base": base}


def test_params_override_sets_checks_keys_and_conflicts():
    params = apply_params_override(
        FinetuneParams(),
        "task.hub_module_url=/m/1, trainer.epochs=2,trainer.learning_rate=0.5,task.has_header=false")
    assert (params.hub_module_url, params.epochs, params.learning_rate, params.has_header) == (
        "/m/1", 2, 0.5, False)
    with pytest.raises(ValueError, match="unknown key 'task.nope'.*task.hub_module_url"):
        apply_params_override(FinetuneParams(), "task.nope=1")
    with pytest.raises(ValueError, match="conflicts with --params_override"):
        apply_params_override(FinetuneParams(hub_module_url="/a"),
                                       "task.hub_module_url=/b", explicitly_set={"hub_module_url"})
    with pytest.raises(ValueError, match="not key=value"):
        apply_params_override(FinetuneParams(), "trainer.epochs")


@pytest.mark.parametrize("changes,message", [
    (dict(), "exactly one encoder source"),
    (dict(hub_module_url="/m", init_checkpoint="/c"), "exactly one encoder source"),
    (dict(hub_module_url="/m", distribution_strategy="tpu"), "allowed: one_device, mirrored"),
    (dict(hub_module_url="/m", epochs=0), "--epochs must be a positive"),
    (dict(hub_module_url="/m", text_columns="a,b,c"), "one column .* or two"),
    (dict(hub_module_url="/m", model_dir=None), "--model_dir is required"),
])
def test_invalid_settings_say_what_is_allowed(changes, message):
    params = FinetuneParams(train_data="t.tsv", model_dir="/tmp/x")
    for key, value in changes.items():
        setattr(params, key, value)
    with pytest.raises(ValueError, match=message):
        params.validate()


def test_reads_tsv_and_csv_by_name_or_index(tmp_path):
    single = write_single(tmp_path / "s.tsv", 5, 0)
    texts, labels = read_examples(single, ["sentence"], "label")
    assert len(texts) == 5 and all(len(t) == 1 for t in texts) and set(labels) <= {"pos", "neg"}
    pairs = write_pairs(tmp_path / "p.csv", 5, 0)
    texts, labels = read_examples(pairs, ["0", "second"], "2")
    assert all(len(t) == 2 for t in texts) and set(labels) <= {"0", "1"}
    with pytest.raises(ValueError, match=r"no column 'text'; header has \['sentence', 'label'\]"):
        read_examples(single, ["text"], "label")


def test_sentence_classification_trains_evaluates_logs_and_exports(models, tmp_path):
    params = FinetuneParams(
        hub_module_url=models["encoder"], preprocess_url=models["preprocessor"],
        train_data=write_single(tmp_path / "train.tsv", 96, 1),
        eval_data=write_single(tmp_path / "dev.tsv", 32, 2),
        model_dir=str(tmp_path / "run"), epochs=8, batch_size=16, learning_rate=0.05,
        seq_length=16)
    summary = run(params, verbose=0)
    history = summary["history"]
    assert len(history["loss"]) == 8 and len(history["val_accuracy"]) == 8
    assert history["loss"][-1] < 0.6 * history["loss"][0]
    assert history["val_accuracy"][-1] >= 0.85
    for split in ("train", "validation"):
        assert list((tmp_path / "run" / "logs" / split).glob("events.out.tfevents.*"))
    eval_results = json.loads((tmp_path / "run" / "eval_results.json").read_text())
    assert [e["epoch"] for e in eval_results] == list(range(1, 9))
    assert all(set(e) == {"epoch", "accuracy", "f1", "matthews_corrcoef"} for e in eval_results)
    assert summary["best"] == max(eval_results, key=lambda e: (e["accuracy"], -e["epoch"]))
    # A foreign SavedModel (no config of ours) trains through HubLayer; final/ cannot be written for it.
    assert summary["final_dir"] is None and "not one of our exports" in summary["final_note"]
    assert not (tmp_path / "run" / "final").exists()

    export_dir = tmp_path / "run" / "export"
    serving = tf.saved_model.load(str(export_dir)).signatures["serving_default"]
    _, inputs = serving.structured_input_signature
    assert sorted(inputs) == ["text"] and inputs["text"].dtype == tf.string
    out = serving(text=tf.constant(["the movie was really great", "awful acting", "a very poor plot", "good"]))
    np.testing.assert_allclose(out["probabilities"].numpy().sum(-1), 1.0, rtol=1e-5)
    assert [label.decode() for label in out["label"].numpy()] == ["pos", "neg", "neg", "pos"]
    np.testing.assert_allclose(out["score"], out["probabilities"].numpy().max(-1), rtol=1e-6)
    # The served labels score the dev set as the last evaluation did.
    texts, labels = read_examples(params.eval_data, ["sentence"], "label")
    served = serving(text=tf.constant([t[0] for t in texts]))["label"].numpy()
    assert np.isclose(np.mean([a.decode() == b for a, b in zip(served, labels)]), eval_results[-1]["accuracy"])
    serving_notes = json.loads((export_dir / "assets.extra" / "tf_serving.json").read_text())
    assert serving_notes["labels"] == ["neg", "pos"] and serving_notes["inputs"] == ["text"]
    assert serving_notes["custom_ops"] == summary["custom_ops"]


def test_cli_pairs_over_http_mirrored_on_two_cpus_with_params_override(models, tmp_path):
    from export import serve

    hub_root = tmp_path / "hub"
    tiny_hub_tree.publish_saved_model(hub_root, "tiny", "encoder", 1, models["encoder"])
    with serve.running_in_thread(hub_root) as server:
        override = ",".join([
            f"task.hub_module_url={server.url}/tiny/encoder/1",
            f"task.preprocess_url={models['preprocessor']}",
            f"task.train_data={write_pairs(tmp_path / 'train.csv', 32, 3)}",
            f"task.eval_data={write_pairs(tmp_path / 'dev.csv', 16, 4)}",
            "task.text_columns=first,second", "task.label_column=same", "task.seq_length=24",
            "trainer.epochs=2", "trainer.batch_size=16", "trainer.learning_rate=0.01",
        ])
        result = subprocess.run(
            [sys.executable, "-m", "official_encoders.finetune", f"--params_override={override}",
             f"--model_dir={tmp_path / 'run'}", "--distribution_strategy=mirrored",
             "--num_cpu_devices=2"],
            cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
            env=dict(os.environ, PYTHONPATH=str(REPO_ROOT), TFHUB_CACHE_DIR=str(tmp_path / "cache")))
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(result.stdout.split("SUMMARY ", 1)[1])
    assert summary["replicas"] == 2 and summary["strategy"] == "mirrored"
    assert len(summary["history"]["loss"]) == 2 and len(summary["history"]["val_accuracy"]) == 2
    assert "Epoch 2/2" in result.stdout  # per-epoch progress
    # TensorFlow's Python INFO lines (renamed signature inputs, untraced functions) only with --verbosity.
    assert not [line for line in result.stderr.splitlines() if line.startswith("INFO:")], result.stderr[-2000:]
    serving = tf.saved_model.load(summary["export_dir"]).signatures["serving_default"]
    out = serving(text=tf.constant(["good movie", "bad plot"]),
                  text_pair=tf.constant(["great acting", "fine"]))["probabilities"]
    assert out.shape == (2, 2)


def test_cli_refuses_two_encoder_sources(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "official_encoders.finetune", "--hub_module_url=/a",
         "--init_checkpoint=/b", "--train_data=t.tsv", f"--model_dir={tmp_path}"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
        env=dict(os.environ, PYTHONPATH=str(REPO_ROOT)))
    assert result.returncode != 0
    assert "exactly one encoder source" in result.stderr


def _tiny_bert(directory):
    import official_encoders
    config = tiny_config(vocab_size=tsm.VOCAB, max_position_embeddings=32)
    encoder = official_encoders.build_encoder(config)
    encoder({k: tf.constant(v) for k, v in tsm.random_encoder_inputs(2, 4).items()})
    (directory / "config.json").write_text(json.dumps(config.to_dict()))
    return encoder, str(directory / "config.json")


def test_init_checkpoint_keras_weights_file(models, tmp_path):
    source, config_file = _tiny_bert(tmp_path)
    source.save_weights(str(tmp_path / "encoder.weights.h5"))
    params = FinetuneParams(
        init_checkpoint=str(tmp_path / "encoder.weights.h5"), config_file=config_file,
        preprocess_url=models["preprocessor"], train_data=write_single(tmp_path / "t.tsv", 32, 5),
        model_dir=str(tmp_path / "run"), epochs=1, batch_size=16, seq_length=12)
    restored, _ = build_encoder_from_checkpoint(params)
    assert len(restored.weights) == len(source.weights) > 30
    for a, b in zip(restored.weights, source.weights):
        np.testing.assert_array_equal(np.array(a), np.array(b))
    summary = run(params, verbose=0)
    serving = tf.saved_model.load(summary["export_dir"]).signatures["serving_default"]
    assert serving(text=tf.constant(["good plot"]))["probabilities"].shape == (1, 2)


def test_init_checkpoint_from_save_tf2_with_its_vocabulary(tmp_path):
    from official_encoders.checkpoints import tf2
    from official_encoders.models.pretrainer import EncoderWithMaskedLM

    source, config_file = _tiny_bert(tmp_path)
    pretrainer = EncoderWithMaskedLM(source)
    pretrainer(dict({k: tf.constant(v) for k, v in tsm.random_encoder_inputs(2, 4).items()},
                    masked_lm_positions=tf.constant([[1], [2]])))
    prefix = tf2.save_tf2(pretrainer, tmp_path / "ckpt")
    params = FinetuneParams(init_checkpoint=prefix, config_file=config_file)
    restored, vocabulary = build_encoder_from_checkpoint(params)
    assert len(restored.weights) == len(source.weights)
    for a, b in zip(restored.weights, source.weights):
        np.testing.assert_array_equal(np.array(a), np.array(b))
    assert vocabulary == (None, None, None)  # a bare checkpoint knows no vocabulary
    params.init_checkpoint = "tf2:" + prefix  # the explicit source spec reads the same
    again, _ = build_encoder_from_checkpoint(params)
    np.testing.assert_array_equal(np.array(again.weights[0]), np.array(source.weights[0]))


def test_init_checkpoint_must_hold_every_encoder_variable(models, tmp_path):
    source, config_file = _tiny_bert(tmp_path)
    params = FinetuneParams(init_checkpoint=None, config_file=config_file)
    params.init_checkpoint = tf.train.Checkpoint(something=tf.Variable(1.0)).write(
        str(tmp_path / "other"))
    with pytest.raises(ValueError, match="unknown layout"):
        build_encoder_from_checkpoint(params)
    # A tf.train.Checkpoint of the encoder: restored completely, or refused with a count
    # (TF's object graph does not see Keras 3 layers kept in a Python list).
    params.init_checkpoint = tf.train.Checkpoint(encoder=source).write(str(tmp_path / "ckpt"))
    try:
        restored, _ = build_encoder_from_checkpoint(params)
    except ValueError as error:
        assert f"of the encoder's {len(source.weights)} variables" in str(error)
    else:
        for a, b in zip(restored.weights, source.weights):
            np.testing.assert_array_equal(np.array(a), np.array(b))


def _free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_multi_worker_mirrored_two_workers_on_loopback(models, tmp_path):
    cluster = {"worker": [f"127.0.0.1:{_free_port()}", f"127.0.0.1:{_free_port()}"]}
    train = write_single(tmp_path / "train.tsv", 64, 6)
    dev = write_single(tmp_path / "dev.tsv", 16, 7)
    workers = []
    for index in range(2):
        tf_config = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})
        workers.append(subprocess.Popen(
            [sys.executable, "-m", "official_encoders.finetune",
             f"--hub_module_url={models['encoder']}", f"--preprocess_url={models['preprocessor']}",
             f"--train_data={train}", f"--eval_data={dev}", f"--model_dir={tmp_path / 'run'}",
             "--epochs=2", "--batch_size=16", "--seq_length=16", "--learning_rate=0.02",
             "--distribution_strategy=multi_worker_mirrored"],
            cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=dict(os.environ, PYTHONPATH=str(REPO_ROOT), TF_CONFIG=tf_config)))
    summaries = []
    for worker in workers:
        out, err = worker.communicate(timeout=300)
        assert worker.returncode == 0, err[-3000:]
        summaries.append(json.loads(out.split("SUMMARY ", 1)[1]))
    chief, other = summaries
    assert chief["replicas"] == other["replicas"] == 2
    # The train loss is reduced over both workers; only the chief evaluates.
    assert chief["history"]["loss"] == other["history"]["loss"] and len(chief["history"]["loss"]) == 2
    assert len(chief["history"]["val_accuracy"]) == 2 and "val_accuracy" not in other["history"]
    assert chief["export_dir"] == str(tmp_path / "run" / "export")
    assert list((tmp_path / "run" / "logs" / "validation").glob("events.out.tfevents.*"))
    eval_results = json.loads((tmp_path / "run" / "eval_results.json").read_text())
    assert eval_results[-1]["epoch"] == 2
    np.testing.assert_allclose(eval_results[-1]["accuracy"], chief["history"]["val_accuracy"][-1], atol=1e-6)
    # Both workers hold the same (synchronised) weights.
    texts = tf.constant(["the plot was good", "awful acting"])
    outputs = [tf.saved_model.load(s["export_dir"]).signatures["serving_default"](text=texts)
               ["probabilities"].numpy() for s in summaries]
    np.testing.assert_allclose(outputs[0], outputs[1], atol=1e-6)


def test_real_export_hub_module_url_brings_its_own_vocabulary(tiny_bert_hub, tmp_path):
    """No --preprocess_url: the WordPiece preprocessor is built from the encoder's vocab asset."""
    train = tmp_path / "train.csv"
    train.write_text("sentence,label\nthe quick brown fox,a\na lazy dog,b\nhello world,a\n"
                     "reset my password,b\n")
    params = FinetuneParams(
        hub_module_url=tiny_bert_hub["encoder"], train_data=str(train),
        model_dir=str(tmp_path / "run"), epochs=1, batch_size=4, seq_length=16)
    summary = run(params, verbose=0)
    serving = tf.saved_model.load(summary["export_dir"]).signatures["serving_default"]
    probabilities = serving(text=tf.constant(["hello fox"]))["probabilities"].numpy()
    assert probabilities.shape == (1, 2)
    # Same token ids as the exported companion preprocessor, from the asset or --vocab_file.
    companion = tf.saved_model.load(tiny_bert_hub["preprocessor"])
    words = tf.constant(["The quick brown fox!", "hello world"])
    vocab = tf.saved_model.load(tiny_bert_hub["encoder"]).vocab_file.asset_path.numpy().decode()
    for text in (make_run_text(params, build_run_encoder(params)),
                 make_run_text(FinetuneParams(vocab_file=vocab, seq_length=16), RunEncoder(None, True))):
        packed = text.packer.pack([text.packer.tokenize(words)])
        np.testing.assert_array_equal(packed["input_word_ids"].numpy(), companion(words)["input_word_ids"].numpy())
    # The export names the tensorflow-text ops TF Serving must link in; without them it fails.
    notes = json.loads((pathlib.Path(summary["export_dir"]) / "assets.extra" /
                        "tf_serving.json").read_text())
    assert notes["custom_ops"] == summary["custom_ops"] != []
    assert notes["required_op_libraries"] == ["tensorflow_text"] and "tensorflow-text" in notes["note"]
    probe = subprocess.run(
        [sys.executable, "-c", "import sys, tensorflow as tf; tf.saved_model.load(sys.argv[1])",
         summary["export_dir"]], capture_output=True, text=True, timeout=180)
    assert probe.returncode != 0
    assert any(op in probe.stderr for op in notes["custom_ops"])


def test_an_unknown_override_key_names_the_closest_real_key():
    with pytest.raises(ValueError, match="unknown key 'trainer.epoch'; did you mean 'trainer.epochs'"):
        apply_params_override(FinetuneParams(), "trainer.epoch=3")
    with pytest.raises(ValueError, match="unknown key 'task.learning_rate'; did you mean 'trainer.learning_rate'"):
        apply_params_override(FinetuneParams(), "task.learning_rate=0.1")
