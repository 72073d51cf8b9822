# landfall — every target installs what it needs; run from a fresh clone.
GO        ?= go
BIN       := bin/landfall
PKGS      := ./...
STATICCHECK_VERSION := v0.6.1
export GOFLAGS := -buildvcs=false
# Stamped into the binary and into every data file (landfall.version). Outside
# a git checkout (a source tarball) it is "unknown"; override: make VERSION=v1.2.3.
VERSION   ?= $(shell git describe --always --dirty 2>/dev/null || echo unknown)
LDFLAGS   := -X main.version=$(VERSION)

.PHONY: all build image quickstart test test-deps lint fuzz bench bench-hdfs bench-broker e2e clean

all: build

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/landfall

# The container image, without a Docker daemon: a static binary on scratch
# with the CA bundle (deploy/image says what else and why), written as
# out/image/landfall.tar for `docker load -i` / `podman load -i`.
# SOURCE_DATE_EPOCH (the last commit's time) makes the digest reproducible.
image:
	CGO_ENABLED=0 GOOS=linux $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o out/image/landfall ./cmd/landfall
	SOURCE_DATE_EPOCH=$$(git log -1 --format=%ct 2>/dev/null || echo 0) \
	  $(GO) run ./deploy/image --binary out/image/landfall --out out/image/landfall.tar \
	  --tag landfall:$(VERSION) --version $(VERSION)

# Runs landfall on an embedded default: in-process Kafka, embedded etcd, a
# local warehouse under out/quickstart. Override: make quickstart ARGS="--duration 2m --format text".
quickstart: build
	$(BIN) quickstart --dir out/quickstart $(ARGS)

# The whole fast suite: unit, integration (kfake, embedded etcd, local FS),
# crash and kill -9 tests. Real-cluster tests are `make e2e`.
test: build test-deps
	$(GO) vet $(PKGS)
	$(GO) test -count=1 -timeout 20m $(PKGS)
	@# The patch carried in third_party/hdfs (not in ./...: its own module),
	@# tested with the versions landfall builds it with.
	$(GO) test -count=1 github.com/colinmarc/hdfs/v2/internal/transfer

# What the fast suite reads files with (lzop, Apache ORC tools with Java and
# Maven, pyarrow in a venv under .cache/), checks deploy/ with (systemd-analyze,
# promtool) and ../shared's test data: each e2e/deps/test-*.sh installs one if
# it is missing, or says why it can't.
test-deps:
	@for s in $$(ls e2e/deps/test-*.sh 2>/dev/null); do bash $$s || exit 1; done

# Real Kafka, HDFS, Hive metastore and etcd on loopback, then the e2e tests.
e2e: build test-deps
	bash e2e/run.sh

lint:
	@command -v staticcheck >/dev/null 2>&1 || $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	@# third_party/ is upstream code as released (see its README): kept as it is, not reformatted.
	@test -z "$$(gofmt -l $$(git ls-files '*.go' ':!third_party'))" || { gofmt -l $$(git ls-files '*.go' ':!third_party'); echo "gofmt: files above need formatting"; exit 1; }
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

# BenchmarkPipeline and BenchmarkCheckpointStall with their warehouse on a real HDFS (a NameNode and a
# DataNode on loopback, from make e2e's service script), as in production.
BENCH_HDFS_STATE = $(CURDIR)/out/bench-hdfs
bench-hdfs: test-deps
	E2E_STATE=$(BENCH_HDFS_STATE) bash e2e/services/hdfs.sh start
	LANDFALL_BENCH_WAREHOUSE=hdfs://127.0.0.1:19000/bench $(GO) test -run '^$$' -bench 'BenchmarkPipeline|BenchmarkCheckpointStall' -benchtime 3x -count 1 ./committer/; \
	  rc=$$?; E2E_STATE=$(BENCH_HDFS_STATE) bash e2e/services/hdfs.sh stop; exit $$rc

# bin/landfall at GOMAXPROCS=1 and 2 draining a real broker (make e2e's
# Kafka, another process) onto HDFS: records/s and per CPU-second, as a
# table (e2e/throughput_test.go, which make e2e runs on 100k records as a
# test). LANDFALL_E2E_BENCH_RECORDS sets the size.
bench-broker: build test-deps
	E2E_SERVICES="etcd kafka hdfs" E2E_RUN='^TestBrokerThroughput$$' LANDFALL_E2E_BENCH=1 bash e2e/run.sh

clean:
	rm -rf bin out .cache
