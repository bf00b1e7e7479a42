"""Hugging Face's question-answering pipeline (transformers 4.57, CPU torch) as a line-protocol process.

transformers 5 removed the pipeline, so the parity test and the QA benchmark run this
module under the reference environment `.venv-qa-ref` (the Makefile builds it) and
talk to it over stdin/stdout, one JSON object per line:

    .venv-qa-ref/bin/python -m bench.hf_qa_reference <hf model dir> [<torch threads>]
    request:  {"questions": [...], "contexts": [...], "max_seq_length": 384, "doc_stride": 128,
               "max_query_length": 64, "max_answer_length": 15, "version_2_with_negative": false}
    response: {"answers": [{"answer", "start", "end", "score"}, ...], "seconds": <pipeline time>}

The model is loaded once; every request times only the pipeline call. It imports
nothing of this repository, so it runs without TensorFlow.
"""

import json
import os
import pathlib
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
REFERENCE_PYTHON = ".venv-qa-ref/bin/python"


class ReferencePipeline:
    """Starts the reference process for `model_dir` and answers requests through it.

    Args:
      model_dir: a saved Hugging Face `*ForQuestionAnswering` directory with its tokenizer.
      threads: torch's intra-op threads (default: torch's own choice). On a shared
        machine 1 avoids torch's spinning threads fighting over the cores.
      python: the reference interpreter (default: `.venv-qa-ref/bin/python` of this checkout).

    Example:

        with ReferencePipeline(model_dir) as reference:
            answers, seconds = reference.answer(questions, contexts, max_seq_length=384)
    """

    def __init__(self, model_dir, threads=None, python=None):
        python = pathlib.Path(python or ROOT / REFERENCE_PYTHON)
        if not python.exists():
            raise FileNotFoundError(f"{python}: the transformers 4.57 reference environment is missing; "
                                    "run `make install` (it builds .venv-qa-ref).")
        env = dict(os.environ, TRANSFORMERS_VERBOSITY="error", HF_HUB_OFFLINE="1")
        self._process = subprocess.Popen([str(python), "-m", "bench.hf_qa_reference", str(model_dir)]
                                         + ([str(threads)] if threads else []),
                                         cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         text=True)
        self.version = self._read()["ready"]

    def _read(self):
        line = self._process.stdout.readline()
        if not line:
            raise RuntimeError(f"the reference process exited with code {self._process.wait()}")
        return json.loads(line)

    def answer(self, questions, contexts, max_seq_length=384, doc_stride=128, max_query_length=64,
               max_answer_length=15, version_2_with_negative=False):
        """Returns (answers, seconds): one {"answer", "start", "end", "score"} per pair, and the pipeline time."""
        request = dict(questions=list(questions), contexts=list(contexts), max_seq_length=max_seq_length,
                       doc_stride=doc_stride, max_query_length=max_query_length,
                       max_answer_length=max_answer_length, version_2_with_negative=version_2_with_negative)
        self._process.stdin.write(json.dumps(request) + "\n")
        self._process.stdin.flush()
        response = self._read()
        return response["answers"], response["seconds"]

    def close(self):
        if self._process.poll() is None:
            self._process.stdin.close()
            self._process.wait(timeout=60)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def answer_all(pipe, request):
    """Runs the pipeline on every (question, context) pair of `request`, one pair at a time."""
    answers = []
    for question, context in zip(request["questions"], request["contexts"]):
        out = pipe(question=question, context=context, top_k=1,
                   max_seq_len=request["max_seq_length"], doc_stride=request["doc_stride"],
                   max_question_len=request["max_query_length"], max_answer_len=request["max_answer_length"],
                   handle_impossible_answer=request["version_2_with_negative"])
        answers.append({k: out[k] for k in ("answer", "start", "end", "score")})
    return answers


def main(argv):
    import torch
    import transformers

    if len(argv) not in (2, 3):
        sys.exit(f"usage: {REFERENCE_PYTHON} -m bench.hf_qa_reference <hf model dir> [<torch threads>]")
    if transformers.__version__.split(".")[0] != "4":
        sys.exit(f"transformers {transformers.__version__} has no question-answering pipeline; "
                 f"run this with {REFERENCE_PYTHON} (transformers 4.57), which `make install` builds.")
    torch.set_grad_enabled(False)
    if len(argv) == 3:
        torch.set_num_threads(int(argv[2]))
    pipe = transformers.pipeline("question-answering", model=argv[1], tokenizer=argv[1], device="cpu")
    print(json.dumps({"ready": transformers.__version__}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        started = time.perf_counter()
        answers = answer_all(pipe, request)
        print(json.dumps({"answers": answers, "seconds": time.perf_counter() - started}), flush=True)


if __name__ == "__main__":
    main(sys.argv)
