// SPDX-License-Identifier: GPL-2.0
/*
 * snapblk events: what each device sends as change uevents.
 *
 * The worker runs when kicked, takes the registry lock and, for every
 * device, compares what its kind reports with what the device last
 * reported: store use past 80, 90 and 95 percent of the store's data
 * space (once each as it rises past; falling below re-arms a level),
 * the state becoming full or invalid, and the events the kinds latched
 * (a commit or revert that ended or stopped). Each uevent carries
 * SNAPBLK_EVENT, SNAPBLK_NAME, SNAPBLK_USED_PERCENT and SNAPBLK_STATE.
 */
#include <linux/blkdev.h>
#include <linux/sched/mm.h>
#include <linux/workqueue.h>

#include "dev.h"
#include "event.h"

static const unsigned int snapblk_thresholds[] = { 80, 90, 95 };

static const char *const snapblk_ev_names[SNAPBLK_EV_NR] = {
	[SNAPBLK_EV_STOPPED] = "stopped",
	[SNAPBLK_EV_COMMIT_DONE] = "commit-done",
	[SNAPBLK_EV_REVERT_DONE] = "revert-done",
};

static void snapblk_event_work(struct work_struct *work);
static DECLARE_WORK(snapblk_event_worker, snapblk_event_work);

/* Percent of the data chunks of @d's store in use; 0 without a store. */
static unsigned int snapblk_used_percent(struct snapblk_dev *d)
{
	return d->kind->used_percent ? d->kind->used_percent(d) : 0;
}

static void snapblk_event_send(struct snapblk_dev *d, const char *event,
			       unsigned int pct, u32 state)
{
	char ev[32], name[16 + SNAPBLK_NAME_LEN], used[32], st[32];
	char *envp[5];

	envp[0] = ev;
	envp[1] = name;
	envp[2] = used;
	envp[3] = st;
	envp[4] = NULL;
	snprintf(ev, sizeof(ev), "SNAPBLK_EVENT=%s", event);
	snprintf(name, sizeof(name), "SNAPBLK_NAME=%s", d->name);
	snprintf(used, sizeof(used), "SNAPBLK_USED_PERCENT=%u", pct);
	snprintf(st, sizeof(st), "SNAPBLK_STATE=%s", snapblk_state_name(state));
	kobject_uevent_env(&disk_to_dev(d->disk)->kobj, KOBJ_CHANGE, envp);
}

/* Thresholds passed: bits of snapblk_thresholds[]. */
static u32 snapblk_levels(unsigned int pct)
{
	u32 levels = 0;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(snapblk_thresholds); i++)
		if (pct >= snapblk_thresholds[i])
			levels |= BIT(i);
	return levels;
}

/* Send what changed on @d since its last check. */
static void snapblk_event_check(struct snapblk_dev *d)
{
	unsigned int pct = snapblk_used_percent(d), i;
	u32 levels = snapblk_levels(pct), progress;
	u32 state = d->kind->state(d, &progress);
	unsigned long pending;

	for (i = 0; i < ARRAY_SIZE(snapblk_thresholds); i++)
		if ((levels & ~d->ev_levels) & BIT(i))
			snapblk_event_send(d, "threshold", snapblk_thresholds[i],
					   state);
	d->ev_levels = levels;
	if (state != d->ev_state && state == SNAPBLK_STATE_FULL)
		snapblk_event_send(d, "full", pct, state);
	if (state != d->ev_state && state == SNAPBLK_STATE_INVALID)
		snapblk_event_send(d, "invalid", pct, state);
	d->ev_state = state;
	pending = xchg(&d->ev_pending, 0);
	for_each_set_bit(i, &pending, SNAPBLK_EV_NR)
		snapblk_event_send(d, snapblk_ev_names[i], pct, state);
}

static void snapblk_event_work(struct work_struct *work)
{
	/* the uevents' allocations must not wait for our devices' I/O */
	unsigned int noio = memalloc_noio_save();
	struct snapblk_dev *d;

	mutex_lock(&snapblk_devs_lock);
	list_for_each_entry(d, &snapblk_devs, node)
		snapblk_event_check(d);
	mutex_unlock(&snapblk_devs_lock);
	memalloc_noio_restore(noio);
}

/**
 * snapblk_event_kick() - something a device reports may have changed:
 *	compare every device with what it last reported, soon.
 *
 * Any context.
 */
void snapblk_event_kick(void)
{
	queue_work(system_wq, &snapblk_event_worker);
}

/**
 * snapblk_dev_event() - latch event @ev of @d; the worker sends it.
 * @d: the device.
 * @ev: the event.
 *
 * Any context.
 */
void snapblk_dev_event(struct snapblk_dev *d, enum snapblk_ev ev)
{
	set_bit(ev, &d->ev_pending);
	snapblk_event_kick();
}

/**
 * snapblk_event_start() - what a new device reports is its starting
 *	point: no event for store use or a state it already has.
 * @d: the device, built, not yet in the registry.
 */
void snapblk_event_start(struct snapblk_dev *d)
{
	u32 progress;

	d->ev_levels = snapblk_levels(snapblk_used_percent(d));
	d->ev_state = d->kind->state(d, &progress);
}

/**
 * snapblk_event_exit() - at module exit, no device left: let the worker end.
 */
void snapblk_event_exit(void)
{
	cancel_work_sync(&snapblk_event_worker);
}
