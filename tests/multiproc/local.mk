# tests/multiproc/: real processes forked, racing and killed: attach by name,
# writers killed with SIGKILL, publish against readers, range and named
# locks, atomics and wait/wake, and the crash torture.
MULTIPROC_TESTS = \
	tests/multiproc/test_multiproc \
	tests/multiproc/test_publish \
	tests/multiproc/test_locks \
	tests/multiproc/test_atomics \
	tests/multiproc/test_writers
check_PROGRAMS += $(MULTIPROC_TESTS)
TESTS += $(MULTIPROC_TESTS)
tests_multiproc_test_multiproc_CFLAGS = $(TEST_CFLAGS)
tests_multiproc_test_multiproc_LDADD = $(TEST_LDADD)
tests_multiproc_test_publish_CFLAGS = $(TEST_CFLAGS)
tests_multiproc_test_publish_LDADD = $(TEST_LDADD)
tests_multiproc_test_locks_CFLAGS = $(TEST_CFLAGS)
tests_multiproc_test_locks_LDADD = $(TEST_LDADD)
tests_multiproc_test_atomics_CFLAGS = $(TEST_CFLAGS)
tests_multiproc_test_atomics_LDADD = $(TEST_LDADD)
tests_multiproc_test_writers_CFLAGS = $(TEST_CFLAGS)
tests_multiproc_test_writers_LDADD = $(TEST_LDADD)

# Crash torture: `make check` runs 50 kills (test_torture.sh),
# `make torture` 1,000.
check_PROGRAMS += tests/multiproc/torture
TESTS += tests/multiproc/test_torture.sh
dist_check_SCRIPTS += tests/multiproc/test_torture.sh
tests_multiproc_torture_CFLAGS = $(TEST_CFLAGS)
tests_multiproc_torture_LDADD = $(TEST_LDADD)

torture: tests/multiproc/torture
	$(top_builddir)/tests/multiproc/torture --kills 1000
PHONY += torture

# `make check-valgrind` runs the multi-process and array suites under
# valgrind's memcheck: any memory error or definite leak fails. Forked
# children run under valgrind too (programs they exec do not); they leave
# with _exit while the parent's store is still allocated, which valgrind
# calls "possibly lost" (LMDB keeps interior pointers to its page lists),
# so only definite leaks count as errors.
VALGRIND = valgrind
VALGRIND_FLAGS = --error-exitcode=1 --leak-check=full --trace-children=no \
	--errors-for-leak-kinds=definite
VALGRIND_TESTS = tests/multiproc/test_multiproc tests/multiproc/test_writers \
	tests/api/test_array \
	tests/multiproc/test_locks tests/multiproc/test_atomics
check-valgrind: $(check_LTLIBRARIES) $(check_PROGRAMS)
	@status=0; for t in $(VALGRIND_TESTS); do \
	    echo "check-valgrind: $$t"; \
	    ( $(AM_TESTS_ENVIRONMENT) $(LIBTOOL) --mode=execute \
	        $(VALGRIND) $(VALGRIND_FLAGS) $(top_builddir)/$$t ) || { \
	        echo "check-valgrind: $$t FAILED"; status=1; }; \
	done; exit $$status
PHONY += check-valgrind
