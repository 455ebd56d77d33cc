# tests/api/: the public C API, one behaviour at a time. A few tests fork
# a child only as a tool (to catch a crash, grow the catalog from outside,
# or leave a dead reader or writer behind); tests about processes racing
# each other are in tests/multiproc/.
API_TESTS = \
	tests/api/test_basics \
	tests/api/test_store \
	tests/api/test_array \
	tests/api/test_checksum \
	tests/api/test_attr \
	tests/api/test_catalog \
	tests/api/test_check
check_PROGRAMS += $(API_TESTS)
TESTS += $(API_TESTS)
tests_api_test_basics_CFLAGS = $(TEST_CFLAGS)
tests_api_test_basics_LDADD = $(TEST_LDADD)
tests_api_test_store_CFLAGS = $(TEST_CFLAGS)
tests_api_test_store_LDADD = $(TEST_LDADD)
tests_api_test_array_CFLAGS = $(TEST_CFLAGS)
tests_api_test_array_LDADD = $(TEST_LDADD)
tests_api_test_checksum_CFLAGS = $(TEST_CFLAGS)
tests_api_test_checksum_LDADD = $(TEST_LDADD)
tests_api_test_attr_CFLAGS = $(TEST_CFLAGS)
tests_api_test_attr_LDADD = $(TEST_LDADD)
tests_api_test_catalog_CFLAGS = $(TEST_CFLAGS)
tests_api_test_catalog_LDADD = $(TEST_LDADD)
tests_api_test_check_CFLAGS = $(TEST_CFLAGS)
tests_api_test_check_LDADD = $(TEST_LDADD)

# The exported symbols of libmmstore.so are exactly the mms_* of the header.
TESTS += tests/api/test_symbols.sh
dist_check_SCRIPTS += tests/api/test_symbols.sh
