# tools/: the mmstore command. Everything but main.c goes into a
# convenience library (never installed) that tools/mmstore links, so that
# the unit tests in tests/unit/ can reach the internals. cli.h draws the
# layers of these files.
noinst_LIBRARIES += tools/libmmscli.a
tools_libmmscli_a_SOURCES = \
	tools/cli.h tools/cli.c tools/element.c tools/progress.c \
	tools/io.h tools/io.c \
	tools/formats/format.h tools/formats/formats.c tools/formats/sniff.c \
	tools/formats/npy.c tools/formats/csv.c tools/formats/raw.c \
	tools/formats/image.c tools/formats/png.c tools/formats/jpeg.c \
	tools/printer.h tools/printer.c \
	tools/commands.h tools/transfer.c tools/dump.c tools/restore.c \
	tools/output.c tools/cmd_store.c tools/cmd_array.c tools/cmd_io.c \
	tools/show.c
TOOLS_CFLAGS = $(ZSTD_CFLAGS) $(JANSSON_CFLAGS) $(LIBARCHIVE_CFLAGS) \
	$(LIBPNG_CFLAGS) $(LIBJPEG_CFLAGS)
# What a program linking tools/libmmscli.a needs besides the library.
TOOLS_LIBS = $(ZSTD_LIBS) $(JANSSON_LIBS) $(LIBARCHIVE_LIBS) \
	$(LIBPNG_LIBS) $(LIBJPEG_LIBS) $(PTHREAD_LIBS) -lm
tools_libmmscli_a_CFLAGS = $(AM_CFLAGS) $(TOOLS_CFLAGS)

bin_PROGRAMS += tools/mmstore
tools_mmstore_SOURCES = tools/main.c
tools_mmstore_CFLAGS = $(AM_CFLAGS) $(TOOLS_CFLAGS)
tools_mmstore_LDADD = tools/libmmscli.a src/libmmstore.la $(TOOLS_LIBS)
