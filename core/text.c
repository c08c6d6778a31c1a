/* text.c — see text.h. */
#include "core/text.h"

#include "core/err.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

void md_copy_str(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src ? src : "");
}

void md_first_line(const char *s, char *out, size_t len)
{
	out[0] = '\0';
	while (s && *s) {
		size_t n = strcspn(s, "\r\n");

		if (n) {
			snprintf(out, len, "%.*s", (int)n, s);
			return;
		}
		s += strspn(s, "\r\n");
	}
}

void md_printable(const char *in, char *out, size_t len)
{
	size_t o = 0;

	for (; in && *in && o + 5 < len; in++) {
		unsigned char c = (unsigned char)*in;

		if (c >= ' ' && c < 0x7f && c != '\\')
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, len - o, "\\x%02x", c);
	}
	out[o] = '\0';
}

/* "+HH:MM" / "-HH:MM" at p as seconds east of UTC; false when p is not one. */
static bool utc_offset(const char *p, int64_t *off)
{
	if ((*p != '+' && *p != '-') || !isdigit((unsigned char)p[1]) ||
	    !isdigit((unsigned char)p[2]) || p[3] != ':' || !isdigit((unsigned char)p[4]) ||
	    !isdigit((unsigned char)p[5]))
		return false;
	*off = ((p[1] - '0') * 10 + (p[2] - '0')) * 3600 + ((p[4] - '0') * 10 + (p[5] - '0')) * 60;
	if (*p == '-')
		*off = -*off;
	return true;
}

int md_parse_rfc3339(const char *s, int64_t *out)
{
	struct tm tm = { 0 };
	int y, mo, d, h, mi, sec, n = 0;
	const char *p;
	int64_t off = 0;

	*out = 0;
	if (!s || sscanf(s, "%4d-%2d-%2d%*1[Tt]%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 ||
	    n != 19 || y < 1 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 ||
	    mi > 59 || sec < 0 || sec > 60)
		return MD_EPARSE;
	p = s + n;
	if (*p == '.') {
		size_t digits = strspn(++p, "0123456789");

		if (digits == 0 || digits > 9)
			return MD_EPARSE;
		p += digits;
	}
	if (*p == 'Z' || *p == 'z')
		p++;
	else if (utc_offset(p, &off))
		p += 6;
	else
		return MD_EPARSE;
	if (*p)
		return MD_EPARSE;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	*out = (int64_t)timegm(&tm) - off;
	return MD_OK;
}
