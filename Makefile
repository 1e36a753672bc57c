# Two commands: `make run` (set up, migrate, load the demo, serve on http://127.0.0.1:5000)
# and `make test` (set up, lint, type-check, check content, run the whole suite).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml requirements.lock | cksum | cut -d' ' -f1)

.PHONY: install browser run test lint check bench clean

$(STAMP): pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python 3.11+ is required"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e ".[dev]"
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

# Node is only for the test peers (Prism serves Twilio's API spec; axe-core checks the staff pages); without npm those tests skip.
NODE_STAMP := node_modules/.installed-$(shell cat package-lock.json | cksum | cut -d' ' -f1)

$(NODE_STAMP): package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --no-audit --no-fund --loglevel=error && touch $(NODE_STAMP); \
	else \
		echo "npm not found: the Twilio API tests (Prism) and the accessibility check (axe-core) will be skipped"; \
	fi

install: $(STAMP) $(NODE_STAMP)

# The staff-page tests drive Debian's Chromium (no browser download). Installed here when this
# machine can (root with apt-get); otherwise those tests skip and say so.
browser:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing Debian's chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
		echo "chromium not found and cannot be installed here: the browser tests will be skipped"; \
	fi

# The staff sign-in cookie is signed with a key kept in instance/ (never in the repository),
# made once here so that sign-ins survive a restart of the demo.
SECRET_FILE := instance/secret_key

$(SECRET_FILE):
	mkdir -p -m 700 instance
	umask 077 && $(PYTHON) -c 'import secrets; print(secrets.token_hex(32))' > $(SECRET_FILE)

run: install $(SECRET_FILE)
	INTERLUDE_SECRET_KEY_FILE=$(SECRET_FILE) $(BIN)/interlude init --demo
	INTERLUDE_SECRET_KEY_FILE=$(SECRET_FILE) $(BIN)/interlude serve

lint: install
	$(BIN)/ruff check service tests bench
	$(BIN)/ruff format --check service tests bench
	$(BIN)/mypy

check: install
	INTERLUDE_CONFIG=config.example.toml $(BIN)/interlude check
	$(BIN)/interlude screen-eval

test: lint check browser
	$(BIN)/pytest

# Benchmark 4 drives its load with wrk, which leaves more of the machine to the server than the
# Python client. Installed here when this machine can (root with apt-get); otherwise the Python
# client is used and the figures say so.
bench: install
	@if command -v wrk >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing Debian's wrk for the inbound benchmark"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; \
	else \
		echo "wrk not found and cannot be installed here: the inbound benchmark will use the Python client"; \
	fi
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
