/* buf.h — a growable byte buffer with an optional cap.
 *
 * Output from remote hosts is held in capped buffers: going over the cap is MD_ETOOBIG,
 * never a silent truncation.  data is always NUL-terminated (when non-NULL). */
#ifndef MD_BUF_H
#define MD_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct md_buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max; /* 0 = no cap */
};

void md_buf_init(struct md_buf *b, size_t max);
void md_buf_cleanup(struct md_buf *b);
void md_buf_reset(struct md_buf *b); /* len = 0, keeps memory */
int md_buf_append(struct md_buf *b, const void *p, size_t n); /* MD_OK, MD_ENOMEM, MD_ETOOBIG */
int md_buf_puts(struct md_buf *b, const char *s);
int md_buf_printf(struct md_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int md_buf_vprintf(struct md_buf *b, const char *fmt, va_list ap);
/* Never NULL: "" for an empty buffer.  Valid until the next change to b. */
const char *md_buf_str(const struct md_buf *b);
/* Hands the memory to the caller (free()), leaves b empty.  Never NULL unless out of memory. */
char *md_buf_steal(struct md_buf *b);
/* Removes trailing white space (for command output). */
void md_buf_rstrip(struct md_buf *b);

/* Room for one more element in array v (n elements of size elem, capacity *cap): when
 * full, doubles the capacity (first when empty).  Returns the array, moved or not, or NULL
 * when out of memory (v and *cap unchanged). */
void *md_grow(void *v, size_t *cap, size_t n, size_t elem, size_t first);

#endif
