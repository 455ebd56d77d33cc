# tests/unit/: internals below the public API, linked statically against
# the non-installed convenience library of the library (and of the tool).

# The library's layers (src/README.md): includes and calls go downwards.
TESTS += tests/unit/test_layers.py
dist_check_SCRIPTS += tests/unit/test_layers.py

# The library's internals: -I src for its private headers.
UNIT_LIB_CFLAGS = $(TEST_CFLAGS) -I$(top_srcdir)/tests/lib \
	-I$(top_srcdir)/tests -I$(top_srcdir)/src
UNIT_LIB_LDADD = tests/libtestutil.la src/libmmstore-internal.la \
	$(CUNIT_LIBS) $(LMDB_LIBS) $(XXHASH_LIBS) $(PTHREAD_LIBS)
UNIT_LIB_TESTS = tests/unit/test_record tests/unit/test_name
check_PROGRAMS += $(UNIT_LIB_TESTS)
TESTS += $(UNIT_LIB_TESTS)
tests_unit_test_record_CFLAGS = $(UNIT_LIB_CFLAGS)
tests_unit_test_record_LDADD = $(UNIT_LIB_LDADD)
tests_unit_test_name_CFLAGS = $(UNIT_LIB_CFLAGS)
tests_unit_test_name_LDADD = $(UNIT_LIB_LDADD)
