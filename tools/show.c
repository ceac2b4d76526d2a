// SPDX-License-Identifier: GPL-2.0
/*
 * snapblkctl - status and list: what the devices are and do, as a table,
 * as lines, or as JSON.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "ctl.h"
#include "devref.h"
#include "json.h"
#include "msg.h"

enum column {
	COL_DEVICE, COL_NAME, COL_KIND, COL_PARENT, COL_STORE, COL_CHUNK,
	COL_USED, COL_SIZE, COL_STATE, COL_PROGRESS, COL_NR
};

#define CELL_LEN	64

static const char *const col_names[COL_NR] = {
	"DEVICE", "NAME", "KIND", "PARENT", "STORE", "CHUNK", "USED", "SIZE",
	"STATE", "PROGRESS"
};

struct row {
	char cell[COL_NR][CELL_LEN];
};

const char *kind_str(__u32 kind)
{
	switch (kind) {
	case SNAPBLK_KIND_OVERLAY:
		return "overlay";
	case SNAPBLK_KIND_ORIGIN:
		return "origin";
	case SNAPBLK_KIND_SNAPSHOT:
		return "snapshot";
	default:
		return "unknown";
	}
}

const char *kind_article(__u32 kind)
{
	switch (kind) {
	case SNAPBLK_KIND_OVERLAY:
		return "an overlay";
	case SNAPBLK_KIND_ORIGIN:
		return "an origin";
	case SNAPBLK_KIND_SNAPSHOT:
		return "a snapshot";
	default:
		return "an unknown kind of device";
	}
}

const char *state_str(__u32 state)
{
	switch (state) {
	case SNAPBLK_STATE_ACTIVE:
		return "active";
	case SNAPBLK_STATE_COMMITTING:
		return "committing";
	case SNAPBLK_STATE_REVERTING:
		return "reverting";
	case SNAPBLK_STATE_INVALID:
		return "invalid";
	case SNAPBLK_STATE_FULL:
		return "full";
	case SNAPBLK_STATE_STOPPED:
		return "stopped";
	default:
		return "unknown";
	}
}

static const char *on_full_str(__u32 on_full)
{
	switch (on_full) {
	case SNAPBLK_ON_FULL_INVALIDATE:
		return "invalidate";
	case SNAPBLK_ON_FULL_BLOCK_WRITES:
		return "block-writes";
	default:
		return "unknown";
	}
}

void fmt_size(__u64 bytes, char *buf, size_t len)
{
	static const char units[] = "BKMGTPE";
	double val = (double)bytes;
	int u = 0;

	while (val >= 1024 && u < 6) {
		val /= 1024;
		u++;
	}
	if (val >= 1023.95 && u > 0 && u < 6) {
		val /= 1024;
		u++;
	}
	if (!u)
		snprintf(buf, len, "%lluB", (unsigned long long)bytes);
	else
		snprintf(buf, len, "%.1f%c", val, units[u]);
}

/* A chunk size is a power of two: "4K", "64K", "1M". */
static void fmt_chunk(__u32 bytes, char *buf, size_t len)
{
	if (bytes && !(bytes % (1024 * 1024)))
		snprintf(buf, len, "%uM", bytes / (1024 * 1024));
	else if (bytes && !(bytes % 1024))
		snprintf(buf, len, "%uK", bytes / 1024);
	else
		snprintf(buf, len, "%uB", bytes);
}

static bool has_store(const struct snapblk_info *info)
{
	return info->kind != SNAPBLK_KIND_ORIGIN && info->store[0];
}

static bool is_running(const struct snapblk_info *info)
{
	return info->state == SNAPBLK_STATE_COMMITTING ||
	       info->state == SNAPBLK_STATE_REVERTING;
}

static void dev_path(const char *disk, char *buf, size_t len)
{
	if (disk[0])
		snprintf(buf, len, DEV_DIR "%s", disk);
	else
		snprintf(buf, len, "-");
}

static void fill_row(const struct snapblk_info *info, struct row *r)
{
	char (*c)[CELL_LEN] = r->cell;

	snprintf(c[COL_DEVICE], CELL_LEN, DEV_DIR SNAPBLK_DISK_NAME "%u",
		 info->index);
	snprintf(c[COL_NAME], CELL_LEN, "%s", info->name[0] ? info->name : "-");
	snprintf(c[COL_KIND], CELL_LEN, "%s", kind_str(info->kind));
	dev_path(info->parent, c[COL_PARENT], CELL_LEN);
	dev_path(has_store(info) ? info->store : "", c[COL_STORE], CELL_LEN);
	if (has_store(info)) {
		fmt_chunk(info->chunk_size, c[COL_CHUNK], CELL_LEN);
		fmt_size(info->store_used, c[COL_USED], CELL_LEN);
		fmt_size(info->store_size, c[COL_SIZE], CELL_LEN);
	} else {
		strcpy(c[COL_CHUNK], "-");
		strcpy(c[COL_USED], "-");
		strcpy(c[COL_SIZE], "-");
	}
	snprintf(c[COL_STATE], CELL_LEN, "%s", state_str(info->state));
	if (is_running(info))
		snprintf(c[COL_PROGRESS], CELL_LEN, "%u%%", info->progress);
	else
		strcpy(c[COL_PROGRESS], "-");
}

static bool right_aligned(int col)
{
	return col == COL_CHUNK || col == COL_USED || col == COL_SIZE ||
	       col == COL_PROGRESS;
}

static void print_line(const char *const *cells, const int *width)
{
	int col;

	for (col = 0; col < COL_NR; col++) {
		int w = col == COL_NR - 1 && !right_aligned(col) ? 0 : width[col];

		printf("%s%*s", col ? "  " : "",
		       right_aligned(col) ? w : -w, cells[col]);
	}
	putchar('\n');
}

static int print_table(const struct snapblk_info *infos, size_t nr)
{
	const char *cells[COL_NR];
	int width[COL_NR];
	struct row *rows;
	size_t i;
	int col;

	rows = calloc(nr ? nr : 1, sizeof(*rows));
	if (!rows)
		return err_sys(ENOMEM, "cannot show the devices");
	for (col = 0; col < COL_NR; col++)
		width[col] = (int)strlen(col_names[col]);
	for (i = 0; i < nr; i++) {
		fill_row(&infos[i], &rows[i]);
		for (col = 0; col < COL_NR; col++) {
			int len = (int)strlen(rows[i].cell[col]);

			if (len > width[col])
				width[col] = len;
		}
	}
	print_line(col_names, width);
	for (i = 0; i < nr; i++) {
		for (col = 0; col < COL_NR; col++)
			cells[col] = rows[i].cell[col];
		print_line(cells, width);
	}
	free(rows);
	return 0;
}

static void json_dev_path(struct json *j, const char *key, const char *disk)
{
	char path[CELL_LEN];

	json_key(j, key);
	if (!disk[0]) {
		json_null(j);
		return;
	}
	dev_path(disk, path, sizeof(path));
	json_string(j, path);
}

static void json_device(struct json *j, const struct snapblk_info *info)
{
	char path[CELL_LEN];

	snprintf(path, sizeof(path), DEV_DIR SNAPBLK_DISK_NAME "%u", info->index);
	json_begin_object(j);
	json_key(j, "path");
	json_string(j, path);
	json_key(j, "name");
	json_string(j, info->name);
	json_key(j, "index");
	json_uint(j, info->index);
	json_key(j, "kind");
	json_string(j, kind_str(info->kind));
	json_dev_path(j, "parent", info->parent);
	json_dev_path(j, "store", has_store(info) ? info->store : "");
	json_key(j, "size");
	json_uint(j, info->size);
	json_key(j, "chunk_size");
	json_uint(j, info->chunk_size);
	json_key(j, "store_used");
	json_uint(j, info->store_used);
	json_key(j, "store_size");
	json_uint(j, info->store_size);
	json_key(j, "state");
	json_string(j, state_str(info->state));
	json_key(j, "progress");
	json_uint(j, info->progress > 100 ? 100 : info->progress);
	json_key(j, "on_full");
	if (info->kind == SNAPBLK_KIND_SNAPSHOT)
		json_string(j, on_full_str(info->on_full));
	else
		json_null(j);
	json_key(j, "children");
	json_uint(j, info->nr_children);
	json_end_object(j);
}

static void print_json(const struct snapblk_info *infos, size_t nr)
{
	struct json j;
	size_t i;

	json_init(&j, stdout);
	json_begin_array(&j);
	for (i = 0; i < nr; i++)
		json_device(&j, &infos[i]);
	json_end_array(&j);
}

static int list_all(int ctl, struct snapblk_info **infos, size_t *nr)
{
	int ret = ctl_list(ctl, infos, nr);

	return ret ? err_ctl(-ret, "cannot list snapblk devices") : 0;
}

static int status_one(int ctl, const char *arg, bool json)
{
	struct snapblk_info info;
	struct json j;
	int ret;

	ret = devref_resolve(ctl, arg, &info);
	if (ret)
		return ret;
	if (!json)
		return print_table(&info, 1);
	json_init(&j, stdout);
	json_device(&j, &info);
	return 0;
}

int cmd_status(const struct args *a)
{
	bool json = !!a->val[OPT_JSON];
	struct snapblk_info *infos;
	size_t nr;
	int ctl, ret;

	ctl = ctl_open(false);
	if (ctl < 0)
		return EXIT_FAIL;
	if (a->pos[0])
		return status_one(ctl, a->pos[0], json);
	ret = list_all(ctl, &infos, &nr);
	if (ret)
		return ret;
	if (json)
		print_json(infos, nr);
	else
		ret = print_table(infos, nr);
	free(infos);
	return ret;
}

/* One line per device: "/dev/snapblkN NAME KIND PARENT". */
static void print_list(const struct snapblk_info *infos, size_t nr)
{
	char parent[CELL_LEN];
	size_t i;

	for (i = 0; i < nr; i++) {
		dev_path(infos[i].parent, parent, sizeof(parent));
		printf(DEV_DIR SNAPBLK_DISK_NAME "%u %s %s %s\n", infos[i].index,
		       infos[i].name[0] ? infos[i].name : "-",
		       kind_str(infos[i].kind), parent);
	}
}

int cmd_list(const struct args *a)
{
	struct snapblk_info *infos;
	size_t nr;
	int ctl, ret;

	ctl = ctl_open(false);
	if (ctl < 0)
		return EXIT_FAIL;
	ret = list_all(ctl, &infos, &nr);
	if (ret)
		return ret;
	if (a->val[OPT_JSON])
		print_json(infos, nr);
	else
		print_list(infos, nr);
	free(infos);
	return 0;
}
