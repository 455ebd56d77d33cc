/* printer.h - an array's values as NumPy prints them (printer.c), for
 * `mmstore show`. Above the common layer (cli.h). */
#ifndef MMSTORE_PRINTER_H
#define MMSTORE_PRINTER_H

#include "cli.h"

/* A strided view of an array's data (after indexing). */
typedef struct cli_view {
    const unsigned char *base; /* the element at index (0, 0, ...) */
    mms_dtype dtype;
    int ndim;
    uint64_t shape[MMS_MAX_NDIM];
    int64_t stride[MMS_MAX_NDIM]; /* bytes; negative for reversed slices */
} cli_view;

/* str(a) of the view as NumPy's print() shows it, without the final
 * newline, in *text (malloc'd). More than 1000 elements are summarised
 * with "..." as NumPy does; a 0-d view prints as NumPy's scalar str().
 * Returns CLI_OK, or CLI_FAIL after printing "out of memory". */
int cli_format_view(const cli_view *v, char **text);
/* The values as nested JSON arrays (complex numbers as [re, im], NaN and
 * infinities as null); NULL when out of memory. */
json_t *cli_view_json(const cli_view *v);

#endif
