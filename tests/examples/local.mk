# tests/examples/: the worked scenarios of docs/examples/, run as their
# pages show (the programs are built from docs/local.mk).
EXAMPLE_TESTS = \
	tests/examples/example_attach.sh \
	tests/examples/example_counter.sh \
	tests/examples/example_ring.sh \
	tests/examples/example_sum.sh \
	tests/examples/example_cache.sh \
	tests/examples/example_crash.sh \
	tests/examples/example_invert.sh
TESTS += $(EXAMPLE_TESTS)
dist_check_SCRIPTS += $(EXAMPLE_TESTS)
