# landfall — every target installs what it needs; run from a fresh clone.
GO        ?= go
BIN       := bin/landfall
PKGS      := ./...
STATICCHECK_VERSION := v0.6.1
export GOFLAGS := -buildvcs=false

.PHONY: all build quickstart test test-deps lint fuzz bench bench-hdfs e2e clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/landfall

# Runs landfall on an embedded default: in-process Kafka, embedded etcd, a
# local warehouse under out/quickstart. Override: make quickstart ARGS="--duration 2m --format text".
quickstart: build
	$(BIN) quickstart --dir out/quickstart $(ARGS)

# The whole fast suite: unit, integration (kfake, embedded etcd, local FS),
# crash and kill -9 tests. Real-cluster tests are `make e2e`.
test: build test-deps
	$(GO) vet $(PKGS)
	$(GO) test -count=1 -timeout 20m $(PKGS)

# Tools the fast suite checks against (lzop, Apache ORC tools, pyarrow,
# promtool for the alert rules): each
# e2e/deps/test-*.sh installs one if it is missing and caches it under .cache/.
test-deps:
	@for s in $$(ls e2e/deps/test-*.sh 2>/dev/null); do bash $$s || exit 1; done

# Real Kafka, HDFS, Hive metastore and etcd on loopback, then the e2e tests.
e2e: build test-deps
	bash e2e/run.sh

lint:
	@command -v staticcheck >/dev/null 2>&1 || $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting"; exit 1; }
	$(GO) vet $(PKGS)
	PATH="$$PATH:$$($(GO) env GOPATH)/bin" staticcheck $(PKGS)

# Short fuzzing of every decoder; FUZZTIME=5m for longer runs.
FUZZTIME ?= 20s
fuzz:
	@for t in $$(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u); do \
	  for f in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$t/*_test.go | sed 's/func //'); do \
	    echo "fuzz $$t $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$t || exit 1; \
	  done; done

bench:
	$(GO) test -run '^$$' -bench . -benchtime 1x -count 1 $(PKGS)

# BenchmarkPipeline with its warehouse on a real HDFS (a NameNode and a
# DataNode on loopback, from make e2e's service script), as in production.
BENCH_HDFS_STATE = $(CURDIR)/out/bench-hdfs
bench-hdfs: test-deps
	E2E_STATE=$(BENCH_HDFS_STATE) bash e2e/services/hdfs.sh start
	LANDFALL_BENCH_WAREHOUSE=hdfs://127.0.0.1:19000/bench $(GO) test -run '^$$' -bench 'BenchmarkPipeline' -benchtime 3x -count 1 ./committer/; \
	  rc=$$?; E2E_STATE=$(BENCH_HDFS_STATE) bash e2e/services/hdfs.sh stop; exit $$rc

clean:
	rm -rf bin out .cache
