/* SPDX-License-Identifier: GPL-2.0 */
/*
 * snapblk: counts of I/O in flight that an owner drains before it frees
 * the structure holding them.
 *
 * A plain atomic_dec_and_test() followed by wake_up() lets the waiter
 * see zero, return and free the wait queue before the waker has touched
 * it. Here the decrement and the wake-up happen under the wait queue's
 * lock, and the drain takes that lock once more after seeing zero, so
 * the last waker is gone before the caller frees anything.
 */
#ifndef SNAPBLK_INFLIGHT_H
#define SNAPBLK_INFLIGHT_H

#include <linux/atomic.h>
#include <linux/sched.h>
#include <linux/wait.h>

/* Drop one from @n; wake @wq's waiters when it reaches zero. Any context. */
static inline void snapblk_inflight_put(atomic_t *n, wait_queue_head_t *wq)
{
	unsigned long flags;

	spin_lock_irqsave(&wq->lock, flags);
	if (atomic_dec_and_test(n))
		wake_up_all_locked(wq);
	spin_unlock_irqrestore(&wq->lock, flags);
}

/* Wait until @n is zero and its last waker has left @wq. */
static inline void snapblk_inflight_drain(atomic_t *n, wait_queue_head_t *wq)
{
	wait_event(*wq, !atomic_read(n));
	spin_lock_irq(&wq->lock);
	spin_unlock_irq(&wq->lock);
}

#endif /* SNAPBLK_INFLIGHT_H */
