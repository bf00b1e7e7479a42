"""python -m official_encoders.embed: sentence vectors for a text or JSON-lines file.

    python -m official_encoders.embed --model=<handle> --input=passages.txt --output=vectors.npy
    python -m official_encoders.embed --model=<handle> --input=docs.jsonl --text_field=body \\
        --id_field=doc_id --output=vectors.jsonl
    python -m official_encoders.embed ... --resume          # continue a killed run
    python -m official_encoders.embed ... --runner=DirectRunner --direct_num_workers=2   # Apache Beam

Without --runner the file is embedded in this process, in shards that a
killed run can --resume. With --runner the same encoder runs as an Apache
Beam pipeline (DirectRunner, DataflowRunner, FlinkRunner, SparkRunner); flags
this program does not know are passed to Beam as pipeline options.
"""

import sys

from absl import app
from absl import flags

FLAGS = flags.FLAGS


def define_flags():
    """Declares the flags; only when run as a program, so importing this module never clashes."""
    from official_encoders.embed import files
    from official_encoders.embed.pooling import POOLINGS

    flags.DEFINE_string("model", None, "Encoder: SavedModel path, http(s) or hub handle, checkpoint "
                        "directory or catalog name.", required=True)
    flags.DEFINE_string("input", None, "Input file: one passage a line, or JSON lines.", required=True)
    flags.DEFINE_string("output", None, "Output file: .npy (float32 [N, H]) or .jsonl (id and embedding).",
                        required=True)
    flags.DEFINE_enum("input_format", None, files.INPUT_FORMATS, "Default: jsonl for .jsonl/.json, else text.")
    flags.DEFINE_enum("output_format", None, files.OUTPUT_FORMATS, "Default: from the --output extension.")
    flags.DEFINE_string("text_field", "text", "JSON lines: the field holding the text.")
    flags.DEFINE_string("id_field", None, "JSON lines: the field written as id (default: the 0-based line index).")
    flags.DEFINE_enum("decode_errors", "strict", files.DECODE_ERRORS,
                      "A line that is not UTF-8: strict stops with its line number; replace embeds it with "
                      "U+FFFD for the bad bytes.")
    flags.DEFINE_integer("batch_size", 64, "Texts per encoder call.")
    flags.DEFINE_integer("max_seq_length", None, "Tokens per text at most ([CLS], [SEP] included); default: "
                         "the encoder's max_position_embeddings, else 512.")
    flags.DEFINE_enum("pooling", None, POOLINGS, "Default: the model's sentence_embedding output, else mean.")
    flags.DEFINE_bool("normalize", None, "L2-normalize the vectors (default: no).")
    flags.DEFINE_integer("shard_size", 10000, "Records per shard (single process): the unit of --resume.")
    flags.DEFINE_bool("resume", False, "Keep the finished shards of a killed run with the same flags.")
    flags.DEFINE_string("runner", None, "Run as an Apache Beam pipeline on this runner (e.g. DirectRunner).")
    flags.DEFINE_integer("split_bytes", 16 << 20, "Beam: input bytes per work item.")


def main(argv):
    from official_encoders.embed import run

    common = dict(input_format=FLAGS.input_format, output_format=FLAGS.output_format,
                  text_field=FLAGS.text_field, id_field=FLAGS.id_field, decode_errors=FLAGS.decode_errors,
                  batch_size=FLAGS.batch_size, max_seq_length=FLAGS.max_seq_length, pooling=FLAGS.pooling,
                  normalize=FLAGS.normalize)
    try:
        if FLAGS.runner:
            from official_encoders.embed.beam import run_beam

            summary = run_beam(FLAGS.model, FLAGS.input, FLAGS.output, split_bytes=FLAGS.split_bytes,
                               pipeline_args=[f"--runner={FLAGS.runner}"] + list(argv[1:]), **common)
        else:
            if len(argv) > 1:
                raise app.UsageError(f"Unknown arguments {argv[1:]} (pipeline options need --runner).")
            summary = run.embed_file(FLAGS.model, FLAGS.input, FLAGS.output, shard_size=FLAGS.shard_size,
                                     resume=FLAGS.resume, **common)
    except (ValueError, FileExistsError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(summary.text())
    return 0


if __name__ == "__main__":
    define_flags()
    app.run(main, flags_parser=lambda argv: flags.FLAGS(argv, known_only=True))
