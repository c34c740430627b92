# Entry points for people and CI. Everything the project needs is installed from here.
#   make demo   set up, then build the two-node lab and ping across the overlay
#   make test   set up, then run every test (unit + real OVS / Ryu / ping end-to-end)
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
export PIP_CONSTRAINT := $(CURDIR)/constraints.txt
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: setup system-deps venv install test unit demo lab-down clean

setup: system-deps install

# Debian packages: OVS (userspace datapath is enough), Linux bridge tools, ping.
system-deps:
	@bash tools/install-system-deps.sh

$(VENV)/bin/python:
	python3 -m venv $(VENV)

venv: $(VENV)/bin/python

# Non-editable on purpose: the install must place the .pth start-up hook in
# site-packages, as it will on a user's machine.
install: venv
	$(VENV)/bin/pip install -q --upgrade 'pip<25' wheel
	$(VENV)/bin/pip install -q '.[test]'

test: setup
	$(VENV)/bin/pytest -ra $(PYTEST_ARGS)

unit: install
	$(VENV)/bin/pytest -ra tests/unit $(PYTEST_ARGS)

demo: setup
	$(VENV)/bin/ryu-vxlan-vpc lab up

lab-down:
	$(VENV)/bin/ryu-vxlan-vpc lab down

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
