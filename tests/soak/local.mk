# tests/soak/: the soak test: workers writing rows, adding to counters,
# publishing, resizing and reading for a minute (`make check`, with kills)
# or ten (`make check-long`), then an oracle over the whole store.
check_PROGRAMS += tests/soak/soak
TESTS += tests/soak/test_soak.sh
dist_check_SCRIPTS += tests/soak/test_soak.sh
tests_soak_soak_CFLAGS = $(TEST_CFLAGS)
tests_soak_soak_LDADD = $(TEST_LDADD)
