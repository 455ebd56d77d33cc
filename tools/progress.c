/* progress.c - the progress bar of long commands (import, export, verify,
 * cp, dump, restore): one line on stderr, redrawn at most ten times a
 * second, showing the percentage, the bytes done and the throughput, and
 * erased when the work ends. Nothing is drawn unless stderr is a terminal
 * and --quiet is off, so pipes and logs never see it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define REDRAW_NS 100000000LL /* 0.1 s between redraws */

struct cli_progress {
    char label[48];
    uint64_t total; /* 0 = unknown */
    uint64_t done;
    int64_t start_ns;
    int64_t drawn_ns; /* when the line was last drawn */
};

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int terminal_width(void)
{
    struct winsize ws;
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20)
        return ws.ws_col;
    return 80;
}

/* The "[#####.....]" part, cells wide, for fraction done/total. */
static void draw_bar(char *buf, int cells, uint64_t done, uint64_t total)
{
    int full = total ? (int)((double)done / (double)total * cells) : 0;
    if (full > cells)
        full = cells;
    buf[0] = '[';
    memset(buf + 1, '#', (size_t)full);
    memset(buf + 1 + full, '.', (size_t)(cells - full));
    buf[cells + 1] = ']';
    buf[cells + 2] = '\0';
}

static void draw(cli_progress *p, int64_t now)
{
    char done[32], total[32], stats[128], bar[256];
    double secs = (double)(now - p->start_ns) / 1e9;
    double rate = secs > 0 ? (double)p->done / secs / 1e6 : 0.0;
    int width = terminal_width();

    cli_format_size(p->done, done, sizeof done);
    if (p->total) {
        cli_format_size(p->total, total, sizeof total);
        snprintf(stats, sizeof stats, "%3d%%  %s / %s  %.1f MB/s",
                 (int)((double)p->done * 100.0 / (double)p->total), done,
                 total, rate);
    } else {
        snprintf(stats, sizeof stats, "%s  %.1f MB/s", done, rate);
    }

    /* label, a space, the bar, two spaces, the figures; the bar takes what
     * is left of the line (none if the terminal is too narrow) */
    int cells = width - 1 - (int)strlen(p->label) - 1 - 2 - 2 -
                (int)strlen(stats);
    if (cells > (int)sizeof bar - 3)
        cells = (int)sizeof bar - 3;
    if (p->total && cells >= 10) {
        draw_bar(bar, cells, p->done, p->total);
        fprintf(stderr, "\r%s %s  %s\033[K", p->label, bar, stats);
    } else {
        fprintf(stderr, "\r%s  %s\033[K", p->label, stats);
    }
    fflush(stderr);
    p->drawn_ns = now;
}

cli_progress *cli_progress_start(const cli_globals *g, const char *label,
                                  uint64_t total_bytes)
{
    if (g->quiet || !isatty(STDERR_FILENO))
        return NULL;
    cli_progress *p = calloc(1, sizeof *p);
    if (!p)
        return NULL; /* no bar is no failure */
    snprintf(p->label, sizeof p->label, "%s", label);
    p->total = total_bytes;
    p->start_ns = now_ns();
    draw(p, p->start_ns);
    return p;
}

void cli_progress_update(cli_progress *p, uint64_t done_bytes)
{
    if (!p)
        return;
    p->done = done_bytes;
    int64_t now = now_ns();
    if (now - p->drawn_ns >= REDRAW_NS)
        draw(p, now);
}

void cli_progress_clear(cli_progress *p)
{
    if (!p)
        return;
    fputs("\r\033[K", stderr);
    fflush(stderr);
    p->drawn_ns = 0; /* redraw at the next update */
}

void cli_progress_finish(cli_progress *p)
{
    if (!p)
        return;
    fputs("\r\033[K", stderr);
    fflush(stderr);
    free(p);
}
