"""Where our encoder's time goes: time per TF op type for one forward pass, from a FULL_TRACE run.

The encoder's tf.function is frozen (variables become constants) and run in a
v1 Session with tracing, so every kernel's time is recorded; ops are summed
by type (MatMul, BatchMatMulV2, Softmax, the GELU and layer-norm arithmetic...).

    python -m bench.profile_encoder [--setting=bert_base] [--peer]
"""

import collections
import os
import time

from absl import app, flags

from bench import bench_encoder
from bench.bench_encoder import SETTINGS, encoder_flops

FLAGS = flags.FLAGS


def define_flags():
    """Declares the flags; only when run as a program, so importing this module never clashes."""
    flags.DEFINE_enum("setting", "bert_base", list(SETTINGS), "Model size and batch.")
    flags.DEFINE_bool("peer", False, "Profile TF Model Garden's BertEncoderV2 instead of ours.")
    flags.DEFINE_integer("top", 15, "How many op types to list.")


def _model(s):
    if FLAGS.peer:
        from official.nlp.modeling import networks

        return networks.BertEncoderV2(vocab_size=s["vocab"], hidden_size=s["hidden"], num_layers=s["layers"],
                                      num_attention_heads=s["heads"], inner_dim=s["intermediate"])
    from official_encoders import build_encoder
    from official_encoders.models.configs import EncoderConfig

    return build_encoder(EncoderConfig(
        family="bert", vocab_size=s["vocab"], hidden_size=s["hidden"], num_layers=s["layers"],
        num_heads=s["heads"], intermediate_size=s["intermediate"], hidden_act="gelu"))


def main(argv):
    del argv
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import numpy as np
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    threads = FLAGS.threads or os.cpu_count()
    s = SETTINGS[FLAGS.setting]
    model = _model(s)
    keys = ("input_word_ids", "input_mask", "input_type_ids")
    rng = np.random.default_rng(0)
    ids = rng.integers(1, s["vocab"], size=(s["batch"], s["seq"])).astype("int32")
    values = dict(input_word_ids=ids, input_mask=np.ones_like(ids), input_type_ids=np.zeros_like(ids))

    def forward(*tensors):
        return model(dict(zip(keys, tensors)), training=False)["sequence_output"]

    print(f"[1/3] freezing {'Model Garden BertEncoderV2' if FLAGS.peer else 'our BertEncoder'} "
          f"at {FLAGS.setting}", flush=True)
    spec = [tf.TensorSpec([s["batch"], s["seq"]], tf.int32, name=k) for k in keys]
    frozen = convert_variables_to_constants_v2(tf.function(forward).get_concrete_function(*spec))
    graph_def = frozen.graph.as_graph_def()
    graph = tf.Graph()
    with graph.as_default():
        tf.graph_util.import_graph_def(graph_def, name="")
    feed = {t.name: values[k] for t, k in zip(frozen.inputs, keys)}
    config = tf.compat.v1.ConfigProto(intra_op_parallelism_threads=threads, inter_op_parallelism_threads=1)
    with tf.compat.v1.Session(graph=graph, config=config) as session:
        output = frozen.outputs[0].name
        print("[2/3] warm-up and timing", flush=True)
        session.run(output, feed)
        start = time.perf_counter()
        session.run(output, feed)
        seconds = time.perf_counter() - start
        print("[3/3] traced run", flush=True)
        metadata = tf.compat.v1.RunMetadata()
        session.run(output, feed, run_metadata=metadata,
                    options=tf.compat.v1.RunOptions(trace_level=tf.compat.v1.RunOptions.FULL_TRACE))
    op_types = {node.name: node.op for node in graph_def.node}
    by_type = collections.Counter()
    for device in metadata.step_stats.dev_stats:
        for stats in device.node_stats:
            name = stats.node_name.split(":")[0]
            by_type[op_types.get(name, name)] += stats.all_end_rel_micros
    total = sum(by_type.values())
    print(f"\nsummary: {seconds * 1e3:.0f} ms per batch ({encoder_flops(s) / seconds / 1e9:.0f} GFLOP/s), "
          f"{total / 1e3:.0f} ms of traced kernel time, {threads} threads")
    for op, micros in by_type.most_common(FLAGS.top):
        print(f"  {op:24s} {micros / 1e3:9.1f} ms  {micros / total:6.1%}")


if __name__ == "__main__":
    bench_encoder.define_flags()  # --threads
    define_flags()
    app.run(main)
