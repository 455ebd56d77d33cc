# tests/: everything `make check` runs. tests/README.md says how to run one
# test and where a new one goes.
TEST_EXTENSIONS = .sh
SH_LOG_COMPILER = $(SHELL)
AM_TESTS_ENVIRONMENT = \
	top_srcdir='$(abs_top_srcdir)' top_builddir='$(abs_top_builddir)' \
	PYTHON3='$(PYTHON3)' MDB_STAT='$(MDB_STAT)'; export top_srcdir \
	top_builddir PYTHON3 MDB_STAT;

TEST_CUNIT = \
	tests/test_basics \
	tests/test_store \
	tests/test_array \
	tests/test_checksum \
	tests/test_attr \
	tests/test_catalog \
	tests/test_check \
	tests/test_multiproc \
	tests/test_publish \
	tests/test_locks \
	tests/test_atomics
check_PROGRAMS += $(TEST_CUNIT) tests/mms-testhelper tests/mms-lockhold
TESTS += $(TEST_CUNIT) \
	tests/test_numpy.sh \
	tests/test_mdb_stat.sh \
	tests/test_symbols.sh
dist_check_SCRIPTS += tests/test_numpy.sh tests/test_mdb_stat.sh \
	tests/test_symbols.sh tests/lib.sh tests/numpy_check.py

TEST_LDADD = tests/libtestutil.la src/libmmstore.la $(CUNIT_LIBS) \
	$(LMDB_LIBS) $(XXHASH_LIBS) $(PTHREAD_LIBS)
TEST_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS) $(LMDB_CFLAGS) $(XXHASH_CFLAGS)
check_LTLIBRARIES += tests/libtestutil.la
tests_libtestutil_la_SOURCES = tests/testutil.c tests/testutil.h
tests_libtestutil_la_CFLAGS = $(TEST_CFLAGS)

# Direct access to a store's catalog and data files (docs/format.md).
STOREUTIL = tests/storeutil.c tests/storeutil.h
tests_test_basics_CFLAGS = $(TEST_CFLAGS)
tests_test_basics_LDADD = $(TEST_LDADD)
tests_test_store_SOURCES = tests/test_store.c $(STOREUTIL)
tests_test_store_CFLAGS = $(TEST_CFLAGS)
tests_test_store_LDADD = $(TEST_LDADD)
tests_test_array_SOURCES = tests/test_array.c $(STOREUTIL)
tests_test_array_CFLAGS = $(TEST_CFLAGS)
tests_test_array_LDADD = $(TEST_LDADD)
tests_test_checksum_SOURCES = tests/test_checksum.c $(STOREUTIL)
tests_test_checksum_CFLAGS = $(TEST_CFLAGS)
tests_test_checksum_LDADD = $(TEST_LDADD)
tests_test_attr_SOURCES = tests/test_attr.c $(STOREUTIL)
tests_test_attr_CFLAGS = $(TEST_CFLAGS)
tests_test_attr_LDADD = $(TEST_LDADD)
tests_test_catalog_CFLAGS = $(TEST_CFLAGS)
tests_test_catalog_LDADD = $(TEST_LDADD)
tests_test_check_CFLAGS = $(TEST_CFLAGS)
tests_test_check_LDADD = $(TEST_LDADD)
tests_test_multiproc_CFLAGS = $(TEST_CFLAGS)
tests_test_multiproc_LDADD = $(TEST_LDADD)
# Forked children that report through pipes (multi-process suites).
PROCUTIL = tests/procutil.c tests/procutil.h
tests_test_multiproc_SOURCES = tests/test_multiproc.c $(PROCUTIL)
tests_test_locks_SOURCES = tests/test_locks.c $(PROCUTIL)
tests_test_locks_CFLAGS = $(TEST_CFLAGS)
tests_test_locks_LDADD = $(TEST_LDADD)
tests_test_atomics_SOURCES = tests/test_atomics.c $(PROCUTIL)
tests_test_atomics_CFLAGS = $(TEST_CFLAGS)
tests_test_atomics_LDADD = $(TEST_LDADD)
tests_mms_testhelper_SOURCES = tests/mms-testhelper.c
tests_mms_testhelper_LDADD = src/libmmstore.la
tests_mms_lockhold_SOURCES = tests/mms-lockhold.c
tests_mms_lockhold_LDADD = src/libmmstore.la
# The command-line tool: every command, its errors, --json, show against
# NumPy, progress bars on a terminal only.
TESTS += tests/test_cli.sh
dist_check_SCRIPTS += tests/test_cli.sh
# import, export, dump and restore against NumPy, zstd and tar, and the
# malformed inputs of tests/corpus/ (made once by its make-corpus.py).
TESTS += tests/test_io.sh
dist_check_SCRIPTS += tests/test_io.sh tests/io_numpy.py
EXTRA_DIST += tests/corpus
# PNG and JPEG import and export against Pillow, with malformed files.
TESTS += tests/test_image.sh
dist_check_SCRIPTS += tests/test_image.sh tests/image_pil.py
# The tour at the top of README.md, compiled and run as printed.
TESTS += tests/test_readme.sh
dist_check_SCRIPTS += tests/test_readme.sh
tests_test_publish_SOURCES = tests/test_publish.c $(PROCUTIL) $(STOREUTIL)
tests_test_publish_CFLAGS = $(TEST_CFLAGS)
tests_test_publish_LDADD = $(TEST_LDADD)
# Crash torture: `make check` runs 50 kills (tests/test_torture.sh),
# `make torture` 1,000.
check_PROGRAMS += tests/torture
TESTS += tests/test_torture.sh
dist_check_SCRIPTS += tests/test_torture.sh
tests_torture_SOURCES = tests/torture.c
tests_torture_CFLAGS = $(TEST_CFLAGS)
tests_torture_LDADD = $(TEST_LDADD)

torture: tests/torture
	$(top_builddir)/tests/torture --kills 1000
PHONY += torture

# The worked scenarios of docs/examples/, run as their pages show.
TESTS += tests/example_attach.sh tests/example_counter.sh \
	tests/example_ring.sh tests/example_sum.sh tests/example_cache.sh \
	tests/example_crash.sh tests/example_invert.sh
dist_check_SCRIPTS += tests/example_attach.sh tests/example_counter.sh \
	tests/example_ring.sh tests/example_sum.sh tests/example_cache.sh \
	tests/example_crash.sh tests/example_invert.sh

# `make check-valgrind` runs the multi-process and array suites under
# valgrind's memcheck: any memory error or definite leak fails. Forked
# children run under valgrind too (programs they exec do not); they leave
# with _exit while the parent's store is still allocated, which valgrind
# calls "possibly lost" (LMDB keeps interior pointers to its page lists),
# so only definite leaks count as errors.
VALGRIND = valgrind
VALGRIND_FLAGS = --error-exitcode=1 --leak-check=full --trace-children=no \
	--errors-for-leak-kinds=definite
VALGRIND_TESTS = tests/test_multiproc tests/test_array tests/test_locks \
	tests/test_atomics
check-valgrind: $(check_LTLIBRARIES) $(check_PROGRAMS)
	@status=0; for t in $(VALGRIND_TESTS); do \
	    echo "check-valgrind: $$t"; \
	    ( $(AM_TESTS_ENVIRONMENT) $(LIBTOOL) --mode=execute \
	        $(VALGRIND) $(VALGRIND_FLAGS) $(top_builddir)/$$t ) || { \
	        echo "check-valgrind: $$t FAILED"; status=1; }; \
	done; exit $$status
PHONY += check-valgrind

CLEANFILES += tests/*.tmp
include tests/unit/local.mk
