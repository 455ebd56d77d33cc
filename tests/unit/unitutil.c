/* unitutil.c - see unitutil.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unitutil.h"

static int mem_read(cli_src *src, void *buf, size_t len, size_t *got)
{
    ut_mem_src *m = (ut_mem_src *)src;
    size_t n = m->len - m->pos;
    if (n > len)
        n = len;
    if (m->chunk && n > m->chunk)
        n = m->chunk;
    memcpy(buf, m->data + m->pos, n);
    m->pos += n;
    *got = n;
    return CLI_OK;
}

cli_src *ut_mem_src_init(ut_mem_src *m, const void *data, size_t len,
                         size_t chunk, const char *label)
{
    *m = (ut_mem_src){.src = {.read = mem_read, .label = label},
                      .data = data, .len = len, .chunk = chunk};
    return &m->src;
}

static FILE *capture;
static int saved_fd = -1;

void ut_stderr_begin(void)
{
    fflush(stderr);
    capture = tmpfile();
    saved_fd = dup(2);
    if (capture && saved_fd >= 0)
        dup2(fileno(capture), 2);
}

const char *ut_stderr_end(void)
{
    static char text[8192];
    text[0] = '\0';
    fflush(stderr);
    if (saved_fd >= 0) {
        dup2(saved_fd, 2);
        close(saved_fd);
        saved_fd = -1;
    }
    if (capture) {
        rewind(capture);
        size_t n = fread(text, 1, sizeof text - 1, capture);
        text[n] = '\0';
        fclose(capture);
        capture = NULL;
    }
    return text;
}
