# The two commands of the README: `make up` and `make test`.
BUILD ?= build
JOBS ?= 2

.PHONY: all deps build up test clean

all: build

deps:
	@scripts/install-deps

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja

build: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

up: build
	$(BUILD)/rp up -f Procfile.example

test: build
	cd $(BUILD) && ctest --output-on-failure

clean:
	rm -rf $(BUILD)
