# The two ways in: `make demo` (the whole closed loop on simulated EMG) and `make test`.
PYTHON ?= python3
VENV := .venv
CORE := .venv-core
PIP_FLAGS := -q --disable-pip-version-check -c constraints.txt
DEPS := pyproject.toml setup.py constraints.txt
ADAPTER_PACKAGE := examples/adapter-package

.PHONY: demo test lint typecheck docs layer-links test-full test-core screenshots mutation clean

demo: $(VENV)/.installed-all
	$(VENV)/bin/hexloop demo

test: lint test-full test-core

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	@$(MAKE) --no-print-directory typecheck docs

# mypy: domain/ and ports/ strictly, adapters/ and application/ at the default level with
# check_untyped_defs (pyproject.toml [tool.mypy]; docs/architecture.md, "Type checking").
typecheck: $(VENV)/.installed-dev layer-links
	$(VENV)/bin/mypy

# The documentation site (mkdocs.yml) into site/, every warning an error; nothing is fetched.
# `$(VENV)/bin/mkdocs serve` serves it while you edit. NO_MKDOCS_2_WARNING quiets the theme's
# banner about its own future (mkdocs-material, pinned in constraints.txt).
docs: $(VENV)/.installed-dev layer-links
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet

# The layer folders linked under build/typecheck/hexloop/, where mypy and mkdocstrings read them
# as hexloop.domain, hexloop.ports, ... (the names they install under).
layer-links:
	@mkdir -p build/typecheck/hexloop
	@for layer in domain ports adapters application; do \
		ln -sfn ../../../$$layer build/typecheck/hexloop/$$layer; done

# Four workers: most tests wait on threads, sockets and subprocesses rather than the CPU.
# Then the adapter package from outside (examples/adapter-package, docs/adapters.md): its own
# tests, with its own pytest settings, and its setup file, which names its adapters.
test-full: $(VENV)/.installed-dev $(VENV)/.installed-adapter-package
	$(VENV)/bin/pytest -n 4 --dist loadfile
	$(VENV)/bin/pytest $(ADAPTER_PACKAGE)/tests
	$(VENV)/bin/hexloop run $(ADAPTER_PACKAGE)/setup.toml --headless --duration 2

# The core tests again with nothing but the core (numpy, attrs, platformdirs, tqdm), pytest
# and hypothesis installed:
# optional-package tests skip themselves, everything else must pass.
test-core: $(CORE)/.installed
	$(CORE)/bin/pytest -p no:cacheprovider

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install $(PIP_FLAGS) --upgrade pip

# torch first and pinned: an open range would pull a multi-GB CUDA build.
$(VENV)/.installed-all: $(VENV)/bin/python $(DEPS)
	$(VENV)/bin/pip install $(PIP_FLAGS) torch==2.13.0
	$(VENV)/bin/pip install $(PIP_FLAGS) -e ".[all]"
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed-all
	$(VENV)/bin/pip install $(PIP_FLAGS) -e ".[all,dev]"
	touch $@

# --no-deps: its dependency on hexloop is the editable install above, never one from PyPI.
$(VENV)/.installed-adapter-package: $(VENV)/.installed-dev $(ADAPTER_PACKAGE)/pyproject.toml
	$(VENV)/bin/pip install $(PIP_FLAGS) --no-deps -e $(ADAPTER_PACKAGE)
	touch $@

$(CORE)/.installed: $(DEPS)
	$(PYTHON) -m venv $(CORE)
	$(CORE)/bin/pip install $(PIP_FLAGS) pytest pytest-timeout hypothesis
	$(CORE)/bin/pip install $(PIP_FLAGS) .
	touch $@

# Mutation testing (cosmic-ray) of domain/ and adapters/zarr/, on a copy of the tree in $TMPDIR
# so no mutant ever touches these files. Slow (minutes per module) and not part of `make test`.
# One module: `make mutation MODULE=domain/labels.py`; a seeded random subset of each module's
# mutants: SAMPLE=40. The modules and their tests: mutation/scope.toml; results: docs/reliability.md.
MODULE ?=
SAMPLE ?=
mutation: $(VENV)/.installed-dev
	$(VENV)/bin/pip install $(PIP_FLAGS) -e ".[mutation]"
	$(VENV)/bin/python mutation/run.py $(if $(MODULE),--module $(MODULE)) $(if $(SAMPLE),--sample $(SAMPLE))

# The GUI screenshots in docs/img, taken in a real window under Xvfb.
screenshots: $(VENV)/.installed-all
	$(VENV)/bin/python docs/img/make_screenshots.py docs/img

clean:
	rm -rf $(VENV) $(CORE) build site *.egg-info
