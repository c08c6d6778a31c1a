#include "core/buf.h"
#include "core/err.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void md_buf_init(struct md_buf *b, size_t max)
{
	b->data = NULL;
	b->len = b->cap = 0;
	b->max = max;
}

void md_buf_cleanup(struct md_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void md_buf_reset(struct md_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

static int grow(struct md_buf *b, size_t need)
{
	size_t cap;
	char *p;

	if (need + 1 <= b->cap)
		return MD_OK;
	cap = b->cap ? b->cap : 256;
	while (cap < need + 1)
		cap *= 2;
	p = realloc(b->data, cap);
	if (!p)
		return MD_ENOMEM;
	b->data = p;
	b->cap = cap;
	return MD_OK;
}

int md_buf_append(struct md_buf *b, const void *p, size_t n)
{
	int rc;

	if (b->max && b->len + n > b->max)
		return MD_ETOOBIG;
	rc = grow(b, b->len + n);
	if (rc)
		return rc;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return MD_OK;
}

int md_buf_puts(struct md_buf *b, const char *s)
{
	return md_buf_append(b, s, strlen(s));
}

int md_buf_vprintf(struct md_buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	int n, rc;

	va_copy(cp, ap);
	n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		return MD_EINVAL;
	if (b->max && b->len + (size_t)n > b->max)
		return MD_ETOOBIG;
	rc = grow(b, b->len + (size_t)n);
	if (rc)
		return rc;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return MD_OK;
}

int md_buf_printf(struct md_buf *b, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = md_buf_vprintf(b, fmt, ap);
	va_end(ap);
	return rc;
}

const char *md_buf_str(const struct md_buf *b)
{
	return b->data ? b->data : "";
}

char *md_buf_steal(struct md_buf *b)
{
	char *p = b->data;

	if (!p)
		p = strdup("");
	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}

void md_buf_rstrip(struct md_buf *b)
{
	while (b->len && strchr(" \t\r\n", b->data[b->len - 1]))
		b->data[--b->len] = '\0';
}

void *md_grow(void *v, size_t *cap, size_t n, size_t elem, size_t first)
{
	size_t c;

	if (n < *cap)
		return v;
	c = *cap ? *cap * 2 : first;
	if (c < *cap || c > SIZE_MAX / elem)
		return NULL;
	v = realloc(v, c * elem);
	if (v)
		*cap = c;
	return v;
}
