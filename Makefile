# Every target installs what it needs into .venv first, so each works on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: install run test bench lint clean browser messages

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

test: install browser   ## every test, on SQLite and on PostgreSQL (127.0.0.1:5432, database test)
	$(PY) -m pytest -p no:cacheprovider

browser:                ## Debian's Chromium and a CJK font for the console's browser tests (never a downloaded browser)
	@if ! command -v chromium >/dev/null || ! fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; \
	fi

LOCALE := api/ui/locale
messages: install       ## console strings: extract, merge into each catalog (zh_CN, en), compile the .mo files
	$(VENV)/bin/pybabel extract -F api/ui/babel.cfg -k N_ --no-location --sort-output --omit-header --no-wrap -o $(LOCALE)/messages.pot . >/dev/null
	for l in zh_CN en; do \
		$(VENV)/bin/pybabel update -i $(LOCALE)/messages.pot -d $(LOCALE) -l $$l --init-missing --no-fuzzy-matching \
			--ignore-obsolete --ignore-pot-creation-date --no-wrap >/dev/null || exit 1; \
	done
	$(VENV)/bin/pybabel compile -d $(LOCALE) --statistics
