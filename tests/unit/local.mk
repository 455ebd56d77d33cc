# tests/unit/: internals below the public API, linked statically against
# the non-installed convenience libraries of the library
# (src/libmmstore-internal.la) and of the tool (tools/libmmscli.a).

# The library's layers (src/README.md): includes and calls go downwards.
TESTS += tests/unit/test_layers.py
dist_check_SCRIPTS += tests/unit/test_layers.py

# The library's internals: -I src for its private headers.
UNIT_LIB_CFLAGS = $(TEST_CFLAGS) -I$(top_srcdir)/src
UNIT_LIB_LDADD = tests/lib/libtestutil.la src/libmmstore-internal.la \
	$(CUNIT_LIBS) $(LMDB_LIBS) $(XXHASH_LIBS) $(PTHREAD_LIBS)
UNIT_LIB_TESTS = tests/unit/test_record tests/unit/test_name
check_PROGRAMS += $(UNIT_LIB_TESTS)
TESTS += $(UNIT_LIB_TESTS)
tests_unit_test_record_CFLAGS = $(UNIT_LIB_CFLAGS)
tests_unit_test_record_LDADD = $(UNIT_LIB_LDADD)
tests_unit_test_name_CFLAGS = $(UNIT_LIB_CFLAGS)
tests_unit_test_name_LDADD = $(UNIT_LIB_LDADD)

# The tool's internals (tools/libmmscli.a; TOOLS_CFLAGS and TOOLS_LIBS come
# from tools/local.mk).
UNIT_CFLAGS = $(TEST_CFLAGS) $(TOOLS_CFLAGS) -I$(top_srcdir)/tools
UNIT_LDADD = tools/libmmscli.a $(TEST_LDADD) $(TOOLS_LIBS)
UNIT_UTIL = tests/unit/unitutil.c tests/unit/unitutil.h
TEST_UNIT = \
	tests/unit/test_npy_header \
	tests/unit/test_csv \
	tests/unit/test_printer
check_PROGRAMS += $(TEST_UNIT)
TESTS += $(TEST_UNIT)

tests_unit_test_npy_header_SOURCES = tests/unit/test_npy_header.c $(UNIT_UTIL)
tests_unit_test_npy_header_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_npy_header_LDADD = $(UNIT_LDADD)
tests_unit_test_csv_SOURCES = tests/unit/test_csv.c $(UNIT_UTIL)
tests_unit_test_csv_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_csv_LDADD = $(UNIT_LDADD)
tests_unit_test_printer_SOURCES = tests/unit/test_printer.c $(UNIT_UTIL)
tests_unit_test_printer_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_printer_LDADD = $(UNIT_LDADD)
