# Every target installs what it needs into .venv first, so each works on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
UV     := $(VENV)/bin/uv
LOCK   := requirements.lock
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml $(LOCK) | cksum | cut -d' ' -f1)
# `make lock` re-resolves only what pyproject.toml changed; every other pin stays. `make upgrade` takes the newest.
COMPILE = $(UV) pip compile pyproject.toml --extra dev --universal --python-version 3.11 -q -o $(LOCK) --custom-compile-command 'make lock'

.PHONY: install run test bench lint clean lock upgrade browser messages bytecode

# uv at the version requirements.lock pins, bootstrapped with pip
$(UV): $(LOCK)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q "$$(grep -E '^uv==' $(LOCK) | cut -d' ' -f1)"
	touch $(UV)

# the venv gets exactly the versions in requirements.lock, nothing else, then the project itself (editable);
# compiled to bytecode as pip does, so no command recompiles pandas at every start (1.7 s of `import pandas` here)
$(STAMP): pyproject.toml $(LOCK) $(UV)
	$(UV) pip sync -q --compile-bytecode --python $(PY) $(LOCK)
	$(UV) pip install -q --python $(PY) --no-deps -e .
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

lock: $(UV)             ## after editing dependencies in pyproject.toml: re-resolve requirements.lock, keeping other pins
	$(COMPILE)

upgrade: $(UV)          ## every dependency to its newest release allowed by pyproject.toml (then run make test)
	$(COMPILE) --upgrade

run: install bytecode   ## build a demo city, then serve the API on 127.0.0.1:8000 (or HOST/PORT)
	$(VENV)/bin/tobacco-alloc demo
	$(VENV)/bin/tobacco-alloc serve

test: install browser bytecode ## every test, on SQLite and on PostgreSQL (127.0.0.1:5432, database test)
	$(PY) -m pytest -p no:cacheprovider

browser:                ## Debian's Chromium and a CJK font for the console's browser tests (never a downloaded browser)
	@if ! command -v chromium >/dev/null || ! fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; \
	fi

bench: install bytecode ## benchmarks; prints figures as ratios against baselines measured in the same run
	$(PY) -m bench

bytecode: install       ## the project's own modules compiled (only those changed since), as an installed package is
	$(PY) -m compileall -q -j 0 allocation api executor models fixtures bench migrations >/dev/null

lint: install
	$(VENV)/bin/ruff check allocation api executor models fixtures bench tests

clean:
	rm -rf $(VENV) data .pytest_cache .hypothesis

LOCALE := api/ui/locale
messages: install       ## console strings: extract, merge into each catalog (zh_CN, en), compile the .mo files
	$(VENV)/bin/pybabel extract -F api/ui/babel.cfg -k N_ --no-location --sort-output --omit-header --no-wrap -o $(LOCALE)/messages.pot . >/dev/null
	for l in zh_CN en; do \
		$(VENV)/bin/pybabel update -i $(LOCALE)/messages.pot -d $(LOCALE) -l $$l --init-missing --no-fuzzy-matching \
			--ignore-obsolete --ignore-pot-creation-date --no-wrap >/dev/null || exit 1; \
	done
	$(VENV)/bin/pybabel compile -d $(LOCALE) --statistics
