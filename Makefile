# colbert-go: every developer and CI entry point. `make demo` and `make test`
# are the two commands of the README; both call `make setup` first.
SHELL := /bin/bash
GO ?= go
DEPS := $(CURDIR)/.deps
ORT_VERSION := 1.24.1
ORT_LIB := $(DEPS)/onnxruntime/libonnxruntime.so.1
NODE_MODULES := $(DEPS)/node/node_modules
# Node packages used only by interop tests: DuckDB reads our Parquet, HF's tokenizers.js checks our tokenizer.
NODE_PACKAGES := @duckdb/node-api @huggingface/tokenizers@0.2.0
NODE_STAMP := $(NODE_MODULES)/.colbert-go-$(shell echo '$(NODE_PACKAGES)' | cksum | cut -d' ' -f1)
BIN := $(CURDIR)/bin/colbert
# OpenBLAS is used when its library is installed; the pure-Go build is the fallback.
TAGS := $(shell test -e /usr/lib/x86_64-linux-gnu/libopenblas.so && echo openblas)
export ONNXRUNTIME_LIB ?= $(ORT_LIB)
export COLBERT_DUCKDB_NODE_MODULES := $(NODE_MODULES)
export COLBERT_NODE_MODULES := $(NODE_MODULES)
TEST_TIMEOUT ?= 25m
FUZZTIME ?= 5s

.PHONY: setup setup-apt setup-ort setup-node setup-bench build test test-run fuzz demo demo-full bench bench-run bench-train bench-train-run bench-encode bench-encode-run lint clean

## setup: install what is missing (idempotent): Debian packages, ONNX Runtime from npm, Node packages for interop tests.
setup: setup-apt setup-ort setup-node

# python3-faiss and python3-numpy: the demo's faiss IVFPQ peer row (experiments/demo/faiss.go runs /usr/bin/python3).
APT_PACKAGES := libopenblas-dev nodejs npm python3-faiss python3-numpy
setup-apt:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then missing=$$(echo $$missing | tr ' ' '\n' | grep -v -x -e nodejs -e npm | tr '\n' ' '); fi; fi; \
	if [ -n "$$(echo $$missing)" ]; then \
	  echo "setup: installing Debian packages:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q $$missing; \
	else echo "setup: Debian packages present"; fi

# ONNX Runtime's shared library comes from the npm package onnxruntime-node (no other download).
setup-ort: $(ORT_LIB)
$(ORT_LIB):
	@echo "setup: fetching ONNX Runtime $(ORT_VERSION) via npm pack onnxruntime-node"
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf $$tmp' EXIT; \
	  (cd $$tmp && npm pack --silent onnxruntime-node@$(ORT_VERSION) >/dev/null && tar xzf onnxruntime-node-$(ORT_VERSION).tgz); \
	  mkdir -p $(DEPS)/onnxruntime; \
	  cp $$tmp/package/bin/napi-v6/linux/x64/libonnxruntime.so.1* $(DEPS)/onnxruntime/; \
	  test -e $(ORT_LIB)

setup-node: $(NODE_STAMP)
$(NODE_STAMP):
	@echo "setup: installing $(NODE_PACKAGES) (interop tests)"
	@mkdir -p $(DEPS)/node && cd $(DEPS)/node && \
	  (test -f package.json || echo '{"name":"colbert-go-deps","private":true}' > package.json) && \
	  npm install --silent --no-audit --no-fund $(NODE_PACKAGES) >/dev/null && touch $(NODE_STAMP)

## setup-bench: the Python peers used by `make bench` (PyTorch, faiss, onnx from Debian).
setup-bench: setup
	@missing=""; for p in python3-torch python3-faiss python3-onnx python3-numpy; do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q $$missing; fi

build:
	$(GO) build -tags '$(TAGS)' -o $(BIN) ./cmd/colbert

## test: vet, unit and parity tests, and a brief run of every fuzz target.
# Re-invokes make after setup so that TAGS sees a freshly installed OpenBLAS.
test: setup
	@$(MAKE) --no-print-directory test-run

test-run:
	$(GO) vet -tags '$(TAGS)' ./...
	$(GO) test -tags '$(TAGS)' -timeout $(TEST_TIMEOUT) ./...
	@$(MAKE) --no-print-directory fuzz

# Runs each FuzzXxx target for FUZZTIME (seeds are committed under testdata/fuzz).
# A failing input is saved under testdata/fuzz and replayed first on the retry, so
# a real failure fails twice; a failure the retry does not reproduce is the fuzz
# engine itself (a worker hung or killed on a loaded machine) and is reported, not fatal.
fuzz:
	@set -e; log=$$(mktemp); trap 'rm -f $$log' EXIT; \
	for pkg in $$($(GO) list ./...); do \
	  dir=$$($(GO) list -f '{{.Dir}}' $$pkg); \
	  for f in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$dir/*_test.go 2>/dev/null | sed 's/^func //'); do \
	    echo "fuzz: $$pkg $$f ($(FUZZTIME))"; \
	    $(GO) test -tags '$(TAGS)' -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 1s $$pkg >$$log 2>&1 && continue; \
	    echo "fuzz: $$f failed; its output:"; cat $$log; echo "fuzz: retrying $$f (replays any saved failing input first)"; \
	    $(GO) test -tags '$(TAGS)' -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 1s $$pkg || exit 1; \
	    echo "fuzz: $$f passed on retry with no saved failing input: the first failure was the fuzz engine, see its output above"; \
	  done; done

## demo: the whole pipeline on the built-in benchmark; re-runs reuse finished stages.
DEMO_DIR ?= $(CURDIR)/demo
demo: setup
	@$(MAKE) --no-print-directory build
	$(BIN) demo --out $(DEMO_DIR)

## demo-full: the demo with the full teacher recipe (1 000 steps on random negatives + 1 000 on hard ones; ≈ 21 min on 2 cores).
demo-full: setup
	@$(MAKE) --no-print-directory build
	$(BIN) demo --full --out $(DEMO_DIR)-full

## bench: Go benchmarks next to their peers (PyTorch, faiss, OpenBLAS, ONNX Runtime) in one run; see BENCHMARKS.md.
bench: setup-bench
	@$(MAKE) --no-print-directory bench-run

bench-run:
	TAGS='$(TAGS)' experiments/bench.sh

## bench-train: one training step of the demo's KL student in Go, in PyTorch 1.13 and as OpenBLAS sgemm at its largest GEMM (2 threads); see BENCHMARKS.md.
bench-train: setup-bench
	@$(MAKE) --no-print-directory bench-train-run

bench-train-run:
	TAGS='$(TAGS)' experiments/bench_train.sh

## bench-encode: ColBERT encoding of a generated bert-base-shaped checkpoint, ours next to PyTorch 1.13's (2 threads, same weights, inputs and OpenBLAS core); see BENCHMARKS.md.
bench-encode: setup-bench
	@$(MAKE) --no-print-directory bench-encode-run

bench-encode-run:
	TAGS='$(TAGS)' experiments/bench_encode.sh

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet -tags '$(TAGS)' ./...

clean:
	rm -rf bin
