# tests/: pytest with Debian's Python. `make check` runs everything, after
# making sure QEMU, Bochs (with GRUB's tools) and the Python modules are there.
PYTEST = $(PYTHON) -m pytest

NEED_TEST = $(Q)boot/need.sh $(PYTHON):python3 python:pytest:python3-pytest \
	python:pexpect:python3-pexpect python:yaml:python3-yaml python:jinja2:python3-jinja2 \
	$(QEMU):qemu-system-x86

## check          build everything and run all tests (TESTS=... to pick, e.g. TESTS=tests/test_lv6_bare.py)
TESTS ?= tests
check:
	$(NEED_TEST)
	$(NEED_BOCHS)
	$(NEED_BENCH)
	$(Q)$(MAKE) -s all
	$(Q)$(PYTEST) -q $(PYTEST_FLAGS) $(TESTS)

.PHONY: check
