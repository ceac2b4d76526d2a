/* SPDX-License-Identifier: GPL-2.0 */
/*
 * snapblk events: the change uevents each device sends (SNAPBLK_EVENT=
 * threshold, full, invalid, stopped, commit-done, revert-done), which
 * `snapblkctl monitor` and udev rules read.
 *
 * A module-wide worker compares each device with what it last reported
 * and sends what changed. Anything that may change what a device reports
 * kicks it: the stores when their use crosses a level users hear of, the
 * kinds when something ends (a commit, a revert) or fails. The kick takes
 * no device, so that the stores below the devices can use it.
 */
#ifndef SNAPBLK_EVENT_H
#define SNAPBLK_EVENT_H

#include <linux/kernel.h>
#include <linux/math64.h>
#include <linux/types.h>

struct snapblk_dev;

/* latched events: bits of snapblk_dev.ev_pending */
enum snapblk_ev {
	SNAPBLK_EV_STOPPED,
	SNAPBLK_EV_COMMIT_DONE,
	SNAPBLK_EV_REVERT_DONE,
	SNAPBLK_EV_NR,
};

void snapblk_event_kick(void);
void snapblk_dev_event(struct snapblk_dev *d, enum snapblk_ev ev);
void snapblk_event_start(struct snapblk_dev *d);
void snapblk_event_exit(void);

/* The first count of @total at or above @pct percent. */
static inline u64 snapblk_level_count(u64 total, unsigned int pct)
{
	return div_u64(total * pct + 99, 100);
}

/* @used of @total as a percent, rounded down: what events report. */
static inline unsigned int snapblk_level_percent(u64 used, u64 total)
{
	return total ? min_t(u64, 100, div64_u64(used * 100, total)) : 0;
}

/**
 * snapblk_level_crossed() - did a store's use cross a level users hear of
 *	(80, 90, 95 or 100 percent of its data chunks)?
 * @before: chunks in use before a change.
 * @after: chunks in use after it.
 * @total: data chunks of the store.
 *
 * Return: true if so, in either direction (falling re-arms a level).
 */
static inline bool snapblk_level_crossed(u64 before, u64 after, u64 total)
{
	static const unsigned int levels[] = { 80, 90, 95, 100 };
	u64 lo = min(before, after), hi = max(before, after);
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(levels); i++) {
		u64 at = snapblk_level_count(total, levels[i]);

		if (lo < at && at <= hi)
			return true;
	}
	return false;
}

/* Kick the event worker if a use change from @before to @after matters. */
static inline void snapblk_level_note(u64 before, u64 after, u64 total)
{
	if (unlikely(snapblk_level_crossed(before, after, total)))
		snapblk_event_kick();
}

#endif /* SNAPBLK_EVENT_H */
