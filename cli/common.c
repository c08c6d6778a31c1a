#include "cli/cli.h"
#include "core/net.h"
#include "run/check.h"
#include "report/report.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void cli_error(const char *fmt, ...)
{
	struct md_buf raw, safe;
	va_list ap;
	int rc;

	md_buf_init(&raw, 0);
	md_buf_init(&safe, 0);
	va_start(ap, fmt);
	rc = md_buf_vprintf(&raw, fmt, ap);
	va_end(ap);
	/* Messages name paths, targets and what peers answered: control characters in them
	 * are shown as \xNN, so the message stays one line and cannot drive the terminal. */
	if (rc == MD_OK)
		rc = md_escape_buf(&safe, md_buf_str(&raw));
	fprintf(stderr, "meshdoctor: %s\n", rc == MD_OK ? md_buf_str(&safe) : "out of memory");
	md_buf_cleanup(&raw);
	md_buf_cleanup(&safe);
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

static int write_all(int fd, const char *path, const struct md_buf *buf)
{
	size_t off = 0;

	while (off < buf->len) {
		ssize_t w = write(fd, buf->data + off, buf->len - off);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			cli_error("cannot write %s: %s", path, strerror(errno));
			return -1;
		}
		off += (size_t)w;
	}
	return 0;
}

static bool same_file(const struct stat *a, int fd)
{
	struct stat b;

	return fstat(fd, &b) == 0 && a->st_dev == b.st_dev && a->st_ino == b.st_ino;
}

int cli_output_fd(const char *path)
{
	static const struct { const char *name; int fd; } names[] = {
		{ "-", STDOUT_FILENO }, { "/dev/stdout", STDOUT_FILENO },
		{ "/dev/fd/1", STDOUT_FILENO }, { "/proc/self/fd/1", STDOUT_FILENO },
		{ "/dev/stderr", STDERR_FILENO }, { "/dev/fd/2", STDERR_FILENO },
		{ "/proc/self/fd/2", STDERR_FILENO },
	};
	struct stat st;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(path, names[i].name) == 0)
			return names[i].fd;
	/* Another name for the file or device standard output or error already writes to
	 * (`--json out.json >out.json`, /dev/pts/0 on that terminal). */
	if (stat(path, &st) != 0)
		return -1;
	if (same_file(&st, STDOUT_FILENO))
		return STDOUT_FILENO;
	if (same_file(&st, STDERR_FILENO))
		return STDERR_FILENO;
	return -1;
}

/* A name for a descriptor that is already open (the shell's `3>>log`, then /dev/fd/3):
 * /dev/stdin, /dev/stdout, /dev/stderr, /dev/fd/N, /proc/self/fd/N, /proc/thread-self/fd/N
 * and /proc/PID/fd/N.  Opening one opens the file the descriptor has, which the report
 * joins rather than replaces: a rename would land on the file's own name (or fail), not
 * on what the descriptor's owner writes to. */
static bool descriptor_name(const char *path)
{
	static const char *const prefixes[] = { "/dev/fd/", "/proc/self/fd/", "/proc/thread-self/fd/" };
	const char *n = NULL;

	if (strcmp(path, "/dev/stdin") == 0 || strcmp(path, "/dev/stdout") == 0 ||
	    strcmp(path, "/dev/stderr") == 0)
		return true;
	for (size_t i = 0; !n && i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (strncmp(path, prefixes[i], strlen(prefixes[i])) == 0)
			n = path + strlen(prefixes[i]);
	if (!n && strncmp(path, "/proc/", 6) == 0) {
		size_t pid = strspn(path + 6, "0123456789");

		if (pid && strncmp(path + 6 + pid, "/fd/", 4) == 0)
			n = path + 6 + pid + 4;
	}
	return n && *n && strspn(n, "0123456789") == strlen(n);
}

/* What is written in place, never replaced: a device, FIFO or socket (/dev/null, /dev/tty,
 * a pipe), since a file renamed over it would take its place; and a descriptor name.
 * Every other file, wherever it is (/dev/shm too), is replaced whole.  st: what stat()
 * said of path, or NULL when it failed. */
static bool written_in_place(const char *path, const struct stat *st)
{
	return (st && !S_ISREG(st->st_mode)) || descriptor_name(path);
}

/* Where the symbolic link PATH points, as a path usable from here. */
static int link_target(const char *path, char *out, size_t n)
{
	char t[PATH_MAX];
	ssize_t len = readlink(path, t, sizeof(t) - 1);
	const char *slash = strrchr(path, '/');

	if (len <= 0)
		return -1;
	t[len] = '\0';
	if (t[0] == '/' || !slash)
		return snprintf(out, n, "%s", t) < (int)n ? 0 : -1;
	return snprintf(out, n, "%.*s/%s", (int)(slash - path), path, t) < (int)n ? 0 : -1;
}

int cli_output_name(const char *path, char *out, size_t n)
{
	char link[PATH_MAX], dir[PATH_MAX], real[PATH_MAX];
	struct stat st;
	const char *slash, *base;

	if (realpath(path, real))
		return snprintf(out, n, "%s", real) < (int)n ? 0 : -1;
	/* A link to a file not yet there: the report creates the file it names. */
	if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode) &&
	    link_target(path, link, sizeof(link)) == 0)
		path = link;
	slash = strrchr(path, '/');
	base = slash ? slash + 1 : path;
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else if ((size_t)(slash - path) < sizeof(dir))
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	else
		return -1;
	if (!*base || !realpath(dir, real))
		return -1;
	return snprintf(out, n, "%s%s%s", real, strcmp(real, "/") == 0 ? "" : "/", base) < (int)n
		       ? 0 : -1;
}

static int write_in_place(const char *path, const struct md_buf *buf)
{
	/* Never created (a descriptor name that is not open fails here), and appended to: a
	 * descriptor may be a file a shell opened with >>, and a report must never overwrite
	 * what it holds. */
	int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0) {
		cli_error("cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	/* Non-blocking only for the open (a FIFO without a reader fails at once). */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	if (write_all(fd, path, buf) != 0) {
		close(fd);
		return -1;
	}
	return close(fd) == 0 ? 0 : (cli_error("cannot write %s: %s", path, strerror(errno)), -1);
}

static int write_stream(int fd, const char *path, const struct md_buf *buf)
{
	FILE *f = fd == STDOUT_FILENO ? stdout : stderr;

	if (fwrite(buf->data ? buf->data : "", 1, buf->len, f) != buf->len || fflush(f) != 0) {
		cli_error("writing %s: %s", strcmp(path, "-") == 0 ? "to standard output" : path,
			  strerror(errno));
		return -1;
	}
	return 0;
}

/* The process's umask, read without changing it: umask(2) can only be read by setting
 * it, which would race with threads creating files meanwhile.  Linux shows it in
 * /proc/self/status ("Umask:", since 4.7); 022 when that cannot be read. */
static mode_t process_umask(void)
{
	FILE *fp = fopen("/proc/self/status", "re");
	char line[128];
	unsigned mask = 022;

	if (!fp)
		return 022;
	while (fgets(line, sizeof(line), fp))
		if (sscanf(line, "Umask: %o", &mask) == 1)
			break;
	fclose(fp);
	return (mode_t)(mask & 0777);
}

/* ---- A report's temporary file, removed when a signal ends the run ---- */

/* The temporary file exists from mkostemp() to rename(): a run ended then by Ctrl-C
 * (SIGINT), SIGTERM or SIGHUP would leave it beside the report, half a report under
 * another name.  The handler removes the temporary files being written (up to TMP_SLOTS
 * at once, for threads of one process), then ends the process by the same signal, as its
 * default action would have.  It calls only unlink(), signal() and raise(), which are
 * async-signal-safe (signal-safety(7)). */
#define TMP_SLOTS 16
static const char *pending_tmp[TMP_SLOTS];
static pthread_once_t handlers_once = PTHREAD_ONCE_INIT;
static const int ending_signals[] = { SIGINT, SIGTERM, SIGHUP };

static void remove_pending(int sig)
{
	int saved = errno;

	for (size_t i = 0; i < TMP_SLOTS; i++) {
		const char *p = __atomic_load_n(&pending_tmp[i], __ATOMIC_ACQUIRE);

		if (p)
			unlink(p);
	}
	signal(sig, SIG_DFL);
	raise(sig); /* delivered when the handler returns: the process ends by it */
	errno = saved;
}

static void install_handlers(void)
{
	for (size_t i = 0; i < sizeof(ending_signals) / sizeof(ending_signals[0]); i++) {
		struct sigaction old, sa = { .sa_handler = remove_pending };

		/* A signal ignored by whoever started meshdoctor (nohup) stays ignored. */
		sigemptyset(&sa.sa_mask);
		if (sigaction(ending_signals[i], NULL, &old) == 0 && old.sa_handler == SIG_DFL)
			sigaction(ending_signals[i], &sa, NULL);
	}
}

/* Registers tmp (the caller's buffer, which mkostemp() fills in afterwards) for removal
 * on a signal until pending_done(); its slot, or -1 when every slot is taken. */
static int pending_add(const char *tmp)
{
	pthread_once(&handlers_once, install_handlers);
	for (int i = 0; i < TMP_SLOTS; i++) {
		const char *none = NULL;

		if (__atomic_compare_exchange_n(&pending_tmp[i], &none, tmp, false, __ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE))
			return i;
	}
	return -1;
}

static void pending_done(int slot)
{
	if (slot >= 0)
		__atomic_store_n(&pending_tmp[slot], NULL, __ATOMIC_RELEASE);
}

/* fsync(2) of the directory that holds path, so that the rename is on disk as well as
 * the data: after a crash, the new report or the old one, not an empty name.  A file
 * system that cannot sync a directory (EINVAL) is not an error.  0 or -1 (errno set). */
static int sync_dir(const char *path)
{
	char dir[PATH_MAX] = ".";
	const char *slash = strrchr(path, '/');
	size_t n = slash ? (size_t)(slash - path) : 0;
	int fd, rc = 0;

	if (slash && n == 0)
		n = 1; /* "/r.json" */
	if (slash && n < sizeof(dir)) {
		memcpy(dir, path, n);
		dir[n] = '\0';
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fsync(fd) != 0 && errno != EINVAL)
		rc = -1;
	close(fd);
	return rc;
}

/* Writes buf to a new temporary file beside path, with mode, on disk (fsync), then
 * renames it to path and syncs the directory.  On failure nothing is left: the old file
 * at path, or none.  0 or -1 (the error printed). */
static int replace_file(const char *path, const struct md_buf *buf, mode_t mode)
{
	char tmp[PATH_MAX];
	int fd, rc, slot;

	/* A name of its own (mkstemp: 0600, O_EXCL), so that runs on threads of one process
	 * writing beside each other never share one. */
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path) >= (int)sizeof(tmp)) {
		cli_error("%s: path too long", path);
		return -1;
	}
	slot = pending_add(tmp);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		pending_done(slot);
		cli_error("cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	/* On any failure the descriptor is closed and the temporary file removed: no half
	 * report stays behind, beside the file or in its place. */
	if (write_all(fd, path, buf) != 0)
		goto fail;
	if (fchmod(fd, mode) != 0 || fsync(fd) != 0) {
		cli_error("cannot write %s: %s", path, strerror(errno));
		goto fail;
	}
	rc = close(fd);
	fd = -1;
	if (rc != 0 || rename(tmp, path) != 0) {
		cli_error("cannot write %s: %s", path, strerror(errno));
		goto fail;
	}
	pending_done(slot);
	if (sync_dir(path) != 0) {
		cli_error("wrote %s, but could not sync its directory: %s", path, strerror(errno));
		return -1;
	}
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	pending_done(slot);
	return -1;
}

int cli_write_output(const char *path, const struct md_buf *buf)
{
	char real[PATH_MAX];
	struct stat st;
	mode_t mode, mask;
	bool exists;
	int fd;

	fd = cli_output_fd(path);
	if (fd >= 0)
		return write_stream(fd, path, buf);
	exists = stat(path, &st) == 0;
	if (exists && S_ISDIR(st.st_mode)) {
		cli_error("cannot write %s: it is a directory; name a file", path);
		return -1;
	}
	if (written_in_place(path, exists ? &st : NULL))
		return write_in_place(path, buf);
	if (exists) {
		/* A symbolic link to a file: replace the file it names, keep the link. */
		if (realpath(path, real))
			path = real;
	} else if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
		/* A link to a file not yet there: create the file it names. */
		if (link_target(path, real, sizeof(real)) != 0) {
			cli_error("cannot write %s: cannot follow the link", path);
			return -1;
		}
		path = real;
	}
	/* The report replaces the file at once: a temporary file in the same directory, then
	 * rename().  Private while it is written; then the mode of the file it replaces (a
	 * report kept 0600 stays so), or what a new file would get (0644 less the umask). */
	mask = process_umask();
	mode = exists ? st.st_mode & 0777 : 0644 & ~mask;
	return replace_file(path, buf, mode);
}

int cli_check_output_path(const char *option, const char *path)
{
	char dir[PATH_MAX];
	struct stat st;
	const char *slash;

	if (!*path) {
		cli_error("%s: give a file name, or - for standard output", option);
		return -1;
	}
	if (cli_output_fd(path) >= 0)
		return 0;
	if (stat(path, &st) == 0) {
		if (S_ISDIR(st.st_mode)) {
			cli_error("%s %s: is a directory; give a file name", option, path);
			return -1;
		}
		if (access(path, W_OK) != 0) {
			cli_error("%s %s: cannot write: %s", option, path, strerror(errno));
			return -1;
		}
		/* Written in place: the directory need not be writable. */
		if (written_in_place(path, &st))
			return 0;
	} else if (descriptor_name(path)) {
		cli_error("%s %s: no such open file descriptor; name a file", option, path);
		return -1;
	}
	slash = strrchr(path, '/');
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else if ((size_t)(slash - path) >= sizeof(dir)) {
		cli_error("%s: path too long", option);
		return -1;
	} else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		cli_error("%s %s: directory %s does not exist", option, path, dir);
		return -1;
	}
	if (access(dir, W_OK | X_OK) != 0) {
		cli_error("%s %s: cannot create files in %s: %s", option, path, dir, strerror(errno));
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
	static const struct { const char *unit; double ms; } units[] = {
		{ "", 1000 }, { "s", 1000 }, { "ms", 1 }, { "m", 60000 },
	};
	size_t digits, n;
	const char *unit;
	double v, ms;
	int64_t whole;

	if (!s)
		return -1;
	/* Digits with at most one '.', checked here: strtod() would also take a sign,
	 * leading spaces, hexadecimal, exponents, "inf" and "nan". */
	n = strspn(s, "0123456789");
	digits = n;
	if (s[n] == '.') {
		size_t frac = strspn(s + n + 1, "0123456789");

		digits += frac;
		n += 1 + frac;
	}
	if (digits == 0)
		return -1;
	unit = s + n;
	v = strtod(s, NULL);
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(unit, units[i].unit) != 0)
			continue;
		ms = v * units[i].ms;
		if (ms > 86400000.0)
			return -1;
		whole = (int64_t)ms;
		return whole < ms ? whole + 1 : whole;
	}
	return -1;
}

int cli_set_timeout(const struct cli_option *o, void *dst, const char *arg)
{
	int64_t ms = cli_parse_duration_ms(arg);

	if (ms < 0) {
		cli_error("--%s '%s': give a duration in seconds such as 5 or 1.5s, or 2500ms", o->name,
			  arg);
		return -1;
	}
	if (ms < CLI_MIN_TIMEOUT_MS) {
		cli_error("--%s '%s': a deadline under %dms is too short to try anything; give "
			  "at least %dms, such as 5 (seconds)", o->name, arg, CLI_MIN_TIMEOUT_MS, CLI_MIN_TIMEOUT_MS);
		return -1;
	}
	*(int64_t *)((char *)dst + o->off) = ms;
	return 0;
}

int cli_read_file(const char *path, struct md_buf *b, const char *what)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	char chunk[65536];
	size_t n;

	if (!f) {
		cli_error("cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (md_buf_append(b, chunk, n)) {
			cli_error("%s: larger than %zu MiB, not %s", path, b->max >> 20, what);
			if (f != stdin)
				fclose(f);
			return -1;
		}
	if (ferror(f)) {
		cli_error("cannot read %s: %s", path, strerror(errno));
		if (f != stdin)
			fclose(f);
		return -1;
	}
	if (f != stdin)
		fclose(f);
	return 0;
}

int cli_exit(int rc)
{
	/* A name lookup left at its deadline may still run NSS code on its own thread: exit()
	 * would run library destructors under it.  Flush and leave at once. */
	if (md_net_pending_lookups() > 0) {
		fflush(NULL);
		_exit(rc);
	}
	return rc;
}

cJSON *cli_report_of(const struct md_host_result *res, const struct md_ruleset *rules,
		     const char *rules_dir, bool show_secrets)
{
	struct md_report r = {
		.target = &res->target, .facts = &res->facts, .runs = res->runs, .n_runs = res->n_runs,
		.eval = &res->eval, .rules = rules, .rules_dir = rules_dir,
		.started_wall_ms = res->started_wall_ms, .duration_ms = res->duration_ms,
		.exit_code = (int)res->verdict, .show_secrets = show_secrets,
	};

	return md_report_build(&r);
}
