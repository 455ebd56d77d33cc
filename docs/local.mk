# docs/: man pages, notes, and the worked scenarios of docs/examples/.
dist_man_MANS = docs/libmmstore.3 docs/mmstore.1
EXTRA_DIST += docs/format.md docs/concurrency.md docs/performance.md

# Each scenario is one program docs/examples/NAME.c, walked through in
# docs/examples/NAME.md and run as a test by tests/examples/example_NAME.sh.
# Programs link only the installed API: <mmstore.h> and libmmstore.
# hello is the demonstration scripts/demo.sh runs.
EXAMPLES = docs/examples/hello docs/examples/attach docs/examples/counter \
	docs/examples/ring docs/examples/sum docs/examples/cache \
	docs/examples/crash docs/examples/invert
noinst_PROGRAMS += $(EXAMPLES)
EXAMPLE_LDADD = src/libmmstore.la $(PTHREAD_LIBS)
docs_examples_hello_LDADD = $(EXAMPLE_LDADD)
docs_examples_attach_LDADD = $(EXAMPLE_LDADD)
docs_examples_counter_LDADD = $(EXAMPLE_LDADD)
docs_examples_ring_LDADD = $(EXAMPLE_LDADD)
docs_examples_sum_LDADD = $(EXAMPLE_LDADD)
docs_examples_cache_LDADD = $(EXAMPLE_LDADD)
docs_examples_crash_LDADD = $(EXAMPLE_LDADD)
docs_examples_invert_LDADD = $(EXAMPLE_LDADD)
EXTRA_DIST += docs/examples/README.md \
	docs/examples/attach.md docs/examples/counter.md docs/examples/ring.md \
	docs/examples/sum.md docs/examples/cache.md docs/examples/crash.md \
	docs/examples/invert.md docs/examples/make-photo.py \
	docs/examples/photo.png docs/examples/photo.jpg
