# The two commands of the README: `make report` and `make test`. Both build .venv from the pinned
# requirements when it is missing or older than them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CORE := $(VENV)/.core-installed
EXTRAS := $(VENV)/.extras-installed
# The installed packages' bytecode, compiled on every core (pip compiles one file at a time; the whole
# environment's build here: 112 s with pip's compilation, 97 s with this). Their test directories are left
# out (never imported by the suite); a file that does not compile on this Python (torch ships one for
# 3.12) is simply never compiled, as with pip.
COMPILE := $(PY) -m compileall -q -j 0 -x '/tests?/' $$($(PY) -c 'import site; print(site.getsitepackages()[0])') >/dev/null 2>&1 || true
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: report test extras browser bench clean

$(CORE): requirements.txt requirements-test.txt
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check --no-compile -r requirements.txt -r requirements-test.txt
	$(COMPILE)
	# the checkout importable from any directory (what an editable install does, without building)
	$(PY) -c 'import site, sys; open(site.getsitepackages()[0] + "/lif_crosscheck.pth", "w").write(sys.argv[1] + "\n")' "$(CURDIR)"
	touch $@

# Optional simulators (NEST, snnTorch with the CPU build of torch, Rockpool).
$(EXTRAS): requirements-extras.txt $(CORE)
	$(PY) -m pip install --quiet --disable-pip-version-check --no-compile -r requirements-extras.txt
	$(COMPILE)
	touch $@

extras: $(EXTRAS)

# Debian's Chromium and its driver, for the test that opens the HTML report in a real browser.
browser:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium chromium-driver >/dev/null; \
	fi

report: $(CORE)
	$(PY) -m comparisons report --out reports/latest

test: $(CORE) $(EXTRAS) browser
	$(PY) -m pytest

bench: $(CORE) $(EXTRAS)
	$(PY) -m benchmarks --out reports/bench

clean:
	rm -rf $(VENV) .cache reports/latest reports/bench
