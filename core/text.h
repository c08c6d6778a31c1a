/* text.h — small helpers for text that comes from a host and goes into evidence. */
#ifndef MD_TEXT_H
#define MD_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* src (NULL as "") into dst of len bytes, truncated to fit. */
void md_copy_str(char *dst, size_t len, const char *src);
/* The first line of s (NULL as "") that is not empty, without its line end, into out;
 * "" when there is none. */
void md_first_line(const char *s, char *out, size_t len);
/* in with printable ASCII kept and every other byte (and '\') as \xNN, so that remote
 * text can neither end a line nor drive a terminal; cut at a whole character to fit. */
void md_printable(const char *in, char *out, size_t len);

/* An RFC 3339 time ("2026-08-26T14:00:00.123+02:00", 'T' or 't' between date
 * and time, 'Z' or 'z' or an offset; fractions of a second up to 9 digits, dropped) as
 * seconds since the epoch into *out (0 on failure).  MD_OK or MD_EPARSE. */
int md_parse_rfc3339(const char *s, int64_t *out);

#endif
