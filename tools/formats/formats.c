/* formats.c - the table of the formats of `mmstore import` and `export`,
 * and finding one by --format name, by file name or by the first bytes of
 * the data. A new format is one line here (and its own file). */
#include <string.h>

#include "format.h"

const cli_format *const cli_formats[] = {
    &cli_format_npy,
    &cli_format_csv,
    &cli_format_raw,
    &cli_format_png,
    &cli_format_jpeg,
    NULL,
};

static bool same(const char *name, const char *text, size_t len)
{
    return strlen(name) == len && strncmp(text, name, len) == 0;
}

const cli_format *cli_format_by_name(const char *text, size_t len)
{
    for (size_t i = 0; cli_formats[i]; i++) {
        const cli_format *f = cli_formats[i];
        if (same(f->name, text, len))
            return f;
        for (size_t k = 0; f->aliases && f->aliases[k]; k++)
            if (same(f->aliases[k], text, len))
                return f;
    }
    return NULL;
}

const cli_format *cli_format_by_path(const char *path, size_t *ext_len)
{
    size_t n = strlen(path), zst = cli_ends_with(path, ".zst") ? 4 : 0;
    for (size_t i = 0; cli_formats[i]; i++) {
        const char *const *ext = cli_formats[i]->extensions;
        for (size_t k = 0; ext && ext[k]; k++) {
            size_t m = strlen(ext[k]);
            if (n >= zst + m && strncmp(path + n - zst - m, ext[k], m) == 0) {
                *ext_len = zst + m;
                return cli_formats[i];
            }
        }
    }
    *ext_len = zst;
    return NULL;
}

const cli_format *cli_format_sniff(const unsigned char *head, size_t n)
{
    for (size_t i = 0; cli_formats[i]; i++)
        if (cli_formats[i]->sniff && cli_formats[i]->sniff(head, n))
            return cli_formats[i];
    return NULL;
}
