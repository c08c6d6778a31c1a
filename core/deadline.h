/* deadline.h — one deadline, threaded through every blocking call.
 *
 * A deadline is an absolute point on the monotonic clock, in milliseconds.  end_ms == 0
 * means "no deadline".  Every blocking call takes a const struct md_deadline * and converts
 * it to a timeout just before it blocks (poll, libssh2_session_set_timeout, ...). */
#ifndef MD_DEADLINE_H
#define MD_DEADLINE_H

#include <stdint.h>

struct md_deadline {
	int64_t end_ms; /* monotonic ms; 0 = none */
};

int64_t md_now_ms(void);      /* CLOCK_MONOTONIC in ms */
int64_t md_wall_ms(void);     /* CLOCK_REALTIME in ms (for reports) */

/* A deadline budget_ms after now_ms (budget <= 0: none). */
struct md_deadline md_deadline_after(int64_t now_ms, int64_t budget_ms);
/* The earlier of a and b (a deadline of "none" never wins). */
struct md_deadline md_deadline_min(struct md_deadline a, struct md_deadline b);
/* Milliseconds left at now_ms; INT64_MAX when there is no deadline; <= 0 means expired. */
int64_t md_deadline_left_at(const struct md_deadline *dl, int64_t now_ms);
int64_t md_deadline_left_ms(const struct md_deadline *dl);
/* Left time clamped to [0, INT32_MAX] for poll(): -1 (infinite) when there is no deadline. */
int md_deadline_poll_ms(const struct md_deadline *dl);

#endif
