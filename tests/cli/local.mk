# tests/cli/: the mmstore command, and what other tools make of its stores.
# Each script's Python helper sits beside it.

# Every command, its errors, --json, show against NumPy, progress bars on a
# terminal only.
TESTS += tests/cli/test_cli.sh
dist_check_SCRIPTS += tests/cli/test_cli.sh
# import, export, dump and restore against NumPy, zstd and tar, and the
# malformed inputs of tests/corpus/ (made once by its make-corpus.py).
TESTS += tests/cli/test_io.sh
dist_check_SCRIPTS += tests/cli/test_io.sh tests/cli/io_numpy.py
EXTRA_DIST += tests/corpus
# PNG and JPEG import and export against Pillow, with malformed files.
TESTS += tests/cli/test_image.sh
dist_check_SCRIPTS += tests/cli/test_image.sh tests/cli/image_pil.py
# NumPy's np.load(mmap_mode="r") reads every dtype's data file as written.
TESTS += tests/cli/test_numpy.sh
dist_check_SCRIPTS += tests/cli/test_numpy.sh tests/cli/numpy_check.py
# lmdb-utils' mdb_stat and mdb_dump read the catalog.
TESTS += tests/cli/test_mdb_stat.sh
dist_check_SCRIPTS += tests/cli/test_mdb_stat.sh
# The tour at the top of README.md, compiled and run as printed.
TESTS += tests/cli/test_readme.sh
dist_check_SCRIPTS += tests/cli/test_readme.sh
# The audit's hostile inputs and conditions (issue 11): NUL bytes and BOMs
# in CSV, zstd frames, files truncated under the tool, symlinked outputs,
# UTF-8 and long names in dumps, few descriptors, overflowing strides.
TESTS += tests/cli/test_hostile.sh
dist_check_SCRIPTS += tests/cli/test_hostile.sh
