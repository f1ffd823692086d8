# The build shared by every function (template.yaml: Metadata BuildMethod makefile). Each
# functions/<name>/Makefile includes this file; `sam build` runs `make build-<LogicalId>` with
# ARTIFACTS_DIR set.
#
# The handler (app.py, and any other module beside it) ships with its precompiled bytecode, like
# the layer (see layers/flexcord/Makefile): Lambda's file system is read-only, so a module without
# a .pyc is compiled on every cold start.

PYTHON ?= python3.13

# The folder of the Makefile that included this one: the function's own code.
FUNCTION_DIR := $(patsubst %/,%,$(dir $(abspath $(firstword $(MAKEFILE_LIST)))))

build-%:
	@test -n "$(ARTIFACTS_DIR)" || { echo "ARTIFACTS_DIR is not set" >&2; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' || { \
		echo "$(PYTHON) is not Python 3.13: its .pyc files would be ignored by the python3.13 runtime" >&2; exit 1; }
	mkdir -p "$(ARTIFACTS_DIR)"
	cp "$(FUNCTION_DIR)"/*.py "$(ARTIFACTS_DIR)/"
	$(PYTHON) -m compileall -q -j 0 --invalidation-mode unchecked-hash "$(ARTIFACTS_DIR)"
