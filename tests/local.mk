# tests/: everything `make check` runs, one folder per kind (tests/README.md
# says which, how to run one test and where a new one goes). What every
# kind shares is here; each folder's local.mk, included at the end, lists
# its own tests.
TEST_EXTENSIONS = .sh .py
SH_LOG_COMPILER = $(SHELL)
PY_LOG_COMPILER = $(PYTHON3)
# MMS_TEST_LONG comes from the environment or the make command line
# (`make check-long` sets it): slow tests run only when it is set.
AM_TESTS_ENVIRONMENT = \
	top_srcdir='$(abs_top_srcdir)' top_builddir='$(abs_top_builddir)' \
	PYTHON3='$(PYTHON3)' MDB_STAT='$(MDB_STAT)' \
	MMS_TEST_LONG='$(MMS_TEST_LONG)' SANITIZER_FLAGS='$(SANITIZER_FLAGS)'; \
	export top_srcdir top_builddir PYTHON3 MDB_STAT MMS_TEST_LONG \
	SANITIZER_FLAGS;

# Every test program compiles with TEST_CFLAGS (the helpers' headers are in
# tests/lib/) and links TEST_LDADD (the helpers' library, libmmstore and
# what the helpers use directly).
TEST_CFLAGS = $(AM_CFLAGS) -I$(top_srcdir)/tests/lib $(CUNIT_CFLAGS) \
	$(LMDB_CFLAGS) $(XXHASH_CFLAGS)
TEST_LDADD = tests/lib/libtestutil.la src/libmmstore.la $(CUNIT_LIBS) \
	$(LMDB_LIBS) $(XXHASH_LIBS) $(PTHREAD_LIBS)

# `make check-long`: `make check` with the slow tests too (TU_SLOW_TEST in
# the CUnit programs, scripts that exit 77 without MMS_TEST_LONG).
check-long:
	$(MAKE) $(AM_MAKEFLAGS) check MMS_TEST_LONG=1
PHONY += check-long

EXTRA_DIST += tests/README.md

include tests/lib/local.mk
include tests/api/local.mk
include tests/multiproc/local.mk
include tests/cli/local.mk
include tests/examples/local.mk
include tests/unit/local.mk
include tests/faults/local.mk
# The soak runs last: it is the longest.
include tests/soak/local.mk
