# tests/faults/: injected system-call failures. Each program interposes on
# the libc calls it breaks (its own definitions win over libc's for the
# library too) and checks that nothing is lost or trusted afterwards.
FAULT_TESTS = tests/faults/test_io_errors
check_PROGRAMS += $(FAULT_TESTS)
TESTS += $(FAULT_TESTS)
tests_faults_test_io_errors_CFLAGS = $(TEST_CFLAGS)
tests_faults_test_io_errors_LDADD = $(TEST_LDADD)
