# Two commands for a fresh Debian/Ubuntu machine, as root: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# chromium and a CJK font: the browser tier (tests/browser) screenshots Chinese pages.
SYSTEM_PACKAGES := debootstrap sip-tester espeak-ng sox postgresql chromium fonts-wqy-microhei
STAMP := $(VENV)/.installed

.PHONY: run test test-unit test-browser test-integration lint system-deps venv sandbox-up sandbox-down bench-calls bench-tickets bench-stt bench-console bench-outbound clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert (3, 11) <= sys.version_info[:2] < (3, 13), "hotline needs Python 3.11 or 3.12 (pyVoIP imports audioop), found " + sys.version' 
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || { apt-get install -y python3-venv && $(PYTHON) -m venv $(VENV); }
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	@touch $(STAMP)

venv: $(STAMP)

system-deps:
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

run: system-deps venv
	$(BIN)/hotline run

test: system-deps venv
	$(BIN)/hotline asterisk sandbox build
	$(BIN)/pytest -q -p no:cacheprovider

test-unit: venv
	$(BIN)/pytest -q tests/unit

test-browser: system-deps venv
	$(BIN)/pytest -q -p no:cacheprovider tests/browser

sandbox-up: system-deps venv
	$(BIN)/hotline asterisk sandbox up

sandbox-down: venv
	$(BIN)/hotline asterisk sandbox down

bench-calls: system-deps venv
	$(BIN)/python -m hotline.bench.calls

# 1,000,000 work orders on SQLite and PostgreSQL; e.g. BENCH_ARGS="--n 100000 --only sqlite"
bench-tickets: system-deps venv
	$(BIN)/python -m hotline.bench.tickets $(BENCH_ARGS)

# The synthetic city (2,000,000 tickets with their oversight facts, 10,000,000 calls, two
# years) into var/city/sqlite.db, DATABASE_URL, or e.g. BENCH_ARGS="--tickets 2000 --calls 10000"
# (BENCH_ARGS="--postgres var/city/pg": a PostgreSQL server kept there, as bench-reports uses)
.PHONY: seed-city bench-reports
seed-city: venv
	$(BIN)/python -m hotline.bench.city seed $(BENCH_ARGS)

# Monthly report, unit ranking for a year, dashboard on the city (SQLite and PostgreSQL, kept
# in var/city); targets 5 s, 2 s, 200 ms; e.g. BENCH_ARGS="--tickets 500000 --calls 2500000"
bench-reports: system-deps venv
	$(BIN)/python -m hotline.bench.reports $(BENCH_ARGS)

# N concurrent survey calls through the sandbox answered by SIPp (keys 1, then 2), one run per
# N: placed, answered, results stored, lost, calls/min, CPU; e.g. BENCH_ARGS="--n 30 10 --rounds 3"
bench-outbound: system-deps venv
	$(BIN)/python -m hotline.bench.outbound $(BENCH_ARGS)

# The console with 1,000,000 tickets: page server time p95 (target 100 ms), AMI event to the
# pop in chromium p95 (300 ms); e.g. BENCH_ARGS="--keep /var/tmp/bench --only sqlite"
bench-console: system-deps venv
	$(BIN)/python -m hotline.bench.console $(BENCH_ARGS)

# Our transcription pool against Vosk called directly (audio s per CPU s, RSS per worker).
bench-stt: system-deps venv
	$(BIN)/python -m hotline.bench.stt
	$(BIN)/python -m hotline.bench.stt_latency

lint: venv
	$(BIN)/ruff check hotline tests
	$(BIN)/mypy hotline

clean:
	-$(BIN)/hotline asterisk sandbox down
	rm -rf var test-output
