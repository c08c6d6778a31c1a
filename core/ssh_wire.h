/* ssh_wire.h — the byte-level pieces the SSH client modules share: the encodings of
 * RFC 4251 §5 (uint32, string), base64, printable evidence, bounded notes, and reading a
 * small local file (keys, known_hosts).  Nothing here blocks without a deadline. */
#ifndef MD_SSH_WIRE_H
#define MD_SSH_WIRE_H

#include "core/deadline.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Copies p[0..len) into out as a string, cut to n - 1 bytes (n > 0). */
void ssh_copy_span(char *out, size_t n, const char *p, size_t len);
/* Printable form of bytes for evidence: \r \n \t \\ \" and \xNN for the rest. */
void ssh_escape(const void *p, size_t len, char *out, size_t out_size);

/* An SSH "uint32" at p (four bytes, most significant first). */
uint32_t ssh_get_u32(const unsigned char *p);
/* An SSH "string" at *p (uint32 length, bytes), which must end by end: *s and *len get
 * it (pointing into the input) and *p moves past it.  MD_OK or MD_EPARSE. */
int ssh_get_string(const unsigned char **p, const unsigned char *end, const unsigned char **s,
		   size_t *len);
/* Writes v / a string at p and returns the byte after it; the caller sized the buffer. */
unsigned char *ssh_put_u32(unsigned char *p, uint32_t v);
unsigned char *ssh_put_string(unsigned char *p, const void *s, size_t len);

/* Decodes base64 (white space ignored, stops at '=' or the end).  Returns the length,
 * or -1 on a bad character or when out (n bytes) is too small. */
long ssh_b64_decode(const char *in, size_t len, unsigned char *out, size_t n);

/* All of buf out (out = true) or all of n bytes in, on the non-blocking socket fd,
 * before the deadline: MD_OK, MD_ETIMEOUT, or MD_EIO (closed, or a socket error). */
int ssh_io_all(int fd, bool out, void *buf, size_t n, const struct md_deadline *dl);

/* Reads a whole file of at most max bytes into *out (malloc'd, NUL-terminated, *len
 * bytes).  MD_OK, MD_ENOTFOUND, MD_ETOOBIG, MD_ENOMEM, or MD_EIO with errno saying why
 * (EACCES, EISDIR, ...). */
int ssh_read_small_file(const char *path, size_t max, char **out, size_t *len);

/* Appends one note to notes (n bytes), "; "-separated; a note that does not fit is cut,
 * and none is added once the buffer is full. */
void ssh_note(char *notes, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
