# bench/: the benchmarks, built and run only by `make bench`, never by
# `make all` or `make check`. mms-bench measures the library (core figures,
# coordination, scaling with array size and process count), bench-cli.sh
# the command-line tool against cp, sync and the zstd CLI. Each prints its
# raw baselines from the same run; docs/performance.md records the results.
EXTRA_PROGRAMS += bench/mms-bench
bench_mms_bench_SOURCES = bench/bench.h bench/bench_util.c \
	bench/mms-bench.c bench/bench_coord.c bench/bench_scale.c \
	bench/bench_tail.c
bench_mms_bench_CFLAGS = $(AM_CFLAGS) $(XXHASH_CFLAGS) $(LMDB_CFLAGS)
bench_mms_bench_LDADD = src/libmmstore.la $(XXHASH_LIBS) $(LMDB_LIBS) \
	$(PTHREAD_LIBS)
EXTRA_DIST += bench/bench-cli.sh
CLEANFILES += bench/mms-bench

bench: bench/mms-bench tools/mmstore
	$(top_builddir)/bench/mms-bench
	$(SHELL) $(top_srcdir)/bench/bench-cli.sh --builddir $(abs_top_builddir)
PHONY += bench
