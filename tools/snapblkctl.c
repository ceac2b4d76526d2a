// SPDX-License-Identifier: GPL-2.0
/*
 * snapblkctl - control snapblk snapshot and overlay block devices.
 *
 * The command line is a contract (docs: SPEC.md, section 3):
 *
 *   snapblkctl overlay  BASE STORE [--chunk-size SIZE] [--name NAME]
 *   snapblkctl origin   DEV [--name NAME]
 *   snapblkctl snapshot ORIGIN STORE [--chunk-size SIZE] [--name NAME]
 *                       [--on-full invalidate|block-writes]
 *   snapblkctl attach   STORE (--base BASE | --origin ORIGIN) [--name NAME]
 *   snapblkctl detach|delete|wait|grow DEV
 *   snapblkctl commit|revert DEV [--wait]
 *   snapblkctl status   [DEV] [--json]
 *   snapblkctl list     [--json]
 *   snapblkctl monitor  [DEV] [--json]
 *   snapblkctl version
 *   snapblkctl help     [COMMAND]
 *
 * Exit status: 0 success, 1 failure, 2 bad command line. Diagnostics are
 * single lines on stderr; stdout carries only results (a new device's
 * path, tables, JSON). The control device is /dev/snapblk-ctl, or
 * $SNAPBLK_CTL if set.
 *
 * Here: dispatch and help. parse.c: the command line; ctl.c: the control
 * device; kernel.c: the ioctl call; devref.c: device arguments; create.c,
 * devcmd.c, wait.c, show.c, monitor.c: the commands; json.c: JSON output; msg.c:
 * messages. tools/tests/ holds the tests.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cmds.h"
#include "ctl.h"
#include "msg.h"
#include "parse.h"

/**
 * struct command - one command of the command line.
 * @name: what the user types.
 * @synopsis: its arguments; '\n' continues on an indented line.
 * @summary: one line for the overview.
 * @help: what `help COMMAND` adds below the synopsis.
 * @pos: names of the positionals, for messages.
 * @nr_req: how many positionals are required.
 * @nr_pos: how many positionals are allowed.
 * @opts: allowed options, OPTF() bits.
 * @run: does it.
 */
struct command {
	const char *name;
	const char *synopsis;
	const char *summary;
	const char *help;
	const char *pos[ARGS_MAX_POS];
	int nr_req;
	int nr_pos;
	unsigned int opts;
	int (*run)(const struct args *a);
};

static int cmd_version(const struct args *a);
static int cmd_help(const struct args *a);

#define HELP_NAME_RULE \
	"  --name NAME        1-31 characters from A-Z a-z 0-9 . _ -, not\n" \
	"                     starting with '-' "
#define HELP_NAME	HELP_NAME_RULE "(default: snapblkN)\n"
#define HELP_CHUNK \
	"  --chunk-size SIZE  copy-on-write unit: a power of two from 4K to 1M,\n" \
	"                     in bytes or with a K or M suffix (default 64K)\n"
#define HELP_WAIT \
	"  --wait             then wait for the end, as 'wait' does\n"
#define HELP_PRINTS \
	"Prints the new device's path, /dev/snapblkN, alone on stdout.\n"

static const struct command commands[] = {
	{
		.name = "overlay",
		.synopsis = "BASE STORE [--chunk-size SIZE] [--name NAME]",
		.summary = "make a keep-original overlay of BASE, its delta on STORE",
		.help = "Make an overlay of BASE. BASE is never written: every write goes\n"
			"to STORE, which is formatted.\n" HELP_PRINTS "\n"
			"  BASE               block device, or the NAME of an overlay to chain\n"
			"  STORE              block device for the delta; its data is lost\n"
			HELP_CHUNK HELP_NAME,
		.pos = { "BASE", "STORE" },
		.nr_req = 2,
		.nr_pos = 2,
		.opts = OPTF(OPT_CHUNK_SIZE) | OPTF(OPT_NAME),
		.run = cmd_overlay,
	}, {
		.name = "origin",
		.synopsis = "DEV [--name NAME]",
		.summary = "wrap the disk DEV in an origin that snapshots can be taken of",
		.help = "Wrap the disk DEV in an origin device, which takes the writes and of\n"
			"which snapshots can be taken; use it instead of DEV from then on.\n"
			HELP_PRINTS "\n"
			"  DEV                block device to wrap\n"
			HELP_NAME,
		.pos = { "DEV" },
		.nr_req = 1,
		.nr_pos = 1,
		.opts = OPTF(OPT_NAME),
		.run = cmd_origin,
	}, {
		.name = "snapshot",
		.synopsis = "ORIGIN STORE [--chunk-size SIZE] [--name NAME]\n"
			    "[--on-full invalidate|block-writes]",
		.summary = "make a point-in-time snapshot of ORIGIN, kept on STORE",
		.help = "Make a snapshot of ORIGIN: before the origin first overwrites a chunk,\n"
			"its old contents are copied to STORE. A STORE without snapblk data is\n"
			"formatted; one that holds snapshots of ORIGIN gets one more.\n"
			HELP_PRINTS "\n"
			"  ORIGIN             snapblk origin device: /dev/snapblkN or NAME\n"
			"  STORE              block device for the copied chunks\n"
			HELP_CHUNK HELP_NAME
			"  --on-full POLICY   when STORE is full: 'invalidate' (default) drops\n"
			"                     the snapshot, 'block-writes' fails the origin\n"
			"                     writes that would need a copy instead\n",
		.pos = { "ORIGIN", "STORE" },
		.nr_req = 2,
		.nr_pos = 2,
		.opts = OPTF(OPT_CHUNK_SIZE) | OPTF(OPT_NAME) | OPTF(OPT_ON_FULL),
		.run = cmd_snapshot,
	}, {
		.name = "attach",
		.synopsis = "STORE (--base BASE | --origin ORIGIN) [--name NAME]",
		.summary = "bring back the overlay or snapshots kept on STORE",
		.help = "Bring back the devices kept on STORE, after a detach or a reboot: an\n"
			"overlay of BASE, or the snapshots of ORIGIN. STORE must have been made\n"
			"on that BASE or ORIGIN. A snapshot store may hold several snapshots:\n"
			"each one without a device gets one, and its path is printed on a line\n"
			"of its own; with --name, only the oldest is attached, under NAME.\n\n"
			"  STORE              block device holding a snapblk store\n"
			"  --base BASE        the overlay's base: block device or NAME\n"
			"  --origin ORIGIN    the snapshot's origin: /dev/snapblkN or NAME\n"
			HELP_NAME_RULE "(default: the name kept on STORE)\n",
		.pos = { "STORE" },
		.nr_req = 1,
		.nr_pos = 1,
		.opts = OPTF(OPT_BASE) | OPTF(OPT_ORIGIN) | OPTF(OPT_NAME),
		.run = cmd_attach,
	}, {
		.name = "detach",
		.synopsis = "DEV",
		.summary = "remove the device; the store stays valid for attach",
		.help = "Remove the device DEV. Its store keeps its data for 'attach'.\n"
			"Refused while DEV is in use or has child devices.\n",
		.pos = { "DEV" },
		.nr_req = 1,
		.nr_pos = 1,
		.run = cmd_detach,
	}, {
		.name = "delete",
		.synopsis = "DEV",
		.summary = "remove the device and discard its store's contents",
		.help = "Remove the device DEV and discard the contents of its store.\n"
			"Refused while DEV is in use or has child devices.\n",
		.pos = { "DEV" },
		.nr_req = 1,
		.nr_pos = 1,
		.run = cmd_delete,
	}, {
		.name = "commit",
		.synopsis = "DEV [--wait]",
		.summary = "overlay: merge its delta into its parent",
		.help = "Merge the delta of the overlay DEV into its parent (its base or a\n"
			"parent overlay) in the background; DEV stays usable meanwhile. At the\n"
			"end the parent holds DEV's view and DEV's delta is empty. Refused\n"
			"while the parent has other children. A commit that a crash or a\n"
			"detach interrupted resumes on attach; after an I/O error stopped\n"
			"it (state 'stopped'), running commit again retries.\n\n"
			HELP_WAIT,
		.pos = { "DEV" },
		.nr_req = 1,
		.nr_pos = 1,
		.opts = OPTF(OPT_WAIT),
		.run = cmd_commit,
	}, {
		.name = "revert",
		.synopsis = "DEV [--wait]",
		.summary = "snapshot: roll its origin back to it",
		.help = "Roll the origin of the snapshot DEV back to it. The origin shows the\n"
			"snapshot's contents at once; the old data is copied back in the\n"
			"background, and DEV is removed when that ends. A revert that a crash\n"
			"interrupted resumes on attach; after an I/O error stopped it (state\n"
			"'stopped'), running revert again retries.\n\n"
			HELP_WAIT,
		.pos = { "DEV" },
		.nr_req = 1,
		.nr_pos = 1,
		.opts = OPTF(OPT_WAIT),
		.run = cmd_revert,
	}, {
		.name = "wait",
		.synopsis = "DEV",
		.summary = "wait until a commit or revert ends, with progress",
		.help = "Wait until the commit or revert running on DEV ends, with its progress\n"
			"on stderr. Exits 1 if an I/O error stops it (or stopped it before:\n"
			"state 'stopped') or it ends with the device invalid or its store full;\n"
			"exits 0 at once if none is running or stopped.\n",
		.pos = { "DEV" },
		.nr_req = 1,
		.nr_pos = 1,
		.run = cmd_wait,
	}, {
		.name = "grow",
		.synopsis = "DEV",
		.summary = "the store device grew: use the new space",
		.help = "Make DEV use the new space of its store device after it grew.\n",
		.pos = { "DEV" },
		.nr_req = 1,
		.nr_pos = 1,
		.run = cmd_grow,
	}, {
		.name = "status",
		.synopsis = "[DEV] [--json]",
		.summary = "show DEV or all devices",
		.help = "Show DEV, or all devices, as a table; with --json as one JSON object\n"
			"(DEV) or an array of them, with the keys path, name, index, kind,\n"
			"parent, store, size, chunk_size, store_used, store_size (bytes),\n"
			"state, progress (percent), on_full and children.\n",
		.pos = { "DEV" },
		.nr_req = 0,
		.nr_pos = 1,
		.opts = OPTF(OPT_JSON),
		.run = cmd_status,
	}, {
		.name = "list",
		.synopsis = "[--json]",
		.summary = "list all devices",
		.help = "List all devices, one line each: /dev/snapblkN NAME KIND PARENT;\n"
			"with --json as a JSON array, as 'status --json' prints.\n",
		.nr_pos = 0,
		.opts = OPTF(OPT_JSON),
		.run = cmd_list,
	}, {
		.name = "monitor",
		.synopsis = "[DEV] [--json]",
		.summary = "print events (thresholds, full, commit/revert ends) as they happen",
		.help = "Print one line per event of DEV, or of every device, as it happens,\n"
			"until interrupted (SIGINT or SIGTERM end it with status 0). Events:\n"
			"threshold (store use rose past 80, 90 or 95 percent), full, invalid,\n"
			"stopped (an I/O error stopped a commit or revert), commit-done and\n"
			"revert-done. They are read from the kernel's uevents: no udev daemon\n"
			"is needed. Lines: TIME PATH NAME EVENT used=N% state=STATE.\n\n"
			"  --json             one JSON object per line, with the keys time,\n"
			"                     path, name, event, used_percent and state\n",
		.pos = { "DEV" },
		.nr_req = 0,
		.nr_pos = 1,
		.opts = OPTF(OPT_JSON),
		.run = cmd_monitor,
	}, {
		.name = "version",
		.synopsis = "",
		.summary = "show the versions of the tool and of the module",
		.help = "Show the versions of the tool and of the loaded module, with the\n"
			"ioctl ABI version each implements.\n",
		.run = cmd_version,
	}, {
		.name = "help",
		.synopsis = "[COMMAND]",
		.summary = "show this text, or the usage of COMMAND",
		.help = "Show the usage of all commands, or of COMMAND.\n",
		.pos = { "COMMAND" },
		.nr_pos = 1,
		.run = cmd_help,
	},
};

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define NR_COMMANDS	ARRAY_SIZE(commands)

static const char usage_head[] =
	"Usage: " PROG_NAME " COMMAND [ARGUMENTS] [OPTIONS]\n"
	"\n"
	"Snapshot and overlay block devices: drives the snapblk module through\n"
	SNAPBLK_CTL_PATH ".\n"
	"\n"
	"Commands:\n";

static const char usage_tail[] =
	"\n"
	"Arguments:\n"
	"  DEV     a snapblk device: /dev/snapblkN, or its NAME\n"
	"  BASE    a block device (losetup makes one of an image file), or the NAME\n"
	"          of a snapblk device; STORE: a block device; ORIGIN: a snapblk\n"
	"          origin device, /dev/snapblkN or NAME\n"
	"  SIZE    a power of two from 4K to 1M, with a K or M suffix; default 64K\n"
	"  NAME    1-31 characters from A-Z a-z 0-9 . _ -, not starting with '-'\n"
	"\n"
	"Options may come before or after the arguments, as --opt VALUE or\n"
	"--opt=VALUE; 'COMMAND --help' shows the usage of COMMAND. Commands that\n"
	"make a device print its path alone on stdout. Exit status: 0 success,\n"
	"1 failure, 2 bad command line.\n";

static const struct command *find_command(const char *name)
{
	size_t i;

	for (i = 0; i < NR_COMMANDS; i++) {
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	}
	return NULL;
}

/* Print a synopsis, indenting its continuation lines by @indent. */
static void print_synopsis(FILE *f, const char *syn, int indent)
{
	const char *nl;

	while ((nl = strchr(syn, '\n'))) {
		fprintf(f, "%.*s\n%*s", (int)(nl - syn), syn, indent, "");
		syn = nl + 1;
	}
	fprintf(f, "%s\n", syn);
}

static void print_usage(FILE *f)
{
	size_t i;

	fputs(usage_head, f);
	for (i = 0; i < NR_COMMANDS; i++) {
		if (commands[i].synopsis[0]) {
			fprintf(f, "  %-8s ", commands[i].name);
			print_synopsis(f, commands[i].synopsis, 11);
		} else {
			fprintf(f, "  %s\n", commands[i].name);
		}
		fprintf(f, "           %s\n", commands[i].summary);
	}
	fputs(usage_tail, f);
}

static void print_command_usage(FILE *f, const struct command *cmd)
{
	int indent = (int)(strlen("Usage: " PROG_NAME " ") + strlen(cmd->name) + 1);

	fprintf(f, "Usage: " PROG_NAME " %s%s", cmd->name,
		cmd->synopsis[0] ? " " : "");
	print_synopsis(f, cmd->synopsis, indent);
	fprintf(f, "\n%s", cmd->help);
}

static int cmd_help(const struct args *a)
{
	const struct command *cmd;

	if (!a->nr_pos) {
		print_usage(stdout);
		return EXIT_OK;
	}
	cmd = find_command(a->pos[0]);
	if (!cmd)
		return err_usage("unknown command '%s' (see '" PROG_NAME " --help')",
				 a->pos[0]);
	print_command_usage(stdout, cmd);
	return EXIT_OK;
}

static int cmd_version(const struct args *a)
{
	struct snapblk_version ver;
	int ctl, ret;

	printf(PROG_NAME " " TOOL_VERSION " (ABI %d.%d)\n", SNAPBLK_ABI_MAJOR,
	       SNAPBLK_ABI_MINOR);
	fflush(stdout);
	ctl = ctl_open(false);
	if (ctl < 0)
		return EXIT_FAIL;
	ret = ctl_version(ctl, &ver);
	if (ret)
		return err_ctl(-ret, "cannot query the module");
	printf("module %s (ABI %u.%u)\n", ver.version[0] ? ver.version : "unknown",
	       ver.abi_major, ver.abi_minor);
	if (ver.abi_major != SNAPBLK_ABI_MAJOR)
		return err_fail("the module's ABI %u is not the tool's ABI %d",
				ver.abi_major, SNAPBLK_ABI_MAJOR);
	return EXIT_OK;
}

/* --help or -h before any "--" asks for help, whatever else is there. */
static bool wants_help(int argc, char *const *argv)
{
	int i;

	for (i = 0; i < argc && strcmp(argv[i], "--"); i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return true;
	}
	return false;
}

static int run_command(const struct command *cmd, int argc, char *const *argv)
{
	struct args a;
	int ret;

	msg_set_cmd(cmd->name);
	if (wants_help(argc, argv)) {
		print_command_usage(stdout, cmd);
		return EXIT_OK;
	}
	ret = args_parse(argc, argv, cmd->opts, cmd->nr_pos, &a);
	if (ret)
		return ret;
	if (a.nr_pos < cmd->nr_req)
		return err_usage("missing %s (see '" PROG_NAME " help %s')",
				 cmd->pos[a.nr_pos], cmd->name);
	return cmd->run(&a);
}

/* Report a failure to write stdout, which would lose results. */
static int finish_output(int ret)
{
	if (fflush(stdout) || ferror(stdout)) {
		if (errno == EPIPE)
			return EXIT_FAIL;
		return err_sys(errno, "cannot write the output");
	}
	return ret;
}

int main(int argc, char **argv)
{
	const struct command *cmd;
	const char *word;

	if (argc < 2)
		return err_usage("missing command (see '" PROG_NAME " --help')");
	word = argv[1];
	if (!strcmp(word, "--help") || !strcmp(word, "-h")) {
		print_usage(stdout);
		return finish_output(EXIT_OK);
	}
	if (!strcmp(word, "--version"))
		word = "version";
	cmd = find_command(word);
	if (!cmd && word[0] == '-')
		return err_usage("unknown option '%s' (see '" PROG_NAME " --help')",
				 word);
	if (!cmd)
		return err_usage("unknown command '%s' (see '" PROG_NAME " --help')",
				 word);
	return finish_output(run_command(cmd, argc - 2, argv + 2));
}
