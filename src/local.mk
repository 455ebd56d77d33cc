# src/: libmmstore, in layers (src/README.md draws them).
lib_LTLIBRARIES = src/libmmstore.la
src_libmmstore_la_SOURCES = \
	src/internal.h \
	src/error.c \
	src/dtype.c \
	src/npy.c \
	src/catalog.c \
	src/store.c \
	src/array.c \
	src/checksum.c \
	src/attr.c \
	src/lock.c \
	src/atomic.c \
	src/cache.c \
	src/check.c
src_libmmstore_la_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden \
	$(LMDB_CFLAGS) $(XXHASH_CFLAGS)
src_libmmstore_la_LIBADD = $(LMDB_LIBS) $(XXHASH_LIBS) $(PTHREAD_LIBS)
src_libmmstore_la_LDFLAGS = $(AM_LDFLAGS) -version-info $(MMS_LT_VERSION) \
	-no-undefined
