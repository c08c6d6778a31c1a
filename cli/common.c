#include "cli/cli.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void cli_error(const char *fmt, ...)
{
	va_list ap;

	fputs("meshdoctor: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* A directory holding at least one *.rules file (a build directory also has a rules/
 * subdirectory, of object files). */
static bool is_rules_dir(const char *p)
{
	DIR *d = opendir(p);
	struct dirent *e;
	bool found = false;

	if (!d)
		return false;
	while (!found && (e = readdir(d))) {
		size_t n = strlen(e->d_name);

		found = n > 6 && strcmp(e->d_name + n - 6, ".rules") == 0;
	}
	closedir(d);
	return found;
}

int cli_load_rules(const char *opt_dir, struct md_ruleset *rs, const char **dir_out)
{
	static char found[PATH_MAX + 64];
	struct md_err err = { 0 };
	const char *dir = opt_dir;

	if (!dir)
		dir = getenv("MESHDOCTOR_RULES");
	if (!dir || !*dir) {
		char exe[PATH_MAX];
		ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

		dir = MD_RULES_DIR;
		if (n > 0) {
			char *slash;

			exe[n] = '\0';
			slash = strrchr(exe, '/');
			if (slash)
				*slash = '\0';
			/* ./meshdoctor in the source tree, build-san/meshdoctor beside it, or an
			 * installed binary with its rules in PREFIX/share/meshdoctor/rules. */
			snprintf(found, sizeof(found), "%s/rules", exe);
			if (is_rules_dir(found)) {
				dir = found;
			} else {
				snprintf(found, sizeof(found), "%s/../rules", exe);
				if (is_rules_dir(found))
					dir = found;
				/* Installed under any PREFIX: PREFIX/bin and PREFIX/share/meshdoctor. */
				else if (snprintf(found, sizeof(found), "%s/../share/meshdoctor/rules", exe),
					 is_rules_dir(found))
					dir = found;
			}
		}
	}
	if (dir_out)
		*dir_out = dir;
	if (md_rules_load_dir(rs, dir, &err) != MD_OK) {
		cli_error("%s", err.msg);
		return -1;
	}
	return 0;
}

int cli_write_output(const char *path, const struct md_buf *buf)
{
	char tmp[PATH_MAX];
	int fd;
	size_t off = 0;

	if (strcmp(path, "-") == 0) {
		if (fwrite(buf->data ? buf->data : "", 1, buf->len, stdout) != buf->len ||
		    fflush(stdout) != 0) {
			cli_error("writing to standard output: %s", strerror(errno));
			return -1;
		}
		return 0;
	}
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof(tmp)) {
		cli_error("%s: path too long", path);
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		cli_error("cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	while (off < buf->len) {
		ssize_t w = write(fd, buf->data + off, buf->len - off);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			cli_error("cannot write %s: %s", path, strerror(errno));
			close(fd);
			unlink(tmp);
			return -1;
		}
		off += (size_t)w;
	}
	if (fsync(fd) != 0 || close(fd) != 0 || rename(tmp, path) != 0) {
		cli_error("cannot write %s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

bool cli_use_color(int fd)
{
	const char *nc = getenv("NO_COLOR");
	const char *term = getenv("TERM");

	if (nc && *nc)
		return false;
	if (term && strcmp(term, "dumb") == 0)
		return false;
	return isatty(fd);
}

int64_t cli_parse_duration_ms(const char *s)
{
	char *end;
	double v;

	if (!s || !*s)
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || v <= 0 || v > 86400000.0)
		return -1;
	if (*end == '\0' || strcmp(end, "ms") == 0)
		return (int64_t)v;
	if (strcmp(end, "s") == 0)
		return (int64_t)(v * 1000);
	if (strcmp(end, "m") == 0)
		return (int64_t)(v * 60000);
	return -1;
}
