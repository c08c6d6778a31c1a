/* ssh_wire.c — RFC 4251 §5 encodings, base64, evidence text and small files for the
 * SSH client modules (core/ssh_*.c, core/known_hosts.c). */
#include "core/ssh_wire.h"
#include "core/err.h"
#include "core/net.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

void ssh_copy_span(char *out, size_t n, const char *p, size_t len)
{
	if (len >= n)
		len = n - 1;
	memcpy(out, p, len);
	out[len] = '\0';
}

void ssh_escape(const void *p, size_t len, char *out, size_t out_size)
{
	const unsigned char *s = p;
	size_t o = 0;

	if (!out_size)
		return;
	for (size_t i = 0; i < len; i++) {
		char tmp[8];
		unsigned char c = s[i];

		switch (c) {
		case '\r': snprintf(tmp, sizeof(tmp), "\\r"); break;
		case '\n': snprintf(tmp, sizeof(tmp), "\\n"); break;
		case '\t': snprintf(tmp, sizeof(tmp), "\\t"); break;
		case '\\': snprintf(tmp, sizeof(tmp), "\\\\"); break;
		case '"': snprintf(tmp, sizeof(tmp), "\\\""); break;
		default:
			if (c >= 0x20 && c < 0x7f)
				snprintf(tmp, sizeof(tmp), "%c", c);
			else
				snprintf(tmp, sizeof(tmp), "\\x%02x", c);
		}
		if (o + strlen(tmp) + 1 > out_size)
			break;
		memcpy(out + o, tmp, strlen(tmp));
		o += strlen(tmp);
	}
	out[o] = '\0';
}

/* An SSH "uint32" (RFC 4251 §5): four bytes, most significant first. */
uint32_t ssh_get_u32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* An SSH "string" (RFC 4251 §5): uint32 length, bytes. */
int ssh_get_string(const unsigned char **p, const unsigned char *end, const unsigned char **s,
		      size_t *len)
{
	uint32_t l;

	if (end - *p < 4)
		return MD_EPARSE;
	l = ssh_get_u32(*p);
	*p += 4;
	if ((size_t)(end - *p) < l)
		return MD_EPARSE;
	*s = *p;
	*len = l;
	*p += l;
	return MD_OK;
}

#define SSH_MSG_KEXINIT 20
#define KEXINIT_COOKIE_LEN 16

static int b64_value(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Decodes base64 (white space ignored, stops at '=' or the end).  Returns the length,
 * or -1 on a bad character or when out is too small. */
long ssh_b64_decode(const char *in, size_t len, unsigned char *out, size_t n)
{
	unsigned acc = 0;
	int bits = 0;
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		int v;

		if (isspace((unsigned char)in[i]))
			continue;
		if (in[i] == '=')
			break;
		v = b64_value((unsigned char)in[i]);
		if (v < 0)
			return -1;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= n)
				return -1;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	return (long)o;
}


unsigned char *ssh_put_u32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
	return p + 4;
}

unsigned char *ssh_put_string(unsigned char *p, const void *s, size_t len)
{
	p = ssh_put_u32(p, (uint32_t)len);
	memcpy(p, s, len);
	return p + len;
}


int ssh_io_all(int fd, bool out, void *buf, size_t n, const struct md_deadline *dl)
{
	unsigned char *p = buf;

	while (n) {
		ssize_t k = out ? send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT)
				: recv(fd, p, n, MSG_DONTWAIT);

		if (k > 0) {
			p += k;
			n -= (size_t)k;
		} else if (k < 0 && errno == EINTR) {
			continue;
		} else if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			int rc = md_net_wait(fd, out ? POLLOUT : POLLIN, dl);

			if (rc)
				return rc;
		} else {
			return MD_EIO; /* closed by the agent, or a socket error */
		}
	}
	return MD_OK;
}

/* Reads a whole file of at most max bytes.  MD_OK, MD_ENOTFOUND, MD_ETOOBIG, MD_ENOMEM,
 * or MD_EIO with errno saying why (EACCES, EISDIR, ...). */
int ssh_read_small_file(const char *path, size_t max, char **out, size_t *len)
{
	struct stat st;
	char *buf;
	size_t have = 0;
	int fd, e;

	*out = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? MD_ENOTFOUND : MD_EIO;
	if (fstat(fd, &st) < 0) {
		e = errno;
		close(fd);
		errno = e;
		return MD_EIO;
	}
	if ((size_t)st.st_size > max) {
		close(fd);
		return MD_ETOOBIG;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		return MD_ENOMEM;
	}
	while (have < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + have, (size_t)st.st_size - have);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			e = errno;
			close(fd);
			free(buf);
			errno = e;
			return MD_EIO;
		}
		if (n == 0)
			break;
		have += (size_t)n;
	}
	close(fd);
	buf[have] = '\0';
	*out = buf;
	*len = have;
	return MD_OK;
}

void ssh_note(char *notes, size_t n, const char *fmt, ...)
{
	size_t used = strlen(notes);
	va_list ap;

	if (used + 3 >= n)
		return;
	if (used)
		used += (size_t)snprintf(notes + used, n - used, "; ");
	va_start(ap, fmt);
	vsnprintf(notes + used, n - used, fmt, ap);
	va_end(ap);
}
