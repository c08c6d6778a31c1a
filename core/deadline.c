#include "core/deadline.h"

#include <time.h>

int64_t md_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t md_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct md_deadline md_deadline_after(int64_t now_ms, int64_t budget_ms)
{
	struct md_deadline dl = { 0 };

	if (budget_ms > 0)
		dl.end_ms = now_ms + budget_ms;
	return dl;
}

struct md_deadline md_deadline_min(struct md_deadline a, struct md_deadline b)
{
	if (a.end_ms == 0)
		return b;
	if (b.end_ms == 0)
		return a;
	return a.end_ms < b.end_ms ? a : b;
}

int64_t md_deadline_left_at(const struct md_deadline *dl, int64_t now_ms)
{
	if (!dl || dl->end_ms == 0)
		return INT64_MAX;
	return dl->end_ms - now_ms;
}

int64_t md_deadline_left_ms(const struct md_deadline *dl)
{
	return md_deadline_left_at(dl, md_now_ms());
}

int md_deadline_poll_ms(const struct md_deadline *dl)
{
	int64_t left = md_deadline_left_ms(dl);

	if (left == INT64_MAX)
		return -1;
	if (left <= 0)
		return 0;
	return left > INT32_MAX ? INT32_MAX : (int)left;
}
