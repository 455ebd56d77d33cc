/* main.c - the mmstore command-line tool: global options, which store to
 * use, and the table of commands. The helpers every command shares are in
 * cli.c, the commands in cmd_*.c and show.c. */
#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"

/* ---- the commands -------------------------------------------------------- */

static const cli_command commands[] = {
    {"init", cli_cmd_init, "[--block-size N] [--shared-group]",
     "create a store",
     "Creates the store (--store, $MMSTORE_DIR or the default). Succeeds\n"
     "without changing anything if the store already exists.\n"
     "  --block-size N   checksum block size: a power of two from 4K to 1G\n"
     "                   (suffixes K, M, G; default 1M)\n"
     "  --shared-group   make the store 0770 with a setgid directory, shared\n"
     "                   by the members of its group\n"},
    {"create", cli_cmd_create, "NAME --dtype T --shape A,B,..",
     "create a zero-filled array",
     "  -t, --dtype T    element type: a NumPy name or code (float64, f8, <i4)\n"
     "  -s, --shape S    comma-separated lengths; \"\" or \"()\" for a 0-d array\n"},
    {"import", cli_cmd_import, "FILE [NAME] [options]",
     "import a .npy, .npy.zst, .csv, raw, .png or .jpg file (- = stdin)",
     "NAME defaults to the file's base name without its extensions. The\n"
     "array is staged and published only when complete. Images become\n"
     "uint8 (H, W) for grey, (H, W, C) for C = 2 (grey+alpha), 3 (RGB) or\n"
     "4 (RGBA); 16-bit PNGs become uint16.\n"
     "  -f, --format F   npy, csv, raw, png or jpeg, with .zst for zstd\n"
     "                   (npy.zst); by default from the file name, and\n"
     "                   zstd, .npy, PNG and JPEG data by their magic number\n"
     "  -t, --dtype T    element type of raw and CSV input\n"
     "  -s, --shape S    shape of raw input (A,B,..)\n"
     "  -d, --delimiter C  CSV field separator (default ','; \\t for tab)\n"
     "      --header     the CSV file starts with a header row\n"
     "      --replace    replace an existing array atomically\n"},
    {"export", cli_cmd_export, "NAME [FILE] [options]",
     "export to .npy, .npy.zst, .csv, raw, .png or .jpg (- or no FILE = "
     "stdout)",
     "  -f, --format F   npy, csv, raw, png or jpeg, with .zst for zstd\n"
     "                   (npy.zst); by default from the file name (npy for\n"
     "                   stdout)\n"
     "  -l, --level N    zstd compression level (default 3)\n"
     "  -d, --delimiter C  CSV field separator (default ','; \\t for tab)\n"
     "      --header     write a header row to the CSV file\n"
     "      --quality N  JPEG quality, 1 to 100 (default 90)\n"
     "      --force      FILE may be a symbolic link: replace the file it\n"
     "                   points to (refused otherwise)\n"
     "PNG takes uint8 or uint16 (H, W) or (H, W, 1..4); JPEG takes uint8\n"
     "(H, W), (H, W, 1) or (H, W, 3).\n"},
    {"ls", cli_cmd_ls, "[PREFIX] [-l]", "list arrays",
     "Lists the arrays whose names start with PREFIX: name, dtype, shape,\n"
     "size and state (clean, writing or interrupted).\n"
     "  -l, --long       also the checksum, generation and modified time\n"},
    {"info", cli_cmd_info, "NAME",
     "everything the catalog knows of an array, and its data file",
     ""},
    {"show", cli_cmd_show, "NAME [SLICE]", "print values like NumPy",
     "SLICE is NumPy's index syntax: 0:10,::2,-1 (negative indices count\n"
     "from the end; '...' stands for the remaining axes). Arrays of more\n"
     "than 1000 elements are summarised with '...'.\n"
     "  --json           the values as nested JSON arrays (complex numbers\n"
     "                   as [re, im], NaN and infinities as null)\n"},
    {"rm", cli_cmd_rm, "NAME...", "remove arrays", ""},
    {"mv", cli_cmd_mv, "FROM TO", "rename an array", ""},
    {"cp", cli_cmd_cp, "FROM TO [--replace]", "copy an array and its attributes",
     "  --replace        replace TO atomically if it exists\n"},
    {"resize", cli_cmd_resize, "NAME ROWS", "grow or shrink axis 0",
     "New rows read as zero.\n"},
    {"attr", cli_cmd_attr, "NAME [KEY [VALUE]] | --rm NAME KEY",
     "list, get, set or remove attributes",
     "With NAME only, lists the attributes; with KEY prints its value; with\n"
     "KEY VALUE sets it.\n"
     "  --rm             remove KEY\n"},
    {"verify", cli_cmd_verify, "[NAME...]",
     "re-hash arrays and compare with their checksums",
     "Checks every array when no NAME is given. Prints each block that\n"
     "does not match; exits 1 if any does.\n"},
    {"check", cli_cmd_check, "[--repair]", "check the whole store",
     "Catalog against files, orphan files and entries, interrupted writers,\n"
     "dead staged versions, stale readers. Exits 1 if problems remain.\n"
     "  --repair         fix what can be fixed without guessing\n"},
    {"dump", cli_cmd_dump, "OUT.tar.zst [--level N] [--force]",
     "write the whole store as a tar of .npy files and a manifest",
     "OUT - writes to stdout. The archive is a standard tar compressed with\n"
     "zstd: `tar --zstd -xf` extracts it and NumPy loads every file.\n"
     "  -l, --level N    zstd compression level (default 3)\n"
     "      --force      OUT may be a symbolic link: replace the file it\n"
     "                   points to (refused otherwise)\n"},
    {"restore", cli_cmd_restore, "IN.tar.zst [--replace]",
     "restore arrays from a dump, checksums verified first",
     "IN - reads stdin. Every array's checksum is verified before anything\n"
     "is published.\n"
     "  --replace        replace arrays that exist (otherwise an existing\n"
     "                   name is an error, found before anything is staged)\n"},
    {"locks", cli_cmd_locks, "NAME", "list the row ranges locked now", ""},
};

#define NCOMMANDS (sizeof commands / sizeof commands[0])

static const cli_command *find_command(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

static void print_main_help(FILE *out)
{
    fprintf(out,
            "usage: " CLI_PROG
            " [--store DIR] [--json] [--quiet] COMMAND [ARGS]\n"
            "\n"
            "Persistent shared N-dimensional arrays (NumPy .npy files).\n"
            "\n"
            "Options:\n"
            "  -s, --store DIR  the store (default $MMSTORE_DIR, else\n"
            "                   ${XDG_DATA_HOME:-~/.local/share}/mmstore)\n"
            "      --json       machine-readable output\n"
            "  -q, --quiet      no progress bar\n"
            "  -h, --help       show this help and exit\n"
            "  -V, --version    show the version and exit\n"
            "\n"
            "Commands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(out, "  %-9s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\nRun '" CLI_PROG " COMMAND --help' for a command's "
                 "options; see mmstore(1).\n");
}

/* ---- the store ------------------------------------------------------------ */

/* --store, else $MMSTORE_DIR, else ${XDG_DATA_HOME:-~/.local/share}/mmstore */
static const char *default_store(cli_globals *g)
{
    static char path[4096];
    const char *env = getenv("MMSTORE_DIR");
    if (env && env[0])
        return env;
    g->store_is_default = true;
    const char *xdg = getenv("XDG_DATA_HOME");
    if (xdg && xdg[0] == '/') { /* relative values are ignored (XDG spec) */
        snprintf(path, sizeof path, "%s/mmstore", xdg);
        return path;
    }
    const char *home = getenv("HOME");
    if (!home || !home[0]) {
        struct passwd *pw = getpwuid(getuid());
        home = pw ? pw->pw_dir : "/";
    }
    snprintf(path, sizeof path, "%s/.local/share/mmstore", home);
    return path;
}

/* ---- main ------------------------------------------------------------------ */

/* Parses the options before the command name; returns the index of the
 * command name, or the exit status + 1000 when main should exit. */
static int parse_globals(cli_globals *g, int argc, char **argv)
{
    static const struct option opts[] = {
        {"store", required_argument, NULL, 's'},
        {"json", no_argument, NULL, 'J'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0}};
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+:s:qhV", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            g->store_path = optarg;
            break;
        case 'J':
            g->json = true;
            break;
        case 'q':
            g->quiet = true;
            break;
        case 'h':
            print_main_help(stdout);
            return 1000 + CLI_OK;
        case 'V':
            printf(CLI_PROG " %s (libmmstore %s)\n", MMS_VERSION_STRING,
                   mms_version());
            return 1000 + CLI_OK;
        case ':':
            return 1000 + cli_usage("option '%s' needs a value",
                                    argv[optind - 1]);
        default:
            return 1000 + cli_usage("unknown option '%s'", argv[optind - 1]);
        }
    }
    return optind;
}

/* Reports a failed write to stdout (a full disk, a closed pipe). */
static int close_stdout(int status)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_error("write error: %s", strerror(errno));
        return status ? status : CLI_FAIL;
    }
    return status;
}

int main(int argc, char **argv)
{
    cli_globals g = {0};
    int first = parse_globals(&g, argc, argv);
    if (first >= 1000)
        return close_stdout(first - 1000);
    if (first >= argc)
        return cli_usage("missing command");

    const char *name = argv[first];
    if (strcmp(name, "help") == 0) { /* `mmstore help [COMMAND]` */
        if (first + 1 >= argc) {
            print_main_help(stdout);
            return close_stdout(CLI_OK);
        }
        name = argv[first + 1];
        cli_current = find_command(name);
        if (!cli_current)
            return cli_usage("'%s' is not a command", name);
        cli_command_help(cli_current);
        return close_stdout(CLI_OK);
    }
    cli_current = find_command(name);
    if (!cli_current)
        return cli_usage("'%s' is not a command", name);

    if (!g.store_path)
        g.store_path = default_store(&g);
    optind = 0; /* restart getopt for the command's own options */
    return close_stdout(cli_current->run(&g, argc - first, argv + first));
}
