/* transfer.c - `mmstore import` and `export` once their options are
 * parsed: choosing the format (formats/format.h) from --format, the file
 * name or the data's first bytes, opening the file or stdin/stdout (io.h),
 * and publishing an import only when its format has read and checked
 * everything. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"

/* The base name of path without the extensions that give its format. */
static char *name_from_path(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t ext;
    cli_format_by_path(base, &ext);
    size_t n = strlen(base) - ext;
    return n ? strndup(base, n) : NULL;
}

/* The format of input data whose name and --format said nothing: from
 * its first bytes. */
static int sniff_format(cli_in *in, const cli_format **format)
{
    const unsigned char *b;
    size_t n;
    if (cli_in_peek(in, CLI_SNIFF_BYTES, &b, &n) != CLI_OK)
        return CLI_FAIL;
    if (!(*format = cli_format_sniff(b, n)))
        return cli_error("%s: cannot tell its format (not .npy, PNG or JPEG "
                         "data, and no .npy, .csv, .raw, .png or .jpg name): "
                         "use --format npy|csv|raw|png|jpeg",
                         cli_in_src(in)->label);
    return CLI_OK;
}

/* Refuses an existing name without --replace, and an invalid one, before
 * anything is read. */
static int check_target(mms_store *store, const char *name, bool replace)
{
    mms_info info;
    int rc = mms_stat(store, name, &info);
    if (rc == MMS_OK && !replace)
        return cli_error("import '%s': the name exists; use --replace to "
                         "replace it", name);
    if (rc != MMS_OK && rc != MMS_ERR_NOTFOUND)
        return cli_mms_error(rc, "import '%s'", name);
    return CLI_OK;
}

/* Chooses the format (--format, else the file name, else the data's
 * first bytes), opens the input unless the format is a directory, and
 * runs the format's import. */
static int import_staged(const cli_globals *g, mms_store *store,
                         const char *file, const char *name,
                         const cli_io_opts *opts, mms_array **out)
{
    cli_import_job job = {.g = g, .store = store, .name = name,
                          .path = file, .opts = opts};
    const cli_format *format = opts->format;
    size_t ext;
    if (!format && strcmp(file, "-") != 0)
        format = cli_format_by_path(file, &ext);
    if (format && (format->flags & CLI_FORMAT_DIRECTORY))
        return format->import(&job, out);
    cli_in *in = NULL;
    int rc = cli_in_open(file, opts->zstd, &in);
    if (rc == CLI_OK && !format)
        rc = sniff_format(in, &format);
    if (rc == CLI_OK) {
        job.src = cli_in_src(in);
        /* The size of the coded data, if known: a regular file's, not
         * zstd's. */
        job.src_size = cli_in_is_zstd(in) ? 0 : cli_in_file_size(in);
        rc = format->import(&job, out);
    }
    if (rc == CLI_OK)
        rc = cli_in_end_stream(in);
    cli_in_close(in);
    return rc;
}

int cli_import(const cli_globals *g, mms_store *store, const char *file,
               const char *name, const cli_io_opts *opts)
{
    char *derived = NULL;
    if (!name && strcmp(file, "-") == 0) {
        cli_error("import: reading stdin needs a NAME");
        return CLI_USAGE;
    }
    if (!name && !(name = derived = name_from_path(file))) {
        cli_error("import %s: no name to give it: add a NAME", file);
        return CLI_USAGE;
    }
    mms_array *array = NULL;
    int rc = check_target(store, name, opts->replace);
    if (rc == CLI_OK)
        rc = import_staged(g, store, file, name, opts, &array);
    if (rc == CLI_OK) {
        int e = mms_array_publish(array);
        if (e != MMS_OK)
            rc = cli_mms_error(e, "import '%s': publishing", name);
    }
    if (array) {
        int e = mms_array_close(array);
        if (e != MMS_OK && rc == CLI_OK)
            rc = cli_mms_error(e, "import '%s'", name);
    }
    free(derived);
    return rc;
}

static int output_format(const char *file, const cli_io_opts *opts,
                         const cli_format **format, bool *zstd)
{
    bool std = !file || strcmp(file, "-") == 0;
    size_t ext;
    const cli_format *by_name = std ? NULL : cli_format_by_path(file, &ext);
    *format = opts->format ? opts->format
              : by_name    ? by_name
              : std        ? &cli_format_npy
                           : NULL;
    *zstd = opts->zstd == 1 ||
            (opts->zstd < 0 && !std && cli_ends_with(file, ".zst"));
    if (!*format) {
        cli_error("export %s: cannot tell the format from the name: use "
                  "--format npy|csv|raw|png|jpeg or a .npy, .csv, .raw, .png "
                  "or .jpg name", file);
        return CLI_USAGE;
    }
    if (opts->quality && !((*format)->flags & CLI_FORMAT_QUALITY)) {
        cli_error("export: --quality is for JPEG output, not %s",
                  (*format)->name);
        return CLI_USAGE;
    }
    if (std && isatty(1) && (*zstd || !((*format)->flags & CLI_FORMAT_TEXT))) {
        cli_error("export: refusing to write %s%s data to a terminal: give "
                  "a FILE or redirect stdout", (*format)->name,
                  *zstd ? ".zst" : "");
        return CLI_USAGE;
    }
    return CLI_OK;
}

int cli_export(const cli_globals *g, mms_store *store, const char *name,
               const char *file, const cli_io_opts *opts)
{
    const cli_format *format;
    bool zstd;
    int rc = output_format(file, opts, &format, &zstd);
    if (rc != CLI_OK)
        return rc;
    mms_array *array;
    mms_info info;
    int e = mms_array_open(store, name, MMS_RDONLY, &array);
    if (e == MMS_OK && (e = mms_array_info(array, &info)) != MMS_OK)
        mms_array_close(array);
    if (e != MMS_OK)
        return cli_mms_error(e, "export '%s'", name);
    char label[MMS_NAME_MAX + 16];
    snprintf(label, sizeof label, "export %s", name);
    cli_export_job job = {.g = g, .array = array, .name = name,
                          .label = label, .path = file, .opts = opts};
    if (format->flags & CLI_FORMAT_DIRECTORY) {
        rc = format->export(&job);
    } else {
        uint64_t pledged = format->export_size ? format->export_size(&info)
                                               : UINT64_MAX;
        cli_out *out;
        rc = cli_out_open(file, zstd, opts->level, pledged, opts->force,
                          &out);
        if (rc == CLI_OK) {
            job.sink = cli_out_sink(out);
            snprintf(label, sizeof label, "export '%s'", name);
            rc = cli_check_data_file(array, &info, label);
            snprintf(label, sizeof label, "export %s", name);
            if (rc == CLI_OK)
                rc = format->export(&job);
            if (rc == CLI_OK)
                rc = cli_out_finish(out);
            else
                cli_out_abort(out);
        }
    }
    mms_array_close(array);
    return rc;
}
