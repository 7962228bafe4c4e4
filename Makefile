# make test: set up .venv (if missing or stale) and run ruff, mypy --strict and pytest.
# make bench: the benchmarks in benchmarks/, figures as ratios to a baseline from the same run.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SOURCES := skill router tests benchmarks scripts

.PHONY: setup test lint typecheck pytest bench demo gallery clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[local,mcp,dev]'
	touch $(STAMP)

lint: setup
	$(BIN)/ruff check $(SOURCES)
	$(BIN)/ruff format --check $(SOURCES)

typecheck: setup
	$(BIN)/mypy

# Files are spread over up to 4 workers; a file stays on one worker, so the module-scoped
# backends a file shares are started once.
pytest: setup
	$(BIN)/pytest -q -n auto --maxprocesses 4 --dist loadfile

test: lint typecheck pytest

bench: setup
	$(BIN)/python -m benchmarks

# make demo: a real photo animated end to end by the embedded local backend, offline.
DEMO_INSTRUCTION := make this image jiggle and bounce with a subtle looping motion
demo: setup
	$(BIN)/python scripts/demo_photo.py out/astronaut.jpg
	$(BIN)/jiggle animate out/astronaut.jpg "$(DEMO_INSTRUCTION)" --backend local \
		-o out/demo.mp4 --preview out/demo-preview.png
	@echo "demo video:   $(CURDIR)/out/demo.mp4"
	@echo "demo preview: $(CURDIR)/out/demo-preview.png"

# make gallery: contact sheets and motion heat maps of several kinds of photo, for docs/renderer.md.
gallery: setup
	$(BIN)/python scripts/gallery.py docs/gallery

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache build dist
