# Bespoke — see README.md. Every target works on a fresh clone with Go installed.
GO        ?= go
PKGS      := ./...
BIN       := bin/bespoke
# The tests run with the race detector; -p 2 matches this project's 2-core reference machine.
TESTFLAGS ?= -race -count=1 -timeout 15m

.PHONY: all build demo demo-quick test test-go test-js test-short bench lint fmt fuzz clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -o $(BIN) ./cmd/bespoke

# The main job on embedded defaults: the default world's A/B table, then the storefront
# and dashboard keep serving on 127.0.0.1:8080 until Ctrl-C (5 to 9 minutes to the table).
demo: build
	./$(BIN) demo

# The same story on a small world: the table within 3 minutes, then it exits.
demo-quick: build
	./$(BIN) demo --quick

test: test-go test-js

test-go:
	$(GO) test $(TESTFLAGS) $(PKGS)

# The browser SDK in headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core).
test-js:
	cd clients/js && { [ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error; } && npm test

test-short:
	$(GO) test -short -count=1 $(PKGS)

# Benchmarks of hot paths (allocations reported); long load runs are `bespoke bench …`.
bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 2s $(PKGS)

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

fmt:
	gofmt -w $$(git ls-files '*.go')

# Short fuzzing of every parser (FUZZTIME per target).
FUZZTIME ?= 20s
fuzz:
	@for spec in $$(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u); do \
	  for f in $$(grep -h '^func Fuzz' $$spec/*_test.go | sed 's/func \(Fuzz[A-Za-z0-9_]*\).*/\1/'); do \
	    echo "== $$spec $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$spec || exit 1; \
	  done; \
	done

clean:
	rm -rf bin
