# Dalil: the two commands a newcomer needs are `make run` and `make test`.
UV ?= $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)
DALIL = $(UV) run --frozen dalil

.PHONY: run test install lint typecheck pytest kb bench schema clean

install: $(UV)
	$(UV) sync --frozen

$(UV):
	@echo "uv not found: installing it for this user (into ~/.local/bin)"
	python3 -m pip install --quiet --user uv || python3 -m pip install --quiet --user --break-system-packages uv
	@command -v uv >/dev/null || echo 'uv is in ~/.local/bin: run  export PATH="$$HOME/.local/bin:$$PATH"  for the uv commands in the README'

run: install
	$(DALIL) kb build
	$(DALIL) nlu train
	$(DALIL) chat

test: install lint typecheck pytest

lint:
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .

typecheck:
	$(UV) run --frozen mypy

# pytest exits 5 when it collected no tests; that is a failure here, not a pass.
pytest:
	$(UV) run --frozen pytest -q

kb:
	$(DALIL) kb build

schema:
	$(DALIL) kb schema

bench: install
	$(UV) run --frozen python -m bench.kb_bench
	$(UV) run --frozen python -m bench.nlu_predict

clean:
	rm -rf var/ models/ .mypy_cache .ruff_cache .pytest_cache
