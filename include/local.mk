# include/: the one public header, installed. configure makes it from
# mmstore.h.in (the version number comes from configure.ac).
nodist_include_HEADERS = include/mmstore.h
EXTRA_DIST += include/mmstore.h.in
