/* session_replay.h — a session for unit tests: commands are answered from a table, files
 * from an in-memory list, and everything asked is logged, so a test can check what a
 * probe ran (and a dry run can show what a remedy would run). */
#ifndef MD_TEST_SESSION_REPLAY_H
#define MD_TEST_SESSION_REPLAY_H

#include "core/session.h"

#include <stdbool.h>
#include <stddef.h>

struct md_replay_entry {
	const char *cmd_prefix; /* matches when cmd starts with this */
	int exit_status;
	const char *out;
	const char *err;
	bool hang;              /* behave as if the command never ends: MD_ETIMEOUT */
};

/* A session whose md_session_exec() answers from entries (borrowed, must outlive it); the
 * first entry whose prefix matches wins.  A command that matches no entry exits 127 with
 * "command not found" on stderr.  os may be NULL.  Files: md_session_read_file() answers
 * MD_ENOTFOUND unless md_replay_put_file() gave the path; md_session_write_file() stores
 * what it is given. */
struct md_session *md_session_new_replay(const struct md_replay_entry *entries, size_t n,
					 const char *os);
/* Gives path the contents text (copied) for md_session_read_file(). */
int md_replay_put_file(struct md_session *s, const char *path, const char *text);
/* What was written to path (borrowed), or NULL. */
const char *md_replay_file(const struct md_session *s, const char *path);
/* The i-th command run (borrowed), or NULL past the last; md_session_exec_count() says
 * how many. */
const char *md_replay_cmd(const struct md_session *s, size_t i);
/* The host-side limit (seconds) of the i-th command when it was a section of a batch
 * script (its md_run line), -1 when it was run as an exec of its own or past the last. */
int md_replay_limit(const struct md_session *s, size_t i);

/* What the last command run alone (not a batch section) got on its standard input
 * (borrowed, NUL-ended; *len its length), or NULL before any. */
const char *md_replay_last_stdin(const struct md_session *s, size_t *len);

#endif
