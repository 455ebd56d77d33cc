# tools/: the mmstore command.
bin_PROGRAMS += tools/mmstore
tools_mmstore_SOURCES = tools/cli.h tools/main.c tools/commands.c \
	tools/show.c tools/progress.c tools/io.c tools/npy.c tools/csv.c tools/dump.c \
	tools/image.c
tools_mmstore_CFLAGS = $(AM_CFLAGS) $(ZSTD_CFLAGS) $(JANSSON_CFLAGS) \
	$(LIBARCHIVE_CFLAGS) $(LIBPNG_CFLAGS) $(LIBJPEG_CFLAGS)
tools_mmstore_LDADD = src/libmmstore.la $(ZSTD_LIBS) $(JANSSON_LIBS) \
	$(LIBARCHIVE_LIBS) $(LIBPNG_LIBS) $(LIBJPEG_LIBS) $(PTHREAD_LIBS)
