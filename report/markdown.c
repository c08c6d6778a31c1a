/* markdown.c — the report as Markdown, to paste into a bug ticket.
 *
 * Every string from the tree (what remote hosts said, and a saved report may come from
 * anyone) is written through prose(), cell() or code(): control characters become \xNN
 * (md_escape_buf), and Markdown's own characters are escaped so that a value can neither
 * end a code span, split a table row, open a link or image, nor inject HTML.  CommonMark
 * allows a backslash before any ASCII punctuation (spec 0.31, section 2.4).  GFM also
 * makes links of bare text (its "autolinks (extension)": www., http://, an e-mail
 * address), which no backslash stops reliably: prose() and cell() show each word that
 * could become one as a code span, where nothing is a link. */
#include "report/render.h"
#include "report/report.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Characters that could start or end Markdown markup inside a line: emphasis, code, links
 * and images, raw HTML and entities, table cells, strikethrough, a heading's closing #s,
 * and the backslash itself. */
#define MD_META "\\`*_[]<>|~&#"

/* s made safe for a terminal, into t (reset first); "?" when missing. */
static int safe(struct md_buf *t, const char *s)
{
	md_buf_reset(t);
	return md_escape_buf(t, md_j_or_q(s));
}

/* An inline code span that shows s as it is.  The fence is one backtick longer than the
 * longest run of backticks in s, padded with spaces when s has any (CommonMark 6.1); in a
 * table a '|' is written "\|", which GFM's table reader turns back into '|'. */
static int code_span(struct md_buf *out, const char *s, bool in_table)
{
	struct md_buf t;
	size_t run = 0, longest = 0;
	const char *v;
	bool pad;
	int rc;

	md_buf_init(&t, 0);
	rc = safe(&t, s);
	v = md_buf_str(&t);
	for (const char *p = v; *p; p++) {
		run = *p == '`' ? run + 1 : 0;
		if (run > longest)
			longest = run;
	}
	/* Also pad when s is empty or starts and ends with a space, which CommonMark would
	 * otherwise strip (or not read as code at all). */
	pad = longest > 0 || !*v ||
	      (v[0] == ' ' && v[strlen(v) - 1] == ' ' && v[strspn(v, " ")] != '\0');
	for (size_t i = 0; rc == 0 && i <= longest; i++)
		rc = md_buf_append(out, "`", 1);
	if (rc == 0 && pad)
		rc = md_buf_append(out, " ", 1);
	for (const char *p = v; rc == 0 && *p; p++)
		rc = in_table && *p == '|' ? md_buf_puts(out, "\\|") : md_buf_append(out, p, 1);
	if (rc == 0 && pad)
		rc = md_buf_append(out, " ", 1);
	for (size_t i = 0; rc == 0 && i <= longest; i++)
		rc = md_buf_append(out, "`", 1);
	md_buf_cleanup(&t);
	return rc;
}

static int code(struct md_buf *out, const char *s)
{
	return code_span(out, s, false);
}

/* Whether word (n bytes, no space in it) could become a GFM extended autolink: it holds
 * "www." (any case), a scheme's "://" or an e-mail address's '@'. */
static bool links_itself(const char *word, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (word[i] == '@' || (i + 3 <= n && memcmp(word + i, "://", 3) == 0) ||
		    (i + 4 <= n && strncasecmp(word + i, "www.", 4) == 0))
			return true;
	}
	return false;
}

/* Running text, or a table cell when in_table: every Markdown character escaped, and each
 * word that could become a link by itself shown as a code span. */
static int text(struct md_buf *out, const char *s, bool in_table)
{
	struct md_buf t, word;
	const char *p;
	int rc;

	md_buf_init(&t, 0);
	md_buf_init(&word, 0);
	rc = safe(&t, s);
	/* After safe() the only white space left is the plain space. */
	for (p = md_buf_str(&t); rc == 0 && *p;) {
		size_t n = strspn(p, " ");

		rc = md_buf_append(out, p, n);
		p += n;
		n = strcspn(p, " ");
		if (rc == 0 && n && links_itself(p, n)) {
			md_buf_reset(&word);
			rc = md_buf_append(&word, p, n);
			if (rc == 0)
				rc = code_span(out, md_buf_str(&word), in_table);
			p += n;
			continue;
		}
		for (; rc == 0 && n; p++, n--) {
			if (strchr(MD_META, *p))
				rc = md_buf_append(out, "\\", 1);
			if (rc == 0)
				rc = md_buf_append(out, p, 1);
		}
	}
	md_buf_cleanup(&word);
	md_buf_cleanup(&t);
	return rc;
}

static int prose(struct md_buf *out, const char *s)
{
	return text(out, s, false);
}

static int cell(struct md_buf *out, const char *s)
{
	return text(out, s, true);
}

/* A rule's cause or advice: its `quoted` commands become code spans, the text between
 * them prose.  A backtick without a partner (one a host sent, say) stays text; both ways
 * every piece goes through code() or prose(), so pairing cannot unescape anything. */
static int rich(struct md_buf *out, const char *s)
{
	struct md_buf piece;
	const char *open, *close;
	int rc = 0;

	if (!s)
		return prose(out, s);
	md_buf_init(&piece, 0);
	while (rc == 0 && (open = strchr(s, '`')) && (close = strchr(open + 1, '`'))) {
		if (open > s) {
			md_buf_reset(&piece);
			rc = md_buf_append(&piece, s, (size_t)(open - s));
			if (rc == 0)
				rc = prose(out, md_buf_str(&piece));
		}
		md_buf_reset(&piece);
		if (rc == 0)
			rc = md_buf_append(&piece, open + 1, (size_t)(close - open - 1));
		if (rc == 0)
			rc = code(out, md_buf_str(&piece));
		s = close + 1;
	}
	if (rc == 0 && *s)
		rc = prose(out, s);
	md_buf_cleanup(&piece);
	return rc;
}

static int header(const cJSON *doc, struct md_buf *out)
{
	const cJSON *target = cJSON_GetObjectItemCaseSensitive(doc, "target");
	const cJSON *verdict = cJSON_GetObjectItemCaseSensitive(doc, "verdict");
	const cJSON *tool = cJSON_GetObjectItemCaseSensitive(doc, "tool");
	struct md_buf who;
	int rc = 0;

	rc |= md_buf_puts(out, "## meshdoctor check ");
	rc |= code(out, md_j_str(target, "spec"));
	rc |= md_buf_puts(out, ": ");
	rc |= prose(out, md_j_str(verdict, "status"));
	rc |= md_buf_puts(out, "\n\n- Target: ");
	/* One piece: "user" "@" "host" written apart would still make an e-mail link. */
	md_buf_init(&who, 0);
	rc |= md_buf_printf(&who, "%s@%s", md_j_or_q(md_j_str(target, "user")),
			    md_j_or_q(md_j_str(target, "hostname")));
	rc |= rc ? 0 : prose(out, md_buf_str(&who));
	md_buf_cleanup(&who);
	rc |= md_buf_puts(out, " port ");
	rc |= md_j_put_num(out, target, "port", "%.0f", 1);
	rc |= md_buf_puts(out, "\n- When: ");
	rc |= prose(out, md_j_str(doc, "generated_at"));
	rc |= md_buf_puts(out, " (");
	rc |= md_j_put_num(out, doc, "duration_ms", "%.0f", 1);
	rc |= md_buf_puts(out, " ms)\n- meshdoctor ");
	rc |= prose(out, md_j_str(tool, "version"));
	rc |= md_buf_puts(out, ", exit code ");
	rc |= md_j_put_num(out, verdict, "exit_code", "%.0f", 1);
	return rc | md_buf_puts(out, "\n\n");
}

static int finding(const cJSON *doc, const cJSON *f, struct md_buf *out)
{
	const cJSON *e, *a;
	char val[512];
	int rc = 0, n = 1;

	rc |= md_buf_puts(out, "#### ");
	rc |= prose(out, md_j_str(f, "severity"));
	rc |= md_buf_puts(out, ": ");
	rc |= prose(out, md_j_str(f, "title") ?: md_j_str(f, "rule"));
	rc |= md_buf_puts(out, " (");
	rc |= code(out, md_j_str(f, "rule"));
	rc |= md_buf_puts(out, ")\n\n**Cause.** ");
	rc |= rich(out, md_j_str(f, "cause"));
	rc |= md_buf_puts(out, "\n\n**Evidence.**\n\n");
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(f, "evidence")) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, "value");
		const char *ev;

		md_j_fact_shown(doc, e, val, sizeof(val), &ev);
		rc |= md_buf_puts(out, "- ");
		rc |= code(out, md_j_str(e, "fact"));
		rc |= md_buf_puts(out, " = ");
		if (cJSON_IsNull(v))
			rc |= md_buf_puts(out, "(not observed)");
		else
			rc |= code(out, val);
		if (ev) {
			rc |= md_buf_puts(out, ": ");
			rc |= code(out, ev);
		}
		rc |= md_buf_puts(out, "\n");
	}
	rc |= md_buf_puts(out, "\n**What to do.**\n\n");
	cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(f, "advice")) {
		rc |= md_buf_printf(out, "%d. ", n++);
		rc |= rich(out, cJSON_IsString(a) ? a->valuestring : NULL);
		rc |= md_buf_puts(out, "\n");
	}
	if (md_j_str(f, "remedy")) {
		rc |= md_buf_puts(out, "\nRemedy action: ");
		rc |= code(out, md_j_str(f, "remedy"));
		rc |= md_buf_puts(out, ".\n");
	}
	rc |= md_buf_puts(out, "\nSource: ");
	rc |= code(out, md_j_str(f, "source"));
	return rc | md_buf_puts(out, "\n\n");
}

static int observations(const cJSON *doc, struct md_buf *out)
{
	const cJSON *p, *x;
	char val[512];
	int rc = 0;

	rc |= md_buf_puts(out, "### Observations\n\n| probe | fact | value | evidence |\n|---|---|---|---|\n");
	cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(doc, "probes")) {
		const char *status = md_j_str(p, "status"), *name = md_j_str(p, "name");

		if (status && strcmp(status, "ok") != 0) {
			const char *msg = md_j_str(p, "message");

			rc |= md_buf_puts(out, "| ");
			rc |= cell(out, name);
			rc |= md_buf_puts(out, " | (");
			rc |= cell(out, status);
			rc |= md_buf_puts(out, ") | | ");
			rc |= msg ? cell(out, msg) : 0;
			rc |= md_buf_puts(out, " |\n");
		}
		cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(p, "facts")) {
			const char *ev;

			md_j_fact_shown(doc, x, val, sizeof(val), &ev);
			rc |= md_buf_puts(out, "| ");
			rc |= cell(out, name);
			rc |= md_buf_puts(out, " | ");
			rc |= cell(out, md_j_str(x, "name"));
			rc |= md_buf_puts(out, " | ");
			rc |= cell(out, val);
			rc |= md_buf_puts(out, " | ");
			rc |= ev ? cell(out, ev) : 0;
			rc |= md_buf_puts(out, " |\n");
		}
	}
	return rc;
}

int md_report_markdown(const cJSON *doc, struct md_buf *out)
{
	const cJSON *f;
	int rc = 0;

	rc |= header(doc, out);
	rc |= md_buf_puts(out, "### Findings\n\n");
	if (cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(doc, "findings")) == 0) {
		const cJSON *verdict = cJSON_GetObjectItemCaseSensitive(doc, "verdict");
		int nfail = md_j_failed_probes(doc);
		double code = md_j_num(verdict, "exit_code", -1);

		/* "No problem found" only when the exit code says so and every probe ran. */
		if (nfail)
			rc |= md_buf_printf(out, "No finding, but %d probe%s did not complete (see "
					    "Observations)%s.\n\n", nfail, nfail == 1 ? "" : "s",
					    code == 3 ? ": meshdoctor could not tell" : "");
		else if (code == 0)
			rc |= md_buf_puts(out, "No problem found.\n\n");
		else
			rc |= md_buf_puts(out, code == 3 ? "No finding: meshdoctor could not tell.\n\n"
							 : "No finding.\n\n");
	}
	cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(doc, "findings"))
		rc |= finding(doc, f, out);
	rc |= observations(doc, out);
	return rc ? MD_ENOMEM : MD_OK;
}
