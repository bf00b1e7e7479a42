"""The embedding job as an Apache Beam pipeline: the same encoder through Beam's RunInference.

    lines of the input, split into byte ranges by the launcher
      -> Reshuffle -> parse each range into (index, id, text) on the workers
      -> RunInference(KeyedModelHandler(TextEmbeddingHandler)) -> JSON lines of index, id, vector
      -> the launcher assembles `.npy` or `.jsonl` in input order

`TextEmbeddingHandler` loads our SavedModel (or any handle `SentenceEncoder`
takes) once per worker and embeds each batch RunInference gives it with
`SentenceEncoder.encode`, so the vectors equal single-process `encode`'s.
It runs on the DirectRunner here and on Dataflow, Flink or Spark through
their pipeline options; the input and output must then be paths every worker
can read (e.g. gs://). The launcher reads the input once, line by line, to
split it at line boundaries and number the lines. Needs the `beam` extra (`pip install
official-encoders[beam]`).
"""

import json
import os
import shutil
import time

import numpy as np

from official_encoders.embed import files
from official_encoders.fileio.atomic import atomic_file

METRICS_NAMESPACE = "official_encoders.embed"


def _beam():
    try:
        import apache_beam
    except ImportError as error:
        raise ImportError("The Beam pipeline needs apache-beam: pip install 'official-encoders[beam]'.") from error
    return apache_beam


def line_ranges(path, split_bytes):
    """(start byte, end byte, index of the first line) of consecutive line ranges of about split_bytes."""
    from apache_beam.io.filesystems import FileSystems

    ranges, start, index, first = [], 0, 0, 0
    offset = 0
    with FileSystems.open(path) as f:
        for line in iter(f.readline, b""):
            offset += len(line)
            index += 1
            if offset - start >= split_bytes:
                ranges.append((start, offset, first))
                start, first = offset, index
    if offset > start:
        ranges.append((start, offset, first))
    return ranges, index


def read_range(byte_range, path, input_format, text_field, id_field, decode_errors):
    """Yields ((index, id), text) for the lines of one range."""
    from apache_beam.io.filesystems import FileSystems

    start, end, index = byte_range
    with FileSystems.open(path) as f:
        f.seek(start)
        position = start
        while position < end:
            line = f.readline()
            position += len(line)
            record_id, text = files.parse_line(line, path, index, input_format, text_field, id_field,
                                               decode_errors)
            yield (index, record_id), text
            index += 1


def text_embedding_handler(model, batch_size=64, max_seq_length=None, pooling=None, normalize=None,
                           max_texts_per_call=1024):
    """A Beam ModelHandler: texts in, float32 vectors out, through `SentenceEncoder`.

    Args:
      model: any handle SentenceEncoder takes, readable from every worker.
      batch_size, max_seq_length, pooling, normalize: as for `official_encoders.encode`.
      max_texts_per_call: the most texts RunInference hands over at once; each
        call sorts them by length into batches of batch_size.
    """
    beam = _beam()
    from apache_beam.ml.inference.base import ModelHandler

    class TextEmbeddingHandler(ModelHandler):
        """Loads a SentenceEncoder per worker; run_inference embeds one RunInference batch."""

        def __init__(self):
            super().__init__(min_batch_size=1, max_batch_size=max_texts_per_call)
            self._truncated = beam.metrics.Metrics.counter(METRICS_NAMESPACE, "truncated")

        def load_model(self):
            from official_encoders.embed.encoder import SentenceEncoder

            return SentenceEncoder(model, batch_size=batch_size, max_seq_length=max_seq_length,
                                   pooling=pooling, normalize=normalize)

        def run_inference(self, batch, encoder, inference_args=None):
            result = encoder.encode(list(batch), progress=False)
            self._truncated.inc(result.num_truncated)
            return list(result.embeddings)

        def get_num_bytes(self, batch):
            return sum(len(text) for text in batch)

    return TextEmbeddingHandler()


def build_pipeline(pipeline, input_path, parts_prefix, ranges, *, model, input_format, text_field,
                   id_field, decode_errors, batch_size, max_seq_length, pooling, normalize):
    """Adds the read -> RunInference -> write steps to `pipeline`."""
    beam = _beam()
    from apache_beam.ml.inference.base import KeyedModelHandler, RunInference

    handler = KeyedModelHandler(text_embedding_handler(model, batch_size, max_seq_length, pooling, normalize))
    return (pipeline
            | "ranges" >> beam.Create(ranges)
            | "spread" >> beam.Reshuffle()
            | "read" >> beam.FlatMap(read_range, input_path, input_format, text_field, id_field, decode_errors)
            | "embed" >> RunInference(handler)
            | "json" >> beam.MapTuple(lambda key, vector: json.dumps(
                {"index": key[0], "id": key[1], "embedding": np.asarray(vector, np.float32).tolist()}))
            | "write" >> beam.io.WriteToText(parts_prefix, file_name_suffix=".jsonl"))


def run_beam(model, input_path, output, *, pipeline_args=(), input_format=None, output_format=None,
             text_field="text", id_field=None, decode_errors="strict", batch_size=64, max_seq_length=None,
             pooling=None, normalize=None, split_bytes=16 << 20, printer=print):
    """Embeds `input_path` into `output` with a Beam pipeline; returns an embed.run.EmbedSummary.

    pipeline_args: Beam pipeline options, e.g. ["--runner=DirectRunner",
    "--direct_num_workers=2", "--direct_running_mode=multi_processing"].
    """
    beam = _beam()
    from apache_beam.options.pipeline_options import PipelineOptions

    from official_encoders.embed.run import EmbedSummary

    input_format = files.format_for(input_path, input_format, files.INPUT_FORMATS, "input")
    output_format = files.format_for(output, output_format, files.OUTPUT_FORMATS, "output")
    if os.path.exists(output):
        raise FileExistsError(f"{output} exists; choose another --output or delete it.")
    parts = f"{output}.parts"
    if os.path.exists(parts):
        raise FileExistsError(f"{parts} exists (an unfinished run); delete it to start again.")
    started = time.perf_counter()
    ranges, count = line_ranges(input_path, split_bytes)
    printer(f"beam: {count} lines in {len(ranges)} range(s)")
    os.makedirs(parts)
    options = PipelineOptions(list(pipeline_args), save_main_session=False)
    pipeline = beam.Pipeline(options=options)
    build_pipeline(pipeline, input_path, os.path.join(parts, "vectors"), ranges, model=model,
                   input_format=input_format, text_field=text_field, id_field=id_field,
                   decode_errors=decode_errors, batch_size=batch_size, max_seq_length=max_seq_length,
                   pooling=pooling, normalize=normalize)
    result = pipeline.run()
    result.wait_until_finish()
    truncated = sum(c.committed or 0 for c in result.metrics().query(
        beam.metrics.MetricsFilter().with_namespace(METRICS_NAMESPACE).with_name("truncated"))["counters"])
    written = _assemble(parts, count, output, output_format, model, max_seq_length, pooling, normalize)
    shutil.rmtree(parts)
    return EmbedSummary(output=str(output), count=written, encoded=written, truncated=truncated,
                        seconds=time.perf_counter() - started)


def _assemble(parts, count, output, output_format, model, max_seq_length, pooling, normalize):
    """The pipeline's JSON lines, in index order, as `.npy` or `.jsonl` (vectors staged in a memmap)."""
    names = sorted(n for n in os.listdir(parts) if n.startswith("vectors") and n.endswith(".jsonl"))
    vectors = ids = None
    seen = 0
    for name in names:
        with open(os.path.join(parts, name), encoding="utf-8") as f:
            for line in f:
                record = json.loads(line)
                if vectors is None:
                    vectors = np.lib.format.open_memmap(os.path.join(parts, "all.npy"), mode="w+",
                                                        dtype=np.float32, shape=(count, len(record["embedding"])))
                    ids = [None] * count
                vectors[record["index"]] = record["embedding"]
                ids[record["index"]] = record["id"]
                seen += 1
    if seen != count:
        raise RuntimeError(f"The pipeline wrote {seen} vectors for {count} input lines.")
    if vectors is None:  # zero lines: the width comes from the model itself
        from official_encoders.embed.encoder import SentenceEncoder

        dim = SentenceEncoder(model, max_seq_length=max_seq_length, pooling=pooling, normalize=normalize).dim
        vectors = np.zeros((0, dim), np.float32)
    with atomic_file(output) as tmp:
        if output_format == "npy":
            with open(tmp, "wb") as f:
                np.save(f, np.asarray(vectors))
        else:
            with open(tmp, "w", encoding="utf-8") as f:
                for record_id, vector in zip(ids or [], vectors):
                    f.write(json.dumps({"id": record_id, "embedding": vector.tolist()}) + "\n")
    return count
