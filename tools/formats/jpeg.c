/* jpeg.c - JPEG for `mmstore import` and `export`, with Debian's
 * libjpeg-turbo.
 *
 * Import decodes straight into the mapping of a staged version, which the
 * caller publishes only when the whole file was read and checked:
 * greyscale -> uint8 (H, W); YCbCr or RGB -> (H, W, 3), with libjpeg's
 * default (accurate integer) decoder, as Pillow decodes.
 *
 * Bad input is an error, never garbage: a libjpeg error unwinds with
 * longjmp to the function that called setjmp, and so does every libjpeg
 * warning (corrupt data, a premature end: libjpeg would otherwise fill the
 * missing rows with grey and carry on).
 *
 * Export encodes straight from the array's mapping, one row at a time:
 * uint8, (H, W) or (H, W, 1 or 3), at --quality (default 90). The shape is
 * checked before anything is written.
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

#include <jpeglib.h>
#include <jerror.h>

#define JPEG_SIDE_MAX 65500u /* libjpeg's JPEG_MAX_DIMENSION */
#define JPEG_BUF_SIZE 65536
/* A Huffman-coded JPEG spends at least one bit on the DC value of every
 * 8 x 8 luma block (64 pixels, at most 3 bytes each): 1536 output bytes
 * per input byte at most. Arithmetic coding has no such floor. */
#define JPEG_HUFFMAN_MAX_RATIO 1536u

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
    const cli_import_job *job; /* its src_size: the file's size if known
                                  (not zstd), else 0 */
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
    cli_src *src = c->job->src;
    if (src->read(src, c->buf, JPEG_BUF_SIZE, &got) != CLI_OK) {
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
    if ((ch != 1 && ch != 3) || !cli_image_size(h, w, ch, 1, &nbytes)) {
        snprintf(c->e.msg, sizeof c->e.msg, "unexpected output layout");
        longjmp(c->e.jmp, 1);
    }
    /* As for PNG: a header claiming more pixels than the file can code
     * is refused before space is set aside for them. */
    if (c->job->src_size && !cinfo->arith_code &&
        nbytes / JPEG_HUFFMAN_MAX_RATIO > c->job->src_size + 65536) {
        snprintf(c->e.msg, sizeof c->e.msg, "the header lies about the size "
                 "(it says %" PRIu64 " x %" PRIu64 " pixels, %" PRIu64
                 " bytes, more than a file of %" PRIu64 " bytes can hold)",
                 w, h, nbytes, c->job->src_size);
        longjmp(c->e.jmp, 1);
    }
    const cli_import_job *job = c->job;
    if (cli_image_stage(job->store, job->name, MMS_UINT8, h, w, ch,
                        job->opts->replace, &c->array) != CLI_OK) {
        c->e.printed = true;
        longjmp(c->e.jmp, 1);
    }
    unsigned char *data = mms_array_data(c->array);
    size_t rowbytes = (size_t)(w * ch);
    c->progress = cli_progress_start(c->job->g, "import", nbytes);
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

static int jpeg_import(const cli_import_job *job, mms_array **out)
{
    cli_src *src = job->src;
    *out = NULL;
    jpeg_in c = {.job = job};
    if (!(c.buf = malloc(JPEG_BUF_SIZE)))
        return cli_error("%s: out of memory", src->label);
    size_t got;
    int rc = cli_src_read_full(src, c.buf, 8, &got);
    if (rc == CLI_OK && !cli_sniff_jpeg(c.buf, got)) {
        const char *hint = cli_sniff_hint(c.buf, got);
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

static int jpeg_export(const cli_export_job *job)
{
    const cli_globals *g = job->g;
    mms_array *array = job->array;
    const char *name = job->name;
    cli_sink *sink = job->sink;
    int quality = job->opts->quality;
    mms_info info;
    int rc = mms_array_info(array, &info);
    if (rc != MMS_OK)
        return cli_mms_error(rc, "export '%s'", name);
    jpeg_out c = {.sink = sink, .data = mms_array_data(array),
                  .width = (uint32_t)info.shape[1],
                  .height = (uint32_t)info.shape[0],
                  .quality = quality ? quality : 90};
    if (cli_image_check_export(name, &info, true, JPEG_SIDE_MAX,
                               &c.channels) != CLI_OK)
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

static const char *const jpeg_aliases[] = {"jpg", NULL};
static const char *const jpeg_extensions[] = {".jpg", ".jpeg", ".JPG",
                                              ".JPEG", NULL};

const cli_format cli_format_jpeg = {
    .name = "jpeg",
    .aliases = jpeg_aliases,
    .extensions = jpeg_extensions,
    .flags = CLI_FORMAT_QUALITY,
    .sniff = cli_sniff_jpeg,
    .import = jpeg_import,
    .export = jpeg_export,
};
