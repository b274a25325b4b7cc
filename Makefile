# Lotse — the two commands a newcomer needs are `make run` and `make test`.
# Go 1.27.3 is required (this machine's Go 1.26.8 has known standard-library
# vulnerabilities); the go command fetches it from the module proxy.
export GOTOOLCHAIN := go1.27.3

GO          ?= go
NPM         ?= npm
STATICCHECK ?= $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2
FUZZTIME    ?= 5s
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT      ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
LDFLAGS     := -X github.com/lotse-io/lotse/internal/buildinfo.version=$(VERSION) \
               -X github.com/lotse-io/lotse/internal/buildinfo.commit=$(COMMIT)

SDK_DIR  := web-sdk
SDK_SRC  := $(shell find $(SDK_DIR)/src -type f) $(SDK_DIR)/build.mjs $(SDK_DIR)/package.json $(SDK_DIR)/tsconfig.json
SDK_OUT  := $(SDK_DIR)/dist/lotse.js
SDK_DEPS := $(SDK_DIR)/node_modules/.package-lock.json

.PHONY: run build sdk sdk-check test fmt-check vet staticcheck go-test fuzz bench clean

## run: build the web SDK if needed, then start Lotse on its embedded default (SQLite in ./lotse-data)
run: sdk
	$(GO) run -ldflags '$(LDFLAGS)' ./cmd/lotse serve --dev

## build: build bin/lotse with the web SDK embedded
build: sdk
	$(GO) build -ldflags '$(LDFLAGS)' -o bin/lotse ./cmd/lotse

## sdk: build the browser code into web-sdk/dist (embedded by the Go build)
sdk: $(SDK_OUT)

$(SDK_DEPS): $(SDK_DIR)/package-lock.json
	cd $(SDK_DIR) && $(NPM) ci --ignore-scripts --no-audit --no-fund

$(SDK_OUT): $(SDK_DEPS) $(SDK_SRC)
	cd $(SDK_DIR) && $(NPM) run --silent build

## sdk-check: type-check the TypeScript (strict)
sdk-check: $(SDK_DEPS)
	cd $(SDK_DIR) && $(NPM) run --silent typecheck

## test: every check — SDK build and type check, gofmt, go vet, staticcheck,
## the Go tests with the race detector (browser tests included), brief fuzzing
test: sdk sdk-check fmt-check vet staticcheck go-test fuzz

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './web-sdk/node_modules/*')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

staticcheck:
	$(STATICCHECK) ./...

go-test: sdk
	$(GO) test -race -count=1 -timeout 20m ./...

## fuzz: run every fuzz target for FUZZTIME (default 5s) each
fuzz:
	@set -e; $(GO) list -f '{{.Dir}} {{.ImportPath}}' ./... | while read dir pkg; do \
	  for f in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$dir/*_test.go 2>/dev/null | sed 's/^func //'); do \
	    echo "fuzz $$pkg $$f ($(FUZZTIME))"; \
	    $(GO) test -run='^$$' -fuzz="^$$f$$" -fuzztime=$(FUZZTIME) $$pkg > /tmp/lotse-fuzz.log 2>&1 || { cat /tmp/lotse-fuzz.log; exit 1; }; \
	  done; \
	done

## bench: Go benchmarks (lotse bench arrives with the media planes)
bench: sdk
	$(GO) test -run='^$$' -bench=. -benchmem ./...

clean:
	rm -rf bin $(SDK_DIR)/dist/*.js $(SDK_DIR)/dist/*.map $(SDK_DIR)/dist/*.css $(SDK_DIR)/dist/console
