/* text.c — see text.h. */
#include "core/text.h"

#include <stdio.h>
#include <string.h>

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
