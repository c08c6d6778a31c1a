/* text.h — small helpers for text that comes from a host and goes into evidence. */
#ifndef MD_TEXT_H
#define MD_TEXT_H

#include <stddef.h>

/* src (NULL as "") into dst of len bytes, truncated to fit. */
void md_copy_str(char *dst, size_t len, const char *src);
/* The first line of s (NULL as "") that is not empty, without its line end, into out;
 * "" when there is none. */
void md_first_line(const char *s, char *out, size_t len);
/* in with printable ASCII kept and every other byte (and '\') as \xNN, so that remote
 * text can neither end a line nor drive a terminal; cut at a whole character to fit. */
void md_printable(const char *in, char *out, size_t len);

#endif
