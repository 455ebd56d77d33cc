/* commands.h - the upper layers of the mmstore tool: the work behind
 * import, export, dump and restore (transfer.c, dump.c, restore.c), the
 * output helpers of the listing commands (output.c), and the commands
 * themselves (cmd_store.c, cmd_array.c, cmd_io.c, show.c), which main.c
 * puts in its table. See cli.h for the layers. */
#ifndef MMSTORE_COMMANDS_H
#define MMSTORE_COMMANDS_H

#include "cli.h"
#include "formats/format.h"

/* ---- the work of import, export, dump and restore -------------------------- */

/* `mmstore import FILE [NAME]` ("-" = stdin). NAME defaults to the file's
 * base name without its extensions. Stages the array and publishes it only
 * when complete (transfer.c). */
int cli_import(const cli_globals *g, mms_store *store, const char *file,
               const char *name, const cli_io_opts *opts);
/* `mmstore export NAME [FILE]` ("-" or absent = stdout) (transfer.c). */
int cli_export(const cli_globals *g, mms_store *store, const char *name,
               const char *file, const cli_io_opts *opts);
/* `mmstore dump OUT.tar.zst` (dump.c) and `mmstore restore IN.tar.zst`
 * (restore.c) ("-" = stdout / stdin). dump uses opts->level (zstd level);
 * restore uses opts->replace: without it, a name of the dump that exists
 * in the store is an error before anything is staged. opts may be NULL
 * (the defaults: level 3, no replace). */
int cli_dump(const cli_globals *g, mms_store *store, const char *out,
             const cli_io_opts *opts);
int cli_restore(const cli_globals *g, mms_store *store, const char *in,
                const cli_io_opts *opts);

/* What a dump archive holds, shared by dump.c and restore.c. */
#define CLI_DUMP_MANIFEST "manifest.json"
#define CLI_DUMP_FORMAT "mmstore-dump"
#define CLI_DUMP_VERSION 1

/* ---- output of the listing commands (output.c) ------------------------------ */

/* "clean", "writing", "interrupted", "staged" */
const char *cli_state_name(mms_state s);
/* ISO 8601 local time with its UTC offset: 2024-05-01T12:30:00+02:00 */
void cli_format_time(int64_t ns, char *buf, size_t size);
/* Everything mms_info holds, as a JSON object. */
json_t *cli_info_json(const char *name, const mms_info *in);

/* Aligned tables: cells are copied; columns are separated by two spaces;
 * columns flagged in `right` are right-aligned; the last column is not
 * padded. At most 16 columns. */
typedef struct cli_table {
    int ncols;
    const bool *right;
    size_t nrows, cap;
    char **cells;
} cli_table;
int cli_table_add(cli_table *t, const char *const *row);
void cli_table_print(const cli_table *t);
void cli_table_free(cli_table *t);

/* The attributes of name: into a JSON object (values as strings when they
 * are UTF-8, else {"hex": "..."}), or as rows KEY VALUE of a two-column
 * table (values escaped to one line). */
int cli_attrs_json(mms_store *store, const char *name, json_t **out);
int cli_attrs_table(mms_store *store, const char *name, cli_table *t);
/* One attribute value as JSON, as cli_attrs_json gives it. */
json_t *cli_attr_value_json(const void *value, size_t len);

/* ---- the commands ------------------------------------------------------------ */

/* For commands with no options of their own: parses the common ones,
 * checks for min..max operands (max -1: no limit) and opens the store.
 * Returns true to go on; false with *status the exit status (after --help,
 * a usage error, or a store that would not open) (output.c). */
bool cli_plain_command(cli_globals *g, int argc, char **argv, int min,
                       int max, unsigned store_flags, mms_store **store,
                       int *status);

/* cmd_store.c */
int cli_cmd_init(cli_globals *g, int argc, char **argv);
int cli_cmd_ls(cli_globals *g, int argc, char **argv);
int cli_cmd_info(cli_globals *g, int argc, char **argv);
int cli_cmd_verify(cli_globals *g, int argc, char **argv);
int cli_cmd_check(cli_globals *g, int argc, char **argv);
int cli_cmd_locks(cli_globals *g, int argc, char **argv);
/* cmd_array.c */
int cli_cmd_create(cli_globals *g, int argc, char **argv);
int cli_cmd_rm(cli_globals *g, int argc, char **argv);
int cli_cmd_mv(cli_globals *g, int argc, char **argv);
int cli_cmd_cp(cli_globals *g, int argc, char **argv);
int cli_cmd_resize(cli_globals *g, int argc, char **argv);
int cli_cmd_attr(cli_globals *g, int argc, char **argv);
/* cmd_io.c */
int cli_cmd_import(cli_globals *g, int argc, char **argv);
int cli_cmd_export(cli_globals *g, int argc, char **argv);
int cli_cmd_dump(cli_globals *g, int argc, char **argv);
int cli_cmd_restore(cli_globals *g, int argc, char **argv);
/* show.c */
int cli_cmd_show(cli_globals *g, int argc, char **argv);

#endif
