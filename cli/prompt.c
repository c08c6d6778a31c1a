/* prompt.c — asking the person at the terminal: a yes/no question, a password without
 * echo, or a secret read from standard input (--password-stdin). */
#include "cli/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

/* One line from fd into buf (without its line end), at most n - 1 bytes.  Returns its
 * length, or -1: end of input before any byte, a read error, or a line too long (then
 * what was read is wiped). */
static ssize_t read_line(int fd, char *buf, size_t n)
{
	size_t len = 0;

	for (;;) {
		char c;
		ssize_t r = read(fd, &c, 1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (len)
				break;
			return -1;
		}
		if (c == '\n')
			break;
		if (len + 1 >= n) {
			OPENSSL_cleanse(buf, n);
			return -1;
		}
		buf[len++] = c;
	}
	if (len && buf[len - 1] == '\r')
		len--;
	buf[len] = '\0';
	return (ssize_t)len;
}

int cli_confirm(const char *question)
{
	int fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
	char answer[16];
	ssize_t n;

	if (fd < 0)
		return -1;
	dprintf(fd, "%s [y/N] ", question);
	n = read_line(fd, answer, sizeof(answer));
	close(fd);
	return n > 0 && (strcmp(answer, "y") == 0 || strcmp(answer, "Y") == 0 ||
			 strcmp(answer, "yes") == 0);
}

int cli_read_secret_tty(const char *prompt, char *buf, size_t n)
{
	int fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
	struct termios old, quiet;
	sigset_t block, prev;
	ssize_t len;

	if (fd < 0)
		return -1;
	if (tcgetattr(fd, &old) != 0) {
		close(fd);
		return -1;
	}
	/* Echo off while the password is typed; a ^C then must not leave it off. */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTSTP);
	sigprocmask(SIG_BLOCK, &block, &prev);
	quiet = old;
	quiet.c_lflag &= (tcflag_t)~(ECHO | ECHONL);
	quiet.c_lflag |= ICANON;
	dprintf(fd, "%s", prompt);
	tcsetattr(fd, TCSAFLUSH, &quiet);
	len = read_line(fd, buf, n);
	tcsetattr(fd, TCSAFLUSH, &old);
	dprintf(fd, "\n");
	sigprocmask(SIG_SETMASK, &prev, NULL);
	close(fd);
	return len < 0 ? -1 : (int)len;
}

int cli_read_secret_stdin(char *buf, size_t n)
{
	ssize_t len = read_line(STDIN_FILENO, buf, n);

	return len < 0 ? -1 : (int)len;
}
