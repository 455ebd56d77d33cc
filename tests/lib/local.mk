# tests/lib/: the one copy of every test helper.
# libtestutil: the CUnit runner and assertions (testutil), forked children
# that report through pipes (procutil), and direct access to a store's
# catalog and data files as docs/format.md describes them (storeutil).
check_LTLIBRARIES += tests/lib/libtestutil.la
tests_lib_libtestutil_la_SOURCES = tests/lib/testutil.c tests/lib/testutil.h \
	tests/lib/procutil.c tests/lib/procutil.h \
	tests/lib/storeutil.c tests/lib/storeutil.h tests/lib/rng.h
tests_lib_libtestutil_la_CFLAGS = $(TEST_CFLAGS)

# Programs the tests run: mms-testhelper drives the C API from shell tests
# and test_multiproc; mms-lockhold holds a lock for test_cli.sh.
check_PROGRAMS += tests/lib/mms-testhelper tests/lib/mms-lockhold
tests_lib_mms_testhelper_LDADD = src/libmmstore.la
tests_lib_mms_lockhold_LDADD = src/libmmstore.la

# The shell tests' helper, sourced by every tests/*/*.sh.
dist_check_SCRIPTS += tests/lib/lib.sh
