# The two commands of the README: `make up` and `make test`.
BUILD ?= build
RELEASE ?= build-release
JOBS ?= 2

.PHONY: all deps build release up test clean

all: build

deps:
	@scripts/install-deps

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja

build: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

# The build type packagers use must build too: at -O3 GCC warns where it does not at -O2, and
# warnings are errors. Its unit tests run as well (the optimiser changes what code does when it
# relies on something undefined).
$(RELEASE)/build.ninja:
	cmake -S . -B $(RELEASE) -G Ninja -DCMAKE_BUILD_TYPE=Release

release: deps $(RELEASE)/build.ninja
	cmake --build $(RELEASE) -j $(JOBS)

up: build
	$(BUILD)/rp up -f Procfile.example

test: build release
	$(RELEASE)/tests/rp_unit_tests
	cd $(BUILD) && ctest --output-on-failure

clean:
	rm -rf $(BUILD) $(RELEASE)
