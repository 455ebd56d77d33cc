/* png.c - PNG for `mmstore import` and `export`, with Debian's libpng.
 *
 * Import decodes straight into the mapping of a staged version (one row
 * pointer per row into it, no intermediate copy of the image), which the
 * caller publishes only when the whole file was read and checked:
 *   grey -> uint8 (H, W); grey+alpha (H, W, 2); RGB (H, W, 3); RGBA
 *   (H, W, 4). Palettes expand to RGB, or RGBA when they have transparency
 *   (a tRNS chunk); a tRNS chunk on grey or RGB adds the alpha channel as
 *   well. 1, 2 and 4-bit grey scale up to 8 bits (0..255). 16-bit images
 *   give uint16 with the same shapes, in native byte order. Interlaced
 *   images are read in all their passes. No gamma or colour correction.
 *
 * Bad input is an error, never garbage: a libpng error unwinds with
 * longjmp to the function that called setjmp (nothing in the library's
 * callbacks exits or prints), and a CRC error in any chunk is an error.
 *
 * Export encodes straight from the array's mapping, one row at a time:
 * uint8 or uint16, (H, W) or (H, W, 1..4). The shape is checked before
 * anything is written.
 *
 * Each function that does the library's work calls setjmp itself and
 * keeps everything it changes afterwards in a context struct owned by its
 * caller, so that no local variable is clobbered by the longjmp. */
#define _GNU_SOURCE
#include "format.h"

#include <inttypes.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>

/* The largest sides we import: libpng's own default limit (PNG allows
 * 2^31 - 1), so that a few bytes of header cannot make us allocate a
 * terabyte. */
#define PNG_IMPORT_SIDE_MAX 1000000u
/* Deflate's largest expansion: 258 bytes from one match coded in 2 bits. */
#define PNG_DEFLATE_MAX_RATIO 1032u
#define MSG_MAX 256

/* ---- PNG import ---------------------------------------------------------- */

typedef struct png_in {
    const cli_import_job *job; /* its src_size: the file's size if known
                                  (not zstd), else 0 */
    char msg[MSG_MAX];    /* libpng's message, set before its longjmp */
    char warning[MSG_MAX]; /* its first warning: often the error's reason */
    bool printed;         /* the error was already printed (a read error) */
    bool palette;         /* palette image: indexes read, then expanded */
    png_colorp plte;      /* its palette, nplte colours */
    int nplte;
    png_bytep trns;       /* its tRNS alphas (ntrns), or NULL */
    int ntrns;
    png_structp png;
    png_infop info;
    mms_array *array;     /* the staged version, once created */
    png_bytep *rows;      /* one pointer per row, into the mapping */
    cli_progress *progress;
    uint64_t nbytes;
    size_t rowbytes;
    uint32_t height;
    int passes;
} png_in;

static void png_in_error(png_structp png, png_const_charp msg)
{
    png_in *c = png_get_error_ptr(png);
    snprintf(c->msg, sizeof c->msg, "%s", msg);
    png_longjmp(png, 1);
}

/* Warnings are what libpng tolerates (an sRGB profile it dislikes, extra
 * data after the image): the pixels are right, so say nothing. But libpng
 * explains a bad IHDR in warnings ("Image width is zero in IHDR") before
 * its error ("Invalid IHDR data"), so the first is kept for the message. */
static void png_in_warning(png_structp png, png_const_charp msg)
{
    png_in *c = png_get_error_ptr(png);
    if (!c->warning[0])
        snprintf(c->warning, sizeof c->warning, "%s", msg);
}

static void png_out_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

static void png_in_read(png_structp png, png_bytep data, size_t len)
{
    png_in *c = png_get_io_ptr(png);
    size_t got;
    if (cli_src_read_full(c->job->src, data, len, &got) != CLI_OK) {
        c->printed = true;
        png_error(png, "read error");
    }
    if (got < len)
        png_error(png, "truncated: the file ends inside a chunk");
}

static void png_in_row_done(png_structp png, png_uint_32 row, int pass)
{
    png_in *c = png_get_io_ptr(png);
    if (c->progress && c->passes > 0)
        cli_progress_update(c->progress,
                            ((uint64_t)pass * c->height + row) * c->rowbytes /
                                (uint64_t)c->passes);
}

/* Each row holds w palette indexes at its start: spread them into RGB(A)
 * from the right, so that no index is overwritten before it is read. An
 * index past the palette is an error (libpng's rule), not black. */
static void expand_palette(png_in *c, uint32_t w)
{
    size_t ch = c->trns ? 4 : 3;
    for (uint32_t r = 0; r < c->height; r++) {
        unsigned char *row = c->rows[r];
        for (size_t i = w; i-- > 0;) {
            unsigned idx = row[i];
            if ((int)idx >= c->nplte) {
                snprintf(c->warning, sizeof c->warning, "row %" PRIu32
                         ", column %zu: index %u, the palette has %d "
                         "colours", r, i, idx, c->nplte);
                png_error(c->png, "a pixel's palette index is past the "
                                  "end of the palette");
            }
            unsigned char *d = row + i * ch;
            d[0] = c->plte[idx].red;
            d[1] = c->plte[idx].green;
            d[2] = c->plte[idx].blue;
            if (ch == 4)
                d[3] = (int)idx < c->ntrns ? c->trns[idx] : 255;
        }
    }
}

/* Everything libpng does, under its setjmp. */
static int png_decode(png_in *c)
{
    if (setjmp(png_jmpbuf(c->png)))
        return CLI_FAIL;
    png_structp png = c->png;
    png_infop info = c->info;
    png_set_read_fn(png, c, png_in_read);
    png_set_sig_bytes(png, 8);
    png_set_user_limits(png, PNG_IMPORT_SIDE_MAX, PNG_IMPORT_SIDE_MAX);
    /* A damaged file is refused, even when only an ancillary chunk is. */
    png_set_crc_action(png, PNG_CRC_ERROR_QUIT, PNG_CRC_ERROR_QUIT);
    png_read_info(png, info);

    int depth = png_get_bit_depth(png, info);
    int type = png_get_color_type(png, info);
    /* Palette -> RGB(A), grey below 8 bits -> 8 bits, tRNS -> alpha.
     * libpng would give an index past the palette the colour black; its
     * rule is that such a file is in error. So the indexes are read as
     * bytes at the start of each row, and expand_palette checks them. */
    if (type == PNG_COLOR_TYPE_PALETTE) {
        c->palette = true;
        png_get_PLTE(png, info, &c->plte, &c->nplte);
        if (png_get_valid(png, info, PNG_INFO_tRNS))
            png_get_tRNS(png, info, &c->trns, &c->ntrns, NULL);
        png_set_packing(png);
    }
    if (type == PNG_COLOR_TYPE_GRAY && depth < 8)
        png_set_expand_gray_1_2_4_to_8(png);
    if (!c->palette && png_get_valid(png, info, PNG_INFO_tRNS))
        png_set_tRNS_to_alpha(png);
    if (depth == 16)
        png_set_swap(png); /* PNG is big-endian; the store is not */
    c->passes = png_set_interlace_handling(png);
    png_read_update_info(png, info);

    uint32_t w = png_get_image_width(png, info);
    c->height = png_get_image_height(png, info);
    int read_channels = png_get_channels(png, info);
    int channels = !c->palette ? read_channels : c->trns ? 4 : 3;
    int bytes = png_get_bit_depth(png, info) / 8;
    uint64_t nbytes;
    if (channels < 1 || channels > 4 || (bytes != 1 && bytes != 2) ||
        (c->palette && (read_channels != 1 || bytes != 1)))
        png_error(png, "unexpected pixel layout after expansion");
    if (!cli_image_size(c->height, w, (uint64_t)channels, (uint64_t)bytes,
                    &nbytes))
        png_error(png, "the image's size in bytes overflows");
    /* Deflate expands at most 1032 times: a header claiming more pixels
     * than the file can hold is refused before space is set aside. */
    if (c->job->src_size &&
        nbytes / PNG_DEFLATE_MAX_RATIO > c->job->src_size + 65536) {
        snprintf(c->warning, sizeof c->warning, "it says %" PRIu32 " x %"
                 PRIu32 " pixels, %" PRIu64 " bytes, more than a file of %"
                 PRIu64 " bytes can hold", w, c->height, nbytes,
                 c->job->src_size);
        png_error(png, "the header lies about the size");
    }
    c->rowbytes = (size_t)w * (size_t)channels * (size_t)bytes;
    if (png_get_rowbytes(png, info) !=
        (size_t)w * (size_t)read_channels * (size_t)bytes)
        png_error(png, "unexpected row size after expansion");
    c->nbytes = nbytes;

    const cli_import_job *job = c->job;
    if (cli_image_stage(job->store, job->name,
                        bytes == 2 ? MMS_UINT16 : MMS_UINT8, c->height, w,
                        (uint64_t)channels, job->opts->replace,
                        &c->array) != CLI_OK) {
        c->printed = true;
        png_error(png, "cannot stage");
    }
    c->rows = malloc((size_t)c->height * sizeof *c->rows);
    if (!c->rows)
        png_error(png, "out of memory for the row pointers");
    unsigned char *data = mms_array_data(c->array);
    for (uint32_t r = 0; r < c->height; r++)
        c->rows[r] = data + (size_t)r * c->rowbytes;
    c->progress = cli_progress_start(c->job->g, "import", nbytes);
    png_set_read_status_fn(png, png_in_row_done);
    png_read_image(png, c->rows);
    if (c->palette)
        expand_palette(c, w);
    /* The chunks after the image, up to IEND: their CRCs are checked, and
     * a file cut after its last row is still truncated. */
    png_read_end(png, NULL);
    return CLI_OK;
}

static int png_import(const cli_import_job *job, mms_array **out)
{
    cli_src *src = job->src;
    *out = NULL;
    unsigned char sig[8];
    size_t got;
    if (cli_src_read_full(src, sig, sizeof sig, &got) != CLI_OK)
        return CLI_FAIL;
    if (!cli_sniff_png(sig, got)) {
        const char *hint = cli_sniff_hint(sig, got);
        return cli_error("%s: not a PNG file (it does not start with PNG's "
                         "signature)%s%s", src->label, hint ? ": " : "",
                         hint ? hint : "");
    }
    png_in c = {.job = job};
    c.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &c, png_in_error,
                                   png_in_warning);
    if (c.png)
        c.info = png_create_info_struct(c.png);
    int rc = c.png && c.info ? png_decode(&c)
                             : cli_error("%s: out of memory for libpng",
                                         src->label);
    if (rc != CLI_OK && !c.printed && c.png && c.info)
        cli_error("%s: bad PNG: %s%s%s%s", src->label, c.msg,
                  c.warning[0] ? " (" : "", c.warning,
                  c.warning[0] ? ")" : "");
    cli_progress_finish(c.progress);
    png_destroy_read_struct(c.png ? &c.png : NULL, c.info ? &c.info : NULL,
                            NULL);
    free(c.rows);
    if (rc != CLI_OK) {
        mms_array_close(c.array); /* discards the staged version */
        return CLI_FAIL;
    }
    *out = c.array;
    return CLI_OK;
}

/* ---- PNG export ------------------------------------------------------------ */

typedef struct png_out {
    const char *name;
    cli_sink *sink;
    char msg[MSG_MAX];
    bool printed;
    png_structp png;
    png_infop info;
    const unsigned char *data;
    uint32_t width, height;
    int channels, depth;
    cli_progress *progress;
} png_out;

static void png_out_error(png_structp png, png_const_charp msg)
{
    png_out *c = png_get_error_ptr(png);
    snprintf(c->msg, sizeof c->msg, "%s", msg);
    png_longjmp(png, 1);
}

static void png_out_write(png_structp png, png_bytep data, size_t len)
{
    png_out *c = png_get_io_ptr(png);
    if (c->sink->write(c->sink, data, len) != CLI_OK) {
        c->printed = true;
        png_error(png, "write error");
    }
}

static void png_out_flush(png_structp png) { (void)png; }

static int png_encode(png_out *c)
{
    if (setjmp(png_jmpbuf(c->png)))
        return CLI_FAIL;
    static const int types[] = {PNG_COLOR_TYPE_GRAY,
                                PNG_COLOR_TYPE_GRAY_ALPHA,
                                PNG_COLOR_TYPE_RGB, PNG_COLOR_TYPE_RGBA};
    png_set_write_fn(c->png, c, png_out_write, png_out_flush);
    png_set_user_limits(c->png, PNG_UINT_31_MAX, PNG_UINT_31_MAX);
    png_set_IHDR(c->png, c->info, c->width, c->height, c->depth,
                 types[c->channels - 1], PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(c->png, c->info);
    if (c->depth == 16)
        png_set_swap(c->png);
    size_t rowbytes = (size_t)c->width * (size_t)c->channels *
                      (size_t)(c->depth / 8);
    for (uint32_t r = 0; r < c->height; r++) {
        png_write_row(c->png, c->data + (size_t)r * rowbytes);
        if (r % 256 == 255)
            cli_progress_update(c->progress, (uint64_t)(r + 1) * rowbytes);
    }
    png_write_end(c->png, NULL);
    return CLI_OK;
}

static int png_export(const cli_export_job *job)
{
    const cli_globals *g = job->g;
    mms_array *array = job->array;
    const char *name = job->name;
    cli_sink *sink = job->sink;
    mms_info info;
    int rc = mms_array_info(array, &info);
    if (rc != MMS_OK)
        return cli_mms_error(rc, "export '%s'", name);
    png_out c = {.name = name, .sink = sink, .data = mms_array_data(array),
                 .width = (uint32_t)info.shape[1],
                 .height = (uint32_t)info.shape[0],
                 .depth = info.dtype == MMS_UINT16 ? 16 : 8};
    if (cli_image_check_export(name, &info, false, PNG_UINT_31_MAX,
                               &c.channels) != CLI_OK)
        return CLI_FAIL;
    c.png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &c, png_out_error,
                                    png_out_warning);
    if (c.png)
        c.info = png_create_info_struct(c.png);
    if (!c.png || !c.info) {
        png_destroy_write_struct(c.png ? &c.png : NULL, NULL);
        return cli_error("export '%s': out of memory for libpng", name);
    }
    c.progress = cli_progress_start(g, "export", info.nbytes);
    rc = png_encode(&c);
    cli_progress_finish(c.progress);
    if (rc != CLI_OK && !c.printed)
        cli_error("export '%s': PNG: %s", name, c.msg);
    png_destroy_write_struct(&c.png, &c.info);
    return rc;
}

static const char *const png_extensions[] = {".png", ".PNG", NULL};

const cli_format cli_format_png = {
    .name = "png",
    .extensions = png_extensions,
    .sniff = cli_sniff_png,
    .import = png_import,
    .export = png_export,
};
