# src/: libmmstore, in layers (src/README.md draws them). A file includes
# only the header of its own layer and of the layers below, and calls only
# files of its own layer or below; tests/unit/test_layers.py checks both.
#
# Everything is compiled once, into a convenience library that the
# installed library wraps and that the unit tests link statically to reach
# the internals (mmsi_*). Hidden visibility keeps those out of the shared
# library's exports; a static link still sees them.
noinst_LTLIBRARIES += src/libmmstore-internal.la
EXTRA_DIST += src/README.md
src_libmmstore_internal_la_SOURCES = \
	src/base.h src/error.c src/dtype.c src/name.c src/proc.c \
	src/format.h src/record.c src/npy.c src/datafile.c \
	src/catalog.h src/catalog.c src/entries.c src/checksum.c \
	src/objects.h src/store.c src/handle.c src/presence.c src/sync.c \
	src/resize.c \
	src/create.c src/open.c src/publish.c src/array.c src/names.c \
	src/attr.c src/lock.c src/atomic.c \
	src/verify.c src/check.c src/cache.c
src_libmmstore_internal_la_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden \
	$(LMDB_CFLAGS) $(XXHASH_CFLAGS)
src_libmmstore_internal_la_LIBADD = $(LMDB_LIBS) $(XXHASH_LIBS) \
	$(PTHREAD_LIBS)

lib_LTLIBRARIES = src/libmmstore.la
src_libmmstore_la_SOURCES =
src_libmmstore_la_LIBADD = src/libmmstore-internal.la
src_libmmstore_la_LDFLAGS = $(AM_LDFLAGS) -version-info $(MMS_LT_VERSION) \
	-no-undefined
