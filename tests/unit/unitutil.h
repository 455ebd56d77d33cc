/* unitutil.h - helpers of the unit tests of the mmstore tool's internals
 * (tests/unit/): bytes in memory as a cli_src, and the tool's messages on
 * stderr captured so that a test can check what a failure says. */
#ifndef MMS_UNITUTIL_H
#define MMS_UNITUTIL_H

#include <stddef.h>

#include "io.h"

/* A cli_src over len bytes at data, handing out at most chunk bytes per
 * read (0: all that is asked), so that readers are tested on short
 * reads too. */
typedef struct ut_mem_src {
    cli_src src;
    const unsigned char *data;
    size_t len, pos, chunk;
} ut_mem_src;
cli_src *ut_mem_src_init(ut_mem_src *m, const void *data, size_t len,
                         size_t chunk, const char *label);

/* Redirects stderr into a temporary file until ut_stderr_end, which
 * returns what was written (a static buffer, NUL-terminated, the first
 * 8 KiB). */
void ut_stderr_begin(void);
const char *ut_stderr_end(void);

#endif
