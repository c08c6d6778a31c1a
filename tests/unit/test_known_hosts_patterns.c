/* test_known_hosts_patterns.c — core/known_hosts: host patterns matched in bounded work.
 * OpenSSH's recursive matcher takes exponential time on `*?*?...*?!` against a long name;
 * meshdoctor's takes at most (name + 1) * (pattern + 1) steps, with the same answers (the
 * recursive matcher is kept here as the reference), and leaves out the lines and files
 * whose patterns need more than their budget. */
#include "core/known_hosts.h"
#include "tests/support/ssh_fixtures.h"

#include <criterion/criterion.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

TestSuite(kh_patterns, .init = mk_tmp, .fini = rm_tmp);

/* Checks key_b64 for name against one file holding file_text. */
static struct ssh_kh_result check_one(const char *file_text, const char *name, const char *key_b64)
{
	char path[128];
	const char *files[1];
	unsigned char blob[256];
	size_t n = blob_of(key_b64, blob);
	struct ssh_kh_result r;
	struct md_err e = { 0 };

	files[0] = tmp_path("known_hosts", path, sizeof(path));
	write_file(files[0], file_text);
	cr_assert_eq(ssh_known_hosts_check(files, 1, name, blob, n, &r, &e), MD_OK, "%s", e.msg);
	return r;
}

/* The matcher known_hosts.c had before: OpenSSH's recursive match_pattern(), exponential
 * on `*?*?...`; the reference for the semantics, run here on inputs small enough. */
static bool recursive_match(const char *s, const char *p)
{
	for (;;) {
		if (!*p)
			return !*s;
		if (*p == '*') {
			while (*p == '*')
				p++;
			if (!*p)
				return true;
			for (; *s; s++)
				if (recursive_match(s, p))
					return true;
			return false;
		}
		if (!*s)
			return false;
		if (*p != '?' && tolower((unsigned char)*p) != tolower((unsigned char)*s))
			return false;
		s++;
		p++;
	}
}

/* The steps one pattern may take: (|name| + 1) * (|pattern| + 1). */
static unsigned long step_bound(const char *pat, const char *name)
{
	return (strlen(name) + 1) * (strlen(pat) + 1);
}

/* The shape that kept OpenSSH-style matching busy for minutes: `*?` pairs and a '!' that
 * the 38-character name (a HostKeyAlias) lacks; then with the name ending in '!'. */
Test(kh_patterns, star_question_runs_end_in_bounded_steps_with_the_right_answer, .timeout = 10)
{
	static const char name[] = "office-one.tailnet-abcd.ts.net.example";
	char pat[80], hit[64];

	cr_assert_eq(strlen(name), 38);
	snprintf(hit, sizeof(hit), "%s!", name);
	for (int pairs = 1; pairs <= 18; pairs++) {
		for (int tail = 0; tail < 2; tail++) {
			unsigned long budget = SSH_KH_MATCH_STEPS_MAX;
			size_t n = 0;

			for (int i = 0; i < pairs; i++) {
				pat[n++] = '*';
				pat[n++] = '?';
			}
			if (tail)
				pat[n++] = '?';
			pat[n++] = '!';
			pat[n] = '\0';
			cr_assert_eq(ssh_known_hosts_match_budget(pat, name, &budget), 0, "'%s' against '%s'",
				     pat, name);
			cr_assert_leq(SSH_KH_MATCH_STEPS_MAX - budget, step_bound(pat, name),
				      "'%s' took %lu steps", pat, SSH_KH_MATCH_STEPS_MAX - budget);
			budget = SSH_KH_MATCH_STEPS_MAX;
			cr_assert_eq(ssh_known_hosts_match_budget(pat, hit, &budget), 1, "'%s' against '%s'",
				     pat, hit);
		}
	}
	/* The 36 characters exactly. */
	cr_assert_eq(ssh_known_hosts_match("*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?\?!", name), 0);
	cr_assert_eq(strlen("*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?\?!"), 36);
}

/* Every pattern of up to 5 characters over {a, B, *, ?} against every name of up to 5
 * characters over {a, b}: the same answer as the recursive matcher. */
Test(kh_patterns, linear_match_agrees_with_the_recursive_one_on_every_small_input, .timeout = 10)
{
	static const char pat_chars[] = "aB*?", name_chars[] = "ab";
	char pat[8], name[8];
	size_t checked = 0;

	for (int pl = 0; pl <= 5; pl++) {
		int np = 1;

		for (int i = 0; i < pl; i++)
			np *= 4;
		for (int pi = 0; pi < np; pi++) {
			for (int i = 0, v = pi; i < pl; i++, v /= 4)
				pat[i] = pat_chars[v % 4];
			pat[pl] = '\0';
			for (int nl = 0; nl <= 5; nl++) {
				for (int ni = 0; ni < 1 << nl; ni++) {
					unsigned long budget = SSH_KH_MATCH_STEPS_MAX;
					int want, got;

					for (int i = 0; i < nl; i++)
						name[i] = name_chars[(ni >> i) & 1];
					name[nl] = '\0';
					want = pl > 0 && recursive_match(name, pat);
					got = ssh_known_hosts_match_budget(pat, name, &budget);
					cr_assert_eq(got, want, "'%s' against '%s': %d, was %d", pat, name, got, want);
					cr_assert_leq(SSH_KH_MATCH_STEPS_MAX - budget, step_bound(pat, name));
					checked++;
				}
			}
		}
	}
	cr_assert_gt(checked, 80000u);
}

/* Patterns as known_hosts files hold them: the same answers as the recursive matcher. */
Test(kh_patterns, linear_match_agrees_with_the_recursive_one_on_real_patterns, .timeout = 10)
{
	static const char *const pats[] = {
		"*", "**", "*.lan", "*.tail*.ts.net", "office-?", "office-??", "*-one*", "10.1.*",
		"[10.1.2.*]:2222", "[*]:22", "*?", "?*", "*a*b*c", "OFFICE*", "*.Example", "a*a*a*a",
		"*ts.net", "office*one", "*office*", "?ffice-one", "*[*", "*]:*",
	};
	static const char *const names[] = {
		"office-one", "office-1", "nas.lan", "lan", "box.tail1234.ts.net", "10.1.2.3",
		"[10.1.2.9]:2222", "[10.1.2.9]:22", "", "a", "abc", "aXbYc", "aaaa", "office-one.example",
		"[host]:22",
	};

	for (size_t i = 0; i < sizeof(pats) / sizeof(pats[0]); i++)
		for (size_t j = 0; j < sizeof(names) / sizeof(names[0]); j++) {
			int want = recursive_match(names[j], pats[i]);

			cr_assert_eq(ssh_known_hosts_match(pats[i], names[j]), want, "'%s' against '%s'",
				     pats[i], names[j]);
		}
}

/* A pattern longer than the copy the old matcher made (1023 bytes) is matched whole. */
Test(kh_patterns, a_long_pattern_is_matched_whole, .timeout = 10)
{
	char pat[1400], name[300];

	memset(pat, 'a', 1200);
	pat[0] = '*';
	strcpy(pat + 1200, "b");
	memset(name, 'a', 290);
	name[290] = '\0';
	cr_assert_eq(ssh_known_hosts_match(pat, name), 0);
}

/* A line that takes more than its budget is not used, and the file counts as not read in
 * full (no key is recorded on the strength of it); the lines around it still count. */
Test(kh_patterns, a_line_too_costly_to_match_is_named_and_not_used, .timeout = 10)
{
	static char text[32768], costly[10000], name[300];
	char path[128];
	const char *files[1];
	unsigned char blob[256];
	size_t n = blob_of(PUB_A, blob), k = 0;
	struct ssh_kh_result r;
	unsigned long budget = SSH_KH_MATCH_STEPS_MAX;

	/* 60 patterns "*aaa...ab" (145 'a's), each 21,316 steps against a name of 290 'a's
	 * (the star retried at each of its characters): 1.28 M in all. */
	for (int i = 0; i < 60; i++) {
		costly[k++] = '*';
		memset(costly + k, 'a', 145);
		k += 145;
		costly[k++] = 'b';
		costly[k++] = i < 59 ? ',' : '\0';
	}
	memset(name, 'a', 290);
	name[290] = '\0';
	cr_assert_eq(ssh_known_hosts_match_budget(costly, name, &budget), SSH_KH_MATCH_OVER_BUDGET);
	cr_assert_eq(budget, 0);
	snprintf(text, sizeof(text), "other ssh-ed25519 %s\n%s ssh-ed25519 %s\n", PUB_A, costly, PUB_B);
	files[0] = tmp_path("known_hosts", path, sizeof(path));
	write_file(files[0], text);
	cr_assert_eq(ssh_known_hosts_check(files, 1, name, blob, n, &r, NULL), MD_OK);
	cr_assert_eq(r.status, SSH_HOSTKEY_UNKNOWN, "the costly line holds another key, unused");
	cr_assert(strstr(r.unread, "1 line(s) not used") && strstr(r.unread, "first: line 2"), "unread: %s",
		  r.unread);
	cr_assert_eq(ssh_known_hosts_check(files, 1, "other", blob, n, &r, NULL), MD_OK);
	cr_assert_eq(r.status, SSH_HOSTKEY_MATCH);
	cr_assert_str_eq(r.unread, "", "for another name the line is cheap");
}

/* The pathological line itself is cheap now: the entry after it is found. */
Test(kh_patterns, a_star_question_line_does_not_hide_the_entry_after_it, .timeout = 10)
{
	char text[1024];
	struct ssh_kh_result r;

	snprintf(text, sizeof(text), "*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?\?! ssh-ed25519 %s\n"
		 "office-one.tailnet-abcd.ts.net.example ssh-ed25519 %s\n", PUB_B, PUB_A);
	r = check_one(text, "office-one.tailnet-abcd.ts.net.example", PUB_A);
	cr_assert_eq(r.status, SSH_HOSTKEY_MATCH);
	cr_assert_eq(r.line, 2);
	cr_assert_str_eq(r.unread, "");
}

/* Lines that together take more than the file's budget: the rest of the file is not read,
 * and the file is named. */
Test(kh_patterns, a_file_too_costly_to_match_is_named, .timeout = 10)
{
	static char text[1 << 20], line[7000], name[300];
	char path[128];
	const char *files[1];
	unsigned char blob[256];
	size_t n = blob_of(PUB_A, blob), k = 0, len = 0;
	struct ssh_kh_result r;

	/* 45 patterns of 21,316 steps: 959 K, under a line's budget; the file's 64 M are spent
	 * by line 71. */
	for (int i = 0; i < 45; i++) {
		line[k++] = '*';
		memset(line + k, 'a', 145);
		k += 145;
		line[k++] = 'b';
		line[k++] = i < 44 ? ',' : ' ';
	}
	line[k] = '\0';
	memset(name, 'a', 290);
	name[290] = '\0';
	for (int i = 0; i < 100; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len, "%sssh-ed25519 %s\n", line, PUB_B);
	files[0] = tmp_path("known_hosts", path, sizeof(path));
	write_file(files[0], text);
	cr_assert_eq(ssh_known_hosts_check(files, 1, name, blob, n, &r, NULL), MD_OK);
	cr_assert_eq(r.status, SSH_HOSTKEY_UNKNOWN);
	cr_assert(strstr(r.unread, "in all, not read from line"), "unread: %s", r.unread);
}
