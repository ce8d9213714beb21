# Every target installs what it needs into .venv first, so each works on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: install run test bench lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

run: install            ## build a demo city, then serve the API on 127.0.0.1:8000 (or HOST/PORT)
	$(VENV)/bin/tobacco-alloc demo
	$(VENV)/bin/tobacco-alloc serve

test: install           ## every test, on SQLite and on PostgreSQL (127.0.0.1:5432, database test)
	$(PY) -m pytest -p no:cacheprovider

bench: install          ## benchmarks; prints figures as ratios against baselines measured in the same run
	$(PY) -m bench

lint: install
	$(VENV)/bin/ruff check allocation api executor models fixtures bench tests

clean:
	rm -rf $(VENV) data .pytest_cache .hypothesis
