# tests/unit/: unit tests of the mmstore tool's internals, through the
# convenience library tools/libmmscli.a (tools/local.mk). testutil.h is in
# tests/ today and in tests/lib/ later: both are searched.
UNIT_CFLAGS = $(TEST_CFLAGS) $(TOOLS_CFLAGS) -I$(top_srcdir)/tests/lib \
	-I$(top_srcdir)/tests -I$(top_srcdir)/tools
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
