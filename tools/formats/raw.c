/* raw.c - raw data for `mmstore import` and `export`: the array's bytes
 * and nothing else (C order, native byte order). An import needs --dtype
 * and --shape, and the input must hold exactly that many bytes. */
#include <stdlib.h>

#include "format.h"

static int raw_size(const cli_io_opts *opts, uint64_t *nbytes)
{
    uint64_t n = mms_dtype_size(opts->dtype);
    for (int i = 0; i < opts->ndim; i++) {
        if (opts->shape[i] && n > UINT64_MAX / opts->shape[i])
            return cli_error("--shape: the size in bytes overflows 64 bits");
        n *= opts->shape[i];
    }
    *nbytes = n;
    return CLI_OK;
}

static int raw_import(const cli_import_job *job, mms_array **out)
{
    const cli_io_opts *opts = job->opts;
    cli_src *src = job->src;
    *out = NULL;
    if (!opts->have_dtype || opts->ndim < 0) {
        cli_error("import %s: raw data needs --dtype and --shape", job->path);
        return CLI_USAGE;
    }
    uint64_t nbytes = 0;
    char shp[CLI_SHAPE_MAX];
    if (raw_size(opts, &nbytes) != CLI_OK)
        return CLI_FAIL;
    cli_format_shape(opts->ndim, opts->shape, shp, sizeof shp);
    uint64_t have = job->src_size;
    if (have && have != nbytes)
        return cli_error("%s holds %llu bytes, but %s of shape %s is %llu "
                         "bytes", src->label, (unsigned long long)have,
                         mms_dtype_name(opts->dtype), shp,
                         (unsigned long long)nbytes);
    if (cli_stage(job->store, job->name, opts->dtype, opts->ndim, opts->shape,
                  opts->replace, out) != CLI_OK)
        return CLI_FAIL;
    cli_progress *p = cli_progress_start(job->g, "import", nbytes);
    int rc = cli_fill_array(src, *out, 0, nbytes, 0, p,
                            "--dtype and --shape make");
    cli_progress_finish(p);
    /* A stream must end exactly there: count what is left, for the
     * message. */
    uint64_t extra = 0;
    unsigned char buf[65536];
    while (rc == CLI_OK) {
        size_t got;
        if ((rc = src->read(src, buf, sizeof buf, &got)) != CLI_OK ||
            got == 0)
            break;
        extra += got;
    }
    if (rc == CLI_OK && extra > 0)
        rc = cli_error("%s holds %llu bytes, but %s of shape %s is %llu "
                       "bytes", src->label,
                       (unsigned long long)(nbytes + extra),
                       mms_dtype_name(opts->dtype), shp,
                       (unsigned long long)nbytes);
    if (rc != CLI_OK) {
        mms_array_close(*out);
        *out = NULL;
    }
    return rc;
}

static int raw_export(const cli_export_job *job)
{
    mms_info info;
    int rc = mms_array_info(job->array, &info);
    if (rc != MMS_OK)
        return cli_mms_error(rc, "%s", job->label);
    cli_progress *p = cli_progress_start(job->g, job->label, info.nbytes);
    rc = cli_drain_array(job->array, 0, info.nbytes, job->sink, p);
    cli_progress_finish(p);
    return rc;
}

static uint64_t raw_export_size(const mms_info *info)
{
    return info->nbytes;
}

static const char *const raw_aliases[] = {"bin", NULL};
static const char *const raw_extensions[] = {".raw", ".bin", NULL};

const cli_format cli_format_raw = {
    .name = "raw",
    .aliases = raw_aliases,
    .extensions = raw_extensions,
    .import = raw_import,
    .export = raw_export,
    .export_size = raw_export_size,
};
