# chemearth: the two set-up commands are `make demo` (main job) and `make test` (tests).
# Both create the virtual environment and install what they need on first use.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

NODE   := node_modules/.package-lock.json
BROWSER := /usr/bin/chromium
CJKFONT := /usr/share/fonts/truetype/wqy/wqy-microhei.ttc
POSTGIS := /usr/share/postgresql/15/extension/postgis.control
OGRINFO := /usr/bin/ogrinfo
PGDEBS  := postgresql postgresql-15-postgis-3

.PHONY: demo test lint typecheck bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Leaflet and the other front-end packages, from the npm registry, as the lockfile pins them.
$(NODE): package.json package-lock.json
	npm ci --no-audit --no-fund

# The browser tests drive Debian's chromium with Playwright (never `playwright install`).
$(BROWSER):
	apt-get install -y -q chromium || (apt-get update -q && apt-get install -y -q chromium)

# A Chinese font for the 中文 labels of plots (Debian's WenQuanYi Micro Hei).
$(CJKFONT):
	apt-get install -y -q fonts-wqy-microhei || (apt-get update -q && apt-get install -y -q fonts-wqy-microhei)

# PostgreSQL 15 and PostGIS 3 (Debian's) for `chemearth db start` and the server-store tests,
# which start their own server in a folder of their own (never the packaged cluster).
$(POSTGIS):
	apt-get install -y -q $(PGDEBS) || (apt-get update -q && apt-get install -y -q $(PGDEBS))

# GDAL's command-line tools (Debian's gdal-bin): the OGC API tests read the server with
# `ogrinfo OAPIF:...`, the driver QGIS uses.
$(OGRINFO):
	apt-get install -y -q gdal-bin || (apt-get update -q && apt-get install -y -q gdal-bin)

demo: $(STAMP) $(NODE) $(CJKFONT) $(POSTGIS)
	$(BIN)/chemearth demo

lint: $(STAMP)
	$(BIN)/ruff check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy src/chemearth

# Two workers (the machine has two cores); a worker steals tests from the other when idle.
test: $(STAMP) $(NODE) $(BROWSER) $(CJKFONT) $(POSTGIS) $(OGRINFO) lint typecheck
	$(BIN)/pytest -n 2 --dist worksteal --durations=40

# Every benchmark against its peers, one run each; `bench/out/summary.json` gathers the
# figures of this run (with the machine's load beside each).
bench: $(STAMP)
	$(eval SINCE := $(shell date +%s))
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/grid.py
	$(BIN)/python bench/tiles.py
	$(BIN)/python bench/screen.py
	$(BIN)/python bench/interp.py
	$(BIN)/python bench/interp.py --scale
	$(BIN)/python bench/global.py
	$(BIN)/python bench/analytics.py
	$(BIN)/python bench/serve/run.py
	$(BIN)/python bench/summary.py --since $(SINCE)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
