# Two commands for a newcomer: `make demo` and `make test`. Both set up what
# they need first; a second run skips every step whose inputs did not change.
#
#   .venv/.installed       Python 3.11 virtual environment with requirements.txt (+ requirements-hardware.txt)
#   install/.built         colcon build of the skill_stack package (interfaces + code)
#   .venv/bin/skill-stack  the command-line entry point (works without activation)

PYTHON ?= python3
VENV := .venv
STAMP_VENV := $(VENV)/.installed
STAMP_BUILD := install/.built
CLI := $(VENV)/bin/skill-stack
# Source the ROS 2 environment of the venv and the built package.
ENV := SKILL_STACK_ROOT=$(CURDIR) && export SKILL_STACK_ROOT && . scripts/env.sh &&

# With --symlink-install, edits to existing files need no rebuild; adding or
# removing files (a directory's mtime) and interface or build changes do.
BUILD_INPUTS := package.xml CMakeLists.txt $(wildcard cmake/*.cmake) \
	$(wildcard msg/*.msg srv/*.srv action/*.action) \
	$(shell find src launch config urdf -type d -not -name __pycache__ 2>/dev/null)

.PHONY: setup demo test test-fast lint bench lock clean help

help:
	@echo "make demo      set up, then run the demo (a task in words on the simulated arm, with a video)"
	@echo "make test      set up, then lint and run the test suite (what CI runs)"
	@echo "make test-fast skip tests marked slow (quick local loop)"
	@echo "make setup     only set up (.venv, colcon build, skill-stack command)"
	@echo "make lock      re-pin requirements.txt from requirements.in"
	@echo "make clean     remove build/, install/, log/ (keeps .venv)"

setup: $(STAMP_BUILD) $(CLI)

# requirements-hardware.txt (the vendor SDKs of the real-robot backends) goes in too, so their
# conformance tests run; it pins every package it needs, hence --no-deps (cflib's own pins would
# otherwise downgrade a package requirements.txt pins).
$(STAMP_VENV): requirements.txt requirements-hardware.txt scripts/system-deps.sh
	scripts/system-deps.sh
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --disable-pip-version-check -q -r requirements.txt
	$(VENV)/bin/python -m pip install --disable-pip-version-check -q --no-deps -r requirements-hardware.txt
	@touch $@

$(STAMP_BUILD): $(STAMP_VENV) $(BUILD_INPUTS)
	$(ENV) colcon --log-level error --log-base log build --base-paths . --symlink-install \
		--event-handlers console_cohesion- status- \
		--cmake-args -DBUILD_TESTING=OFF -DPython3_EXECUTABLE=$(CURDIR)/$(VENV)/bin/python \
		-DCMAKE_PROJECT_skill_stack_INCLUDE=$(CURDIR)/cmake/pip_wheels.cmake
	@touch $@

$(CLI): scripts/skill-stack $(STAMP_VENV)
	install -m 755 scripts/skill-stack $@

lint: $(STAMP_VENV)
	$(VENV)/bin/ruff check .

test: setup lint
	$(ENV) python -m pytest

test-fast: setup lint
	$(ENV) python -m pytest -m "not slow"

# The arm scene, a multi-step instruction, feedback as it comes, and a video of the camera view with the
# keypoints and the plan drawn on it (its path is printed at the end).
DEMO_SCENE := config/scenes/arm_blocks.yaml
DEMO_INSTRUCTION := put the red cube in the blue bowl, then push the green cylinder to the right
DEMO_VIDEO := out/demo.mp4

demo: setup
	$(CLI) run --scene $(DEMO_SCENE) "$(DEMO_INSTRUCTION)" --video $(DEMO_VIDEO)

lock: $(STAMP_VENV)
	$(VENV)/bin/python -m pip install --disable-pip-version-check -q -r requirements.in
	$(VENV)/bin/python scripts/freeze.py > requirements.txt

clean:
	rm -rf build install log
