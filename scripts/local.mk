# scripts/: install the dependencies, build, run the tests, the demo.
EXTRA_DIST += scripts/install-deps.sh scripts/build.sh scripts/check.sh \
	scripts/demo.sh
