/* image.c - PNG and JPEG for `mmstore import` and `export`, with Debian's
 * libpng and libjpeg-turbo.
 *
 * Import decodes straight into the mapping of a staged version (one row
 * pointer per row into it, no intermediate copy of the image), which io.c
 * publishes only when the whole file was read and checked:
 *   PNG: grey -> uint8 (H, W); grey+alpha (H, W, 2); RGB (H, W, 3); RGBA
 *   (H, W, 4). Palettes expand to RGB, or RGBA when they have transparency
 *   (a tRNS chunk); a tRNS chunk on grey or RGB adds the alpha channel as
 *   well. 1, 2 and 4-bit grey scale up to 8 bits (0..255). 16-bit images
 *   give uint16 with the same shapes, in native byte order. Interlaced
 *   images are read in all their passes. No gamma or colour correction.
 *   JPEG: greyscale -> uint8 (H, W); YCbCr or RGB -> (H, W, 3), with
 *   libjpeg's default (accurate integer) decoder, as Pillow decodes.
 *
 * Bad input is an error, never garbage: a libpng or libjpeg error unwinds
 * with longjmp to the function that called setjmp (nothing in the
 * libraries' callbacks exits or prints), a CRC error in any chunk is an
 * error, and so is every libjpeg warning (corrupt data, a premature end:
 * libjpeg would otherwise fill the missing rows with grey and carry on).
 *
 * Export encodes straight from the array's mapping, one row at a time:
 *   PNG: uint8 or uint16, (H, W) or (H, W, 1..4); JPEG: uint8, (H, W) or
 *   (H, W, 1 or 3), at --quality (default 90). The shape is checked before
 *   anything is written.
 *
 * Each function that does the libraries' work calls setjmp itself and
 * keeps everything it changes afterwards in a context struct owned by its
 * caller, so that no local variable is clobbered by the longjmp. */
#define _GNU_SOURCE
#include "cli.h"

#include <inttypes.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>
#include <png.h>

/* The largest sides we import: libpng's own default limit (PNG allows
 * 2^31 - 1), so that a few bytes of header cannot make us allocate a
 * terabyte; JPEG's format limit is lower anyway. */
#define PNG_IMPORT_SIDE_MAX 1000000u
#define JPEG_SIDE_MAX 65500u /* libjpeg's JPEG_MAX_DIMENSION */
#define JPEG_BUF_SIZE 65536
/* Deflate's largest expansion: 258 bytes from one match coded in 2 bits. */
#define PNG_DEFLATE_MAX_RATIO 1032u
/* A Huffman-coded JPEG spends at least one bit on the DC value of every
 * 8 x 8 luma block (64 pixels, at most 3 bytes each): 1536 output bytes
 * per input byte at most. Arithmetic coding has no such floor. */
#define JPEG_HUFFMAN_MAX_RATIO 1536u
#define MSG_MAX 256

static const unsigned char png_magic[8] = {0x89, 'P', 'N', 'G',
                                           '\r', '\n', 0x1a, '\n'};

/* What the first bytes of a file say it is, for messages about a file
 * whose name or --format says something else. */
static const char *looks_like(const unsigned char *b, size_t n)
{
    if (n == 0)
        return "it is empty";
    if (n >= 8 && memcmp(b, png_magic, 8) == 0)
        return "it holds PNG data: use --format png or a .png name";
    if (n >= 3 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff)
        return "it holds JPEG data: use --format jpeg or a .jpg name";
    if (n >= 6 && memcmp(b, "\x93NUMPY", 6) == 0)
        return "it holds .npy data: use --format npy or a .npy name";
    return NULL;
}

/* Multiplies out H * W * C * bytes per sample, or fails on overflow of
 * 64 bits or of size_t (the mapping is indexed with size_t). */
static bool image_size(uint64_t h, uint64_t w, uint64_t c, uint64_t bytes,
                       uint64_t *out)
{
    uint64_t n = bytes;
    const uint64_t f[3] = {c, w, h};
    for (int i = 0; i < 3; i++) {
        if (f[i] && n > UINT64_MAX / f[i])
            return false;
        n *= f[i];
    }
    if (n > SIZE_MAX)
        return false;
    *out = n;
    return true;
}

/* Creates the staged array for an image: (H, W) for one channel, else
 * (H, W, C). */
static int stage_image(mms_store *store, const char *name, mms_dtype dtype,
                       uint64_t h, uint64_t w, uint64_t c, bool replace,
                       mms_array **out)
{
    uint64_t shape[3] = {h, w, c};
    return cli_stage(store, name, dtype, c == 1 ? 2 : 3, shape, replace, out);
}

/* ---- PNG import ---------------------------------------------------------- */

typedef struct png_in {
    const cli_globals *g;
    mms_store *store;
    cli_src *src;
    const char *name;
    bool replace;
    uint64_t input_size;  /* the file's size if known (not zstd), else 0 */
    char msg[MSG_MAX];    /* libpng's message, set before its longjmp */
    char warning[MSG_MAX]; /* its first warning: often the error's reason */
    bool printed;         /* the error was already printed (a read error) */
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
    if (cli_src_read_full(c->src, data, len, &got) != CLI_OK) {
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
    /* Palette -> RGB, grey below 8 bits -> 8 bits, tRNS -> alpha. */
    if (type == PNG_COLOR_TYPE_PALETTE)
        png_set_palette_to_rgb(png);
    if (type == PNG_COLOR_TYPE_GRAY && depth < 8)
        png_set_expand_gray_1_2_4_to_8(png);
    if (png_get_valid(png, info, PNG_INFO_tRNS))
        png_set_tRNS_to_alpha(png);
    if (depth == 16)
        png_set_swap(png); /* PNG is big-endian; the store is not */
    c->passes = png_set_interlace_handling(png);
    png_read_update_info(png, info);

    uint32_t w = png_get_image_width(png, info);
    c->height = png_get_image_height(png, info);
    int channels = png_get_channels(png, info);
    int bytes = png_get_bit_depth(png, info) / 8;
    uint64_t nbytes;
    if (channels < 1 || channels > 4 || (bytes != 1 && bytes != 2))
        png_error(png, "unexpected pixel layout after expansion");
    if (!image_size(c->height, w, (uint64_t)channels, (uint64_t)bytes,
                    &nbytes))
        png_error(png, "the image's size in bytes overflows");
    /* Deflate expands at most 1032 times: a header claiming more pixels
     * than the file can hold is refused before space is set aside. */
    if (c->input_size &&
        nbytes / PNG_DEFLATE_MAX_RATIO > c->input_size + 65536) {
        snprintf(c->warning, sizeof c->warning, "it says %" PRIu32 " x %"
                 PRIu32 " pixels, %" PRIu64 " bytes, more than a file of %"
                 PRIu64 " bytes can hold", w, c->height, nbytes,
                 c->input_size);
        png_error(png, "the header lies about the size");
    }
    c->rowbytes = (size_t)w * (size_t)channels * (size_t)bytes;
    if (png_get_rowbytes(png, info) != c->rowbytes)
        png_error(png, "unexpected row size after expansion");
    c->nbytes = nbytes;

    if (stage_image(c->store, c->name, bytes == 2 ? MMS_UINT16 : MMS_UINT8,
                    c->height, w, (uint64_t)channels, c->replace,
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
    c->progress = cli_progress_start(c->g, "import", nbytes);
    png_set_read_status_fn(png, png_in_row_done);
    png_read_image(png, c->rows);
    /* The chunks after the image, up to IEND: their CRCs are checked, and
     * a file cut after its last row is still truncated. */
    png_read_end(png, NULL);
    return CLI_OK;
}

int cli_png_import(const cli_globals *g, mms_store *store, cli_src *src,
                   uint64_t input_size, const char *name, bool replace,
                   mms_array **out)
{
    *out = NULL;
    unsigned char sig[8];
    size_t got;
    if (cli_src_read_full(src, sig, sizeof sig, &got) != CLI_OK)
        return CLI_FAIL;
    if (got < 8 || memcmp(sig, png_magic, 8) != 0) {
        const char *hint = looks_like(sig, got);
        return cli_error("%s: not a PNG file (it does not start with PNG's "
                         "signature)%s%s", src->label, hint ? ": " : "",
                         hint ? hint : "");
    }
    png_in c = {.g = g, .store = store, .src = src, .name = name,
                .replace = replace, .input_size = input_size};
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

/* ---- JPEG errors, both directions ------------------------------------------ */

/* libjpeg's error manager with what our handlers need: cinfo->err points
 * at its first member (libjpeg's own example does the same). */
typedef struct jpeg_errors {
    struct jpeg_error_mgr mgr;
    jmp_buf jmp;
    char msg[JMSG_LENGTH_MAX];
    bool printed;         /* the error was already printed (I/O) */
} jpeg_errors;

static void jpeg_fail(j_common_ptr cinfo)
{
    jpeg_errors *e = (jpeg_errors *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, e->msg);
    longjmp(e->jmp, 1);
}

/* Level -1 is a warning: corrupt data, a premature end of the file. Each
 * one is an error here. Higher levels are trace messages: ignored. */
static void jpeg_message(j_common_ptr cinfo, int level)
{
    if (level < 0)
        jpeg_fail(cinfo);
}

static struct jpeg_error_mgr *jpeg_errors_init(jpeg_errors *e)
{
    jpeg_std_error(&e->mgr);
    e->mgr.error_exit = jpeg_fail;
    e->mgr.emit_message = jpeg_message;
    return &e->mgr;
}

/* ---- JPEG import ----------------------------------------------------------- */

typedef struct jpeg_in {
    jpeg_errors e;
    struct jpeg_source_mgr mgr;
    const cli_globals *g;
    mms_store *store;
    cli_src *src;
    const char *name;
    bool replace;
    uint64_t input_size;  /* the file's size if known (not zstd), else 0 */
    unsigned char *buf;
    struct jpeg_decompress_struct cinfo;
    bool created;         /* jpeg_create_decompress was called */
    mms_array *array;
    cli_progress *progress;
} jpeg_in;

static void jpeg_src_init(j_decompress_ptr cinfo) { (void)cinfo; }
static void jpeg_src_term(j_decompress_ptr cinfo) { (void)cinfo; }

static boolean jpeg_src_fill(j_decompress_ptr cinfo)
{
    jpeg_in *c = cinfo->client_data;
    size_t got;
    if (c->src->read(c->src, c->buf, JPEG_BUF_SIZE, &got) != CLI_OK) {
        c->e.printed = true;
        longjmp(c->e.jmp, 1);
    }
    if (got == 0) {
        /* As libjpeg's own sources do: warn (an error here, see
         * jpeg_message) and insert an EOI marker. */
        WARNMS(cinfo, JWRN_JPEG_EOF);
        c->buf[0] = 0xff;
        c->buf[1] = JPEG_EOI;
        got = 2;
    }
    c->mgr.next_input_byte = c->buf;
    c->mgr.bytes_in_buffer = got;
    return TRUE;
}

static void jpeg_src_skip(j_decompress_ptr cinfo, long n)
{
    jpeg_in *c = cinfo->client_data;
    while (n > 0) {
        if ((size_t)n <= c->mgr.bytes_in_buffer) {
            c->mgr.next_input_byte += n;
            c->mgr.bytes_in_buffer -= (size_t)n;
            return;
        }
        n -= (long)c->mgr.bytes_in_buffer;
        c->mgr.bytes_in_buffer = 0;
        jpeg_src_fill(cinfo);
    }
}

static int jpeg_decode(jpeg_in *c, size_t first)
{
    if (setjmp(c->e.jmp))
        return CLI_FAIL;
    j_decompress_ptr cinfo = &c->cinfo;
    cinfo->client_data = c; /* kept by jpeg_create_decompress */
    jpeg_create_decompress(cinfo);
    c->created = true;
    c->mgr = (struct jpeg_source_mgr){
        .next_input_byte = c->buf, .bytes_in_buffer = first,
        .init_source = jpeg_src_init, .fill_input_buffer = jpeg_src_fill,
        .skip_input_data = jpeg_src_skip,
        .resync_to_restart = jpeg_resync_to_restart,
        .term_source = jpeg_src_term};
    cinfo->src = &c->mgr;
    jpeg_read_header(cinfo, TRUE);
    switch (cinfo->jpeg_color_space) {
    case JCS_GRAYSCALE:
        cinfo->out_color_space = JCS_GRAYSCALE;
        break;
    case JCS_YCbCr:
    case JCS_RGB:
        cinfo->out_color_space = JCS_RGB;
        break;
    case JCS_CMYK:
    case JCS_YCCK:
        snprintf(c->e.msg, sizeof c->e.msg, "CMYK JPEG images are not "
                 "supported (greyscale and RGB/YCbCr are): convert it to "
                 "RGB first");
        longjmp(c->e.jmp, 1);
    default:
        snprintf(c->e.msg, sizeof c->e.msg, "JPEG with %d components in an "
                 "unknown colour space is not supported (greyscale and "
                 "RGB/YCbCr are)", cinfo->num_components);
        longjmp(c->e.jmp, 1);
    }
    jpeg_start_decompress(cinfo);
    uint64_t h = cinfo->output_height, w = cinfo->output_width,
             ch = (uint64_t)cinfo->output_components, nbytes;
    if ((ch != 1 && ch != 3) || !image_size(h, w, ch, 1, &nbytes)) {
        snprintf(c->e.msg, sizeof c->e.msg, "unexpected output layout");
        longjmp(c->e.jmp, 1);
    }
    /* As for PNG: a header claiming more pixels than the file can code
     * is refused before space is set aside for them. */
    if (c->input_size && !cinfo->arith_code &&
        nbytes / JPEG_HUFFMAN_MAX_RATIO > c->input_size + 65536) {
        snprintf(c->e.msg, sizeof c->e.msg, "the header lies about the size "
                 "(it says %" PRIu64 " x %" PRIu64 " pixels, %" PRIu64
                 " bytes, more than a file of %" PRIu64 " bytes can hold)",
                 w, h, nbytes, c->input_size);
        longjmp(c->e.jmp, 1);
    }
    if (stage_image(c->store, c->name, MMS_UINT8, h, w, ch, c->replace,
                    &c->array) != CLI_OK) {
        c->e.printed = true;
        longjmp(c->e.jmp, 1);
    }
    unsigned char *data = mms_array_data(c->array);
    size_t rowbytes = (size_t)(w * ch);
    c->progress = cli_progress_start(c->g, "import", nbytes);
    while (cinfo->output_scanline < cinfo->output_height) {
        /* Up to 16 rows per call (libjpeg's rec_outbuf_height is 1, 2 or
         * 4), straight into the mapping. */
        JSAMPROW rows[16];
        JDIMENSION n = 0, at = cinfo->output_scanline;
        while (n < 16 && at + n < cinfo->output_height) {
            rows[n] = data + (size_t)(at + n) * rowbytes;
            n++;
        }
        jpeg_read_scanlines(cinfo, rows, n);
        cli_progress_update(c->progress,
                            (uint64_t)cinfo->output_scanline * rowbytes);
    }
    /* Reads on to the EOI marker: a warning about what follows the last
     * row (a premature end, corrupt data) is still an error. */
    jpeg_finish_decompress(cinfo);
    return CLI_OK;
}

int cli_jpeg_import(const cli_globals *g, mms_store *store, cli_src *src,
                    uint64_t input_size, const char *name, bool replace,
                    mms_array **out)
{
    *out = NULL;
    jpeg_in c = {.g = g, .store = store, .src = src, .name = name,
                 .replace = replace, .input_size = input_size};
    if (!(c.buf = malloc(JPEG_BUF_SIZE)))
        return cli_error("%s: out of memory", src->label);
    size_t got;
    int rc = cli_src_read_full(src, c.buf, 8, &got);
    if (rc == CLI_OK &&
        (got < 3 || c.buf[0] != 0xff || c.buf[1] != 0xd8 || c.buf[2] != 0xff)) {
        const char *hint = looks_like(c.buf, got);
        rc = cli_error("%s: not a JPEG file (it does not start with JPEG's "
                       "FF D8 FF)%s%s", src->label, hint ? ": " : "",
                       hint ? hint : "");
    }
    if (rc == CLI_OK) {
        c.cinfo.err = jpeg_errors_init(&c.e);
        rc = jpeg_decode(&c, got);
        if (rc != CLI_OK && !c.e.printed)
            cli_error("%s: bad JPEG: %s", src->label, c.e.msg);
    }
    cli_progress_finish(c.progress);
    if (c.created)
        jpeg_destroy_decompress(&c.cinfo);
    free(c.buf);
    if (rc != CLI_OK) {
        mms_array_close(c.array); /* discards the staged version */
        return CLI_FAIL;
    }
    *out = c.array;
    return CLI_OK;
}

/* ---- export: what each format holds ---------------------------------------- */

/* Checks that info describes an image the format can hold; sets *channels.
 * On error prints the array's name, dtype and shape and what the format
 * accepts. */
static int check_export(const char *name, const mms_info *info, bool jpeg,
                        int *channels)
{
    const char *accepts =
        jpeg ? "JPEG holds uint8 arrays of shape (H, W), (H, W, 1) or "
               "(H, W, 3), H and W 1 to 65500"
             : "PNG holds uint8 or uint16 arrays of shape (H, W) or "
               "(H, W, C) with C 1 to 4, H and W 1 to 2147483647";
    uint64_t max = jpeg ? JPEG_SIDE_MAX : PNG_UINT_31_MAX;
    char why[128] = "";
    uint64_t c = info->ndim == 3 ? info->shape[2] : 1;
    bool dtype_ok = info->dtype == MMS_UINT8 ||
                    (!jpeg && info->dtype == MMS_UINT16);
    if (!dtype_ok)
        snprintf(why, sizeof why, "its dtype is %s",
                 mms_dtype_name(info->dtype));
    else if (info->ndim != 2 && info->ndim != 3)
        snprintf(why, sizeof why, "it has %d axes", info->ndim);
    else if (c < 1 || c > 4 || (jpeg && c != 1 && c != 3))
        snprintf(why, sizeof why, "it has %llu channels",
                 (unsigned long long)c);
    else if (info->shape[1] > max)
        snprintf(why, sizeof why, "its width %llu is more than %llu",
                 (unsigned long long)info->shape[1], (unsigned long long)max);
    else if (info->shape[0] > max)
        snprintf(why, sizeof why, "its height %llu is more than %llu",
                 (unsigned long long)info->shape[0], (unsigned long long)max);
    else if (info->shape[0] == 0 || info->shape[1] == 0)
        snprintf(why, sizeof why, "it has no pixels");
    if (why[0]) {
        char shp[MMS_MAX_NDIM * 22 + 4];
        return cli_error("export '%s': cannot write %s %s as %s: %s (%s)",
                         name, mms_dtype_name(info->dtype),
                         cli_shape_str(shp, sizeof shp, info->ndim,
                                       info->shape),
                         jpeg ? "JPEG" : "PNG", why, accepts);
    }
    *channels = (int)c;
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

int cli_png_export(const cli_globals *g, mms_array *array, const char *name,
                   cli_sink *sink)
{
    mms_info info;
    int rc = mms_array_info(array, &info);
    if (rc != MMS_OK)
        return cli_mms_error(rc, "export '%s'", name);
    png_out c = {.name = name, .sink = sink, .data = mms_array_data(array),
                 .width = (uint32_t)info.shape[1],
                 .height = (uint32_t)info.shape[0],
                 .depth = info.dtype == MMS_UINT16 ? 16 : 8};
    if (check_export(name, &info, false, &c.channels) != CLI_OK)
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

/* ---- JPEG export ----------------------------------------------------------- */

typedef struct jpeg_out {
    jpeg_errors e;
    struct jpeg_destination_mgr mgr;
    cli_sink *sink;
    unsigned char *buf;
    struct jpeg_compress_struct cinfo;
    bool created;
    const unsigned char *data;
    uint32_t width, height;
    int channels, quality;
    cli_progress *progress;
} jpeg_out;

static void jpeg_dst_init(j_compress_ptr cinfo)
{
    jpeg_out *c = cinfo->client_data;
    c->mgr.next_output_byte = c->buf;
    c->mgr.free_in_buffer = JPEG_BUF_SIZE;
}

static void jpeg_dst_put(jpeg_out *c, size_t len)
{
    if (len && c->sink->write(c->sink, c->buf, len) != CLI_OK) {
        c->e.printed = true;
        longjmp(c->e.jmp, 1);
    }
    c->mgr.next_output_byte = c->buf;
    c->mgr.free_in_buffer = JPEG_BUF_SIZE;
}

static boolean jpeg_dst_empty(j_compress_ptr cinfo)
{
    jpeg_dst_put(cinfo->client_data, JPEG_BUF_SIZE);
    return TRUE;
}

static void jpeg_dst_term(j_compress_ptr cinfo)
{
    jpeg_out *c = cinfo->client_data;
    jpeg_dst_put(c, JPEG_BUF_SIZE - c->mgr.free_in_buffer);
}

static int jpeg_encode(jpeg_out *c)
{
    if (setjmp(c->e.jmp))
        return CLI_FAIL;
    j_compress_ptr cinfo = &c->cinfo;
    cinfo->client_data = c; /* kept by jpeg_create_compress */
    jpeg_create_compress(cinfo);
    c->created = true;
    c->mgr = (struct jpeg_destination_mgr){
        .init_destination = jpeg_dst_init,
        .empty_output_buffer = jpeg_dst_empty,
        .term_destination = jpeg_dst_term};
    cinfo->dest = &c->mgr;
    cinfo->image_width = c->width;
    cinfo->image_height = c->height;
    cinfo->input_components = c->channels;
    cinfo->in_color_space = c->channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(cinfo);
    jpeg_set_quality(cinfo, c->quality, TRUE);
    jpeg_start_compress(cinfo, TRUE);
    size_t rowbytes = (size_t)c->width * (size_t)c->channels;
    while (cinfo->next_scanline < cinfo->image_height) {
        /* libjpeg only reads the rows; its prototype is not const. */
        JSAMPROW row = (JSAMPROW)(c->data +
                                  (size_t)cinfo->next_scanline * rowbytes);
        jpeg_write_scanlines(cinfo, &row, 1);
        if (cinfo->next_scanline % 256 == 0)
            cli_progress_update(c->progress,
                                (uint64_t)cinfo->next_scanline * rowbytes);
    }
    jpeg_finish_compress(cinfo);
    return CLI_OK;
}

int cli_jpeg_export(const cli_globals *g, mms_array *array, const char *name,
                    cli_sink *sink, int quality)
{
    mms_info info;
    int rc = mms_array_info(array, &info);
    if (rc != MMS_OK)
        return cli_mms_error(rc, "export '%s'", name);
    jpeg_out c = {.sink = sink, .data = mms_array_data(array),
                  .width = (uint32_t)info.shape[1],
                  .height = (uint32_t)info.shape[0],
                  .quality = quality ? quality : 90};
    if (check_export(name, &info, true, &c.channels) != CLI_OK)
        return CLI_FAIL;
    if (!(c.buf = malloc(JPEG_BUF_SIZE)))
        return cli_error("export '%s': out of memory", name);
    c.cinfo.err = jpeg_errors_init(&c.e);
    c.progress = cli_progress_start(g, "export", info.nbytes);
    rc = jpeg_encode(&c);
    cli_progress_finish(c.progress);
    if (rc != CLI_OK && !c.e.printed)
        cli_error("export '%s': JPEG: %s", name, c.e.msg);
    if (c.created)
        jpeg_destroy_compress(&c.cinfo);
    free(c.buf);
    return rc;
}
