/* sniff.c - the magic numbers of the formats that have one, in one place:
 * the table sniffs input by them, and png.c and jpeg.c name what a file
 * really holds when its name or --format says otherwise. */
#include <string.h>

#include "format.h"

bool cli_sniff_npy(const unsigned char *b, size_t n)
{
    return n >= 6 && memcmp(b, "\x93NUMPY", 6) == 0;
}

bool cli_sniff_png(const unsigned char *b, size_t n)
{
    return n >= 8 && memcmp(b, "\x89PNG\r\n\x1a\n", 8) == 0;
}

bool cli_sniff_jpeg(const unsigned char *b, size_t n)
{
    return n >= 3 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff;
}

const char *cli_sniff_hint(const unsigned char *b, size_t n)
{
    if (n == 0)
        return "it is empty";
    if (cli_sniff_png(b, n))
        return "it holds PNG data: use --format png or a .png name";
    if (cli_sniff_jpeg(b, n))
        return "it holds JPEG data: use --format jpeg or a .jpg name";
    if (cli_sniff_npy(b, n))
        return "it holds .npy data: use --format npy or a .npy name";
    return NULL;
}
