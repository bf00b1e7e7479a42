"""Embeds a whole file on one machine, shard by shard, resumable: the CLI's single-process path."""

import dataclasses
import time

from official_encoders.embed import files
from official_encoders.embed.encoder import SentenceEncoder


@dataclasses.dataclass
class EmbedSummary:
    """What a run did, for the CLI's last lines."""

    output: str
    count: int  # records in the output
    encoded: int  # records encoded by this run (the rest came from finished shards)
    truncated: int  # texts longer than max_seq_length tokens, in all shards
    seconds: float
    shards_resumed: int = 0

    @property
    def texts_per_second(self):
        return self.encoded / self.seconds if self.seconds > 0 else float("inf")

    def text(self):
        resumed = f"; {self.shards_resumed} finished shard(s) kept from the earlier run" if self.shards_resumed else ""
        return (f"embedded {self.count} texts into {self.output}: {self.encoded} encoded in {self.seconds:.1f}s "
                f"({self.texts_per_second:.1f} texts/s), {self.truncated} truncated{resumed}")


def run_settings(model, input_path, input_format, text_field, id_field, output_format, shard_size, encoder):
    """The settings a resumed run must share with the one that wrote the shards."""
    return dict(files.input_identity(input_path), input_format=input_format,
                text_field=text_field if input_format == "jsonl" else None, id_field=id_field,
                output_format=output_format, shard_size=shard_size, model=str(model), pooling=encoder.pooling,
                normalize=encoder.normalize, max_seq_length=encoder.max_seq_length)


def embed_file(model, input_path, output, *, input_format=None, output_format=None, text_field="text",
               id_field=None, decode_errors="strict", batch_size=64, max_seq_length=None, pooling=None,
               normalize=None, shard_size=10000, resume=False, printer=print):
    """Embeds every record of `input_path` into `output` (.npy or .jsonl); returns an EmbedSummary."""
    if int(shard_size) < 1:
        raise ValueError(f"shard_size={shard_size}: pass a positive number of records per shard.")
    input_format = files.format_for(input_path, input_format, files.INPUT_FORMATS, "input")
    output_format = files.format_for(output, output_format, files.OUTPUT_FORMATS, "output")
    encoder = SentenceEncoder(model, batch_size=batch_size, max_seq_length=max_seq_length, pooling=pooling,
                              normalize=normalize)
    store = files.ShardStore(output, run_settings(model, input_path, input_format, text_field, id_field,
                                                  output_format, shard_size, encoder), resume)
    started = time.perf_counter()
    records = files.read_records(input_path, input_format, text_field, id_field, decode_errors)
    count = encoded = truncated = resumed = k = 0
    for k, shard in enumerate(files.shards(records, shard_size)):
        count += len(shard)
        if store.done(k):
            resumed += 1
            truncated += store.truncated(k)
            continue
        result = encoder.encode([text for _, text in shard], progress=False)
        store.write(k, [record_id for record_id, _ in shard], result.embeddings, result.num_truncated)
        encoded += len(shard)
        truncated += result.num_truncated
        rate = encoded / max(time.perf_counter() - started, 1e-9)
        printer(f"shard {k}: {count} texts so far ({rate:.1f} texts/s), {truncated} truncated")
    num_shards = k + 1 if count else 0
    store.assemble(num_shards, output_format, encoder.dim)
    return EmbedSummary(output=str(output), count=count, encoded=encoded, truncated=truncated,
                        seconds=time.perf_counter() - started, shards_resumed=resumed)
