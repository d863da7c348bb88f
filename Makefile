# Two entry points: `make run` (the main job) and `make test`. Both create .venv if missing.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint format bench docs examples clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# The CPU wheel of torch 2.13.0 lies on local disk; pinning it first keeps pip
	# from pulling a multi-GB CUDA build to satisfy torch>=2.4.
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/cogdyn reproduce --preset quick --out runs/quick

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -q

# After `make run`: copy the quick study (report, claims, stats, results, run.json) into the docs.
examples: $(STAMP)
	$(BIN)/python docs/examples/ship.py runs/quick docs/examples/quick

lint: $(STAMP)
	$(BIN)/ruff check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/pip install -q -e '.[bench]'
	$(BIN)/python benchmarks/bench_supervised.py
	$(BIN)/python benchmarks/bench_ppo.py
	$(BIN)/python benchmarks/bench_census.py
	if test -d runs/quick; then $(BIN)/python benchmarks/bench_fixed_points.py; \
	else echo "bench_fixed_points: skipped, it reads the quick study's networks (make run)"; fi

docs: $(STAMP)
	$(BIN)/pip install -q -e '.[docs]'
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

clean:
	rm -rf $(VENV) runs site .pytest_cache
