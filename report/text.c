/* text.c — the human rendering: a checklist of what was observed, then each finding with
 * its cause, evidence, what to do and its source.  Renders the JSON tree only.
 *
 * Every string taken from the tree goes through put(): the tree holds what remote hosts
 * said (banners, error text, command output) and may come from a file someone else wrote,
 * so control characters are shown as \xNN (md_escape_buf) and never reach the terminal.
 * Only the colour codes below are written as they are. */
#include "report/render.h"
#include "report/report.h"

#include <stdio.h>
#include <string.h>

struct style {
	const char *ok, *fail, *warn, *dim, *bold, *off;
};

static const struct style plain = { "", "", "", "", "", "" };
static const struct style ansi = { "\033[32m", "\033[31m", "\033[33m", "\033[2m", "\033[1m",
				   "\033[0m" };

/* ---- output helpers ------------------------------------------------------------- */

/* Text from the tree, safe for a terminal; "?" when missing. */
static int put(struct md_buf *out, const char *s)
{
	return md_escape_buf(out, md_j_or_q(s));
}

/* put(), then spaces up to width bytes. */
static int put_pad(struct md_buf *out, const char *s, size_t width)
{
	size_t start = out->len;
	int rc = put(out, s);

	while (rc == 0 && out->len - start < width)
		rc = md_buf_puts(out, " ");
	return rc;
}

static const char *mark(const char *check, const struct style *st, const char **color)
{
	if (check && strcmp(check, "ok") == 0) {
		*color = st->ok;
		return "✓";
	}
	if (check && strcmp(check, "fail") == 0) {
		*color = st->fail;
		return "✗";
	}
	if (check && strcmp(check, "skip") == 0) {
		*color = st->dim;
		return "-";
	}
	*color = st->warn;
	return "!";
}

static const char *sev_color(const char *sev, const struct style *st)
{
	if (sev && strcmp(sev, "critical") == 0)
		return st->fail;
	if (sev && strcmp(sev, "warning") == 0)
		return st->warn;
	return st->dim;
}

static void upper(const char *s, char *out, size_t len)
{
	size_t i = 0;

	s = md_j_or_q(s);
	for (; s[i] && i + 1 < len; i++)
		out[i] = (s[i] >= 'a' && s[i] <= 'z') ? (char)(s[i] - 32) : s[i];
	out[i] = '\0';
}

static bool ends_with(const char *s, const char *tail)
{
	size_t n, k;

	if (!s || !tail)
		return false;
	n = strlen(s);
	k = strlen(tail);
	return k && k <= n && strcmp(s + n - k, tail) == 0;
}

/* ---- the checklist -------------------------------------------------------------- */

static int probe_line(const cJSON *p, const char *status, const struct style *st,
		      struct md_buf *out)
{
	const char *msg = md_j_str(p, "message");
	bool skipped = strcmp(status, "skipped") == 0;
	int rc = 0;

	/* A skipped probe did not apply ('-'); one that failed leaves the answer open ('?'). */
	rc |= md_buf_printf(out, "  %s%s%s ", skipped ? st->dim : st->warn, skipped ? "-" : "?",
			    st->off);
	rc |= put(out, md_j_str(p, "name"));
	rc |= md_buf_puts(out, skipped ? ": skipped\n" : ": did not complete\n");
	if (msg) {
		rc |= md_buf_printf(out, "      %s", st->dim);
		rc |= put(out, msg);
		rc |= md_buf_printf(out, "%s\n", st->off);
	}
	return rc;
}

static int fact_line(const cJSON *doc, const cJSON *x, const struct md_text_opts *o,
		     const struct style *st, struct md_buf *out)
{
	const char *check = md_j_str(x, "check"), *label = md_j_str(x, "label");
	const char *color, *m, *ev;
	char val[512];
	int rc = 0;

	if (!check && !o->verbose)
		return 0;
	md_j_fact_shown(doc, x, val, sizeof(val), &ev);
	if (!check) {
		rc |= md_buf_printf(out, "      %s", st->dim);
		rc |= put(out, md_j_str(x, "name"));
		rc |= md_buf_puts(out, " = ");
		rc |= put(out, val);
		return rc | md_buf_printf(out, "%s\n", st->off);
	}
	m = mark(check, st, &color);
	if (!label)
		label = md_j_or_q(md_j_str(x, "name"));
	rc |= md_buf_printf(out, "  %s%s%s ", color, m, st->off);
	rc |= put(out, label);
	/* "OS: linux", not "OS: linux: linux" */
	if (!ends_with(label, val)) {
		rc |= md_buf_puts(out, ": ");
		rc |= put(out, val);
	}
	rc |= md_buf_puts(out, "\n");
	if (o->verbose && ev) {
		rc |= md_buf_printf(out, "      %s", st->dim);
		rc |= put(out, ev);
		rc |= md_buf_printf(out, "%s\n", st->off);
	}
	return rc;
}

static int checklist(const cJSON *doc, const struct md_text_opts *o, const struct style *st,
		     struct md_buf *out)
{
	const cJSON *p, *x;
	int rc = 0;

	cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(doc, "probes")) {
		const char *status = md_j_str(p, "status");

		if (status && strcmp(status, "ok") != 0)
			rc |= probe_line(p, status, st, out);
		cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(p, "facts"))
			rc |= fact_line(doc, x, o, st, out);
	}
	return rc;
}

/* ---- findings ------------------------------------------------------------------- */

static int finding(const cJSON *doc, const cJSON *f, const struct md_text_opts *o,
		   const struct style *st, struct md_buf *out)
{
	const char *sev = md_j_str(f, "severity"), *title = md_j_str(f, "title");
	const char *remedy = md_j_str(f, "remedy");
	const cJSON *e, *a;
	char sevu[16], val[512];
	int rc = 0, n = 0;

	upper(sev, sevu, sizeof(sevu));
	rc |= md_buf_printf(out, "\n%s%s", st->bold, sev_color(sev, st));
	rc |= put_pad(out, sevu, 8);
	rc |= md_buf_printf(out, "%s  %s", st->off, st->bold);
	rc |= put(out, title ? title : md_j_str(f, "rule"));
	rc |= md_buf_printf(out, "%s  [", st->off);
	rc |= put(out, md_j_str(f, "rule"));
	rc |= md_buf_puts(out, "]\n  Cause:    ");
	rc |= put(out, md_j_str(f, "cause"));
	rc |= md_buf_puts(out, "\n");
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(f, "evidence")) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, "value");
		const char *ev;

		md_j_fact_shown(doc, e, val, sizeof(val), &ev);
		rc |= md_buf_printf(out, "  %s ", n++ ? "         " : "Evidence:");
		rc |= put(out, md_j_str(e, "fact"));
		rc |= md_buf_puts(out, " = ");
		rc |= put(out, cJSON_IsNull(v) ? "(not observed)" : val);
		if (ev && (o->verbose || strcmp(ev, val) != 0)) {
			rc |= md_buf_printf(out, "  %s(", st->dim);
			rc |= put(out, ev);
			rc |= md_buf_printf(out, ")%s", st->off);
		}
		rc |= md_buf_puts(out, "\n");
	}
	n = 0;
	cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(f, "advice")) {
		rc |= md_buf_printf(out, "  %s %d. ", n ? "         " : "Do:      ", n + 1);
		rc |= put(out, cJSON_IsString(a) ? a->valuestring : NULL);
		rc |= md_buf_puts(out, "\n");
		n++;
	}
	if (remedy) {
		rc |= md_buf_puts(out, "  Remedy:   ");
		rc |= put(out, remedy);
		rc |= md_buf_puts(out, "\n");
	}
	rc |= md_buf_puts(out, "  Source:   ");
	rc |= put(out, md_j_str(f, "source"));
	return rc | md_buf_puts(out, "\n");
}

static int rule_path(const cJSON *doc, const struct style *st, struct md_buf *out)
{
	const cJSON *s, *m;
	int rc = 0;

	rc |= md_buf_printf(out, "\n%sPath through the rules:%s\n", st->bold, st->off);
	cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(doc, "path")) {
		const char *by = md_j_str(s, "superseded_by"), *trace = md_j_str(s, "trace");

		rc |= md_buf_puts(out, "  ");
		rc |= put_pad(out, md_j_str(s, "result"), 10);
		rc |= md_buf_puts(out, " ");
		rc |= put(out, md_j_str(s, "rule"));
		if (by) {
			rc |= md_buf_puts(out, " (by ");
			rc |= put(out, by);
			rc |= md_buf_puts(out, ")");
		}
		rc |= md_buf_printf(out, "\n             %s", st->dim);
		rc |= trace ? put(out, trace) : 0;
		rc |= md_buf_printf(out, "%s\n", st->off);
		cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(s, "missing")) {
			const char *probe = md_j_str(m, "probe");

			rc |= md_buf_puts(out, "             needs ");
			rc |= put(out, md_j_str(m, "fact"));
			rc |= md_buf_puts(out, " (");
			rc |= put(out, probe ? probe : "no probe records it yet");
			rc |= md_buf_puts(out, ")\n");
		}
	}
	return rc;
}

/* ---- the whole report ----------------------------------------------------------- */

/* The verdict in words, true to the exit code: "no problem found" only for exit 0 with
 * every probe complete; a probe that did not complete is always named. */
static int verdict_words(const cJSON *verdict, int nf, int nfail, struct md_buf *out)
{
	double code = md_j_num(verdict, "exit_code", -1);
	int rc = 0;

	if (nf)
		rc |= md_buf_printf(out, "%d finding%s (%.0f critical, %.0f warning%s)", nf,
				    nf == 1 ? "" : "s", md_j_num(verdict, "critical", 0),
				    md_j_num(verdict, "warnings", 0),
				    md_j_num(verdict, "warnings", 0) == 1 ? "" : "s");
	else if (code == 3)
		rc |= md_buf_puts(out, "could not tell");
	else if (code == 0 && !nfail)
		rc |= md_buf_puts(out, "no problem found");
	else if (!nfail)
		rc |= md_buf_puts(out, "no finding");
	if (nfail)
		rc |= md_buf_printf(out, "%s%d probe%s did not complete — see above",
				    nf ? "; " : code == 3 ? ": " : "", nfail, nfail == 1 ? "" : "s");
	return rc;
}

int md_report_text(const cJSON *doc, const struct md_text_opts *o, struct md_buf *out)
{
	const struct style *st = o->color ? &ansi : &plain;
	const cJSON *target = cJSON_GetObjectItemCaseSensitive(doc, "target");
	const cJSON *verdict = cJSON_GetObjectItemCaseSensitive(doc, "verdict"), *f;
	const char *vs = md_j_str(verdict, "status");
	char vsu[16];
	int rc = 0, nf = 0;

	rc |= md_buf_printf(out, "%smeshdoctor check ", st->bold);
	rc |= put(out, md_j_str(target, "spec"));
	rc |= md_buf_printf(out, "%s  %s(", st->off, st->dim);
	rc |= put(out, md_j_str(target, "user"));
	rc |= md_buf_puts(out, "@");
	rc |= put(out, md_j_str(target, "hostname"));
	rc |= md_buf_puts(out, " port ");
	rc |= md_j_put_num(out, target, "port", "%.0f", 1);
	rc |= md_buf_puts(out, ", ");
	rc |= md_j_put_num(out, doc, "duration_ms", "%.1f", 1 / 1000.0);
	rc |= md_buf_printf(out, " s)%s\n\n", st->off);
	rc |= checklist(doc, o, st, out);
	cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(doc, "findings")) {
		rc |= finding(doc, f, o, st, out);
		nf++;
	}
	if (o->verbose)
		rc |= rule_path(doc, st, out);
	upper(vs, vsu, sizeof(vsu));
	rc |= md_buf_printf(out, "\n%s%s", st->bold,
			    vs && strcmp(vs, "ok") == 0 ? st->ok : sev_color(vs, st));
	rc |= put(out, vsu);
	rc |= md_buf_printf(out, "%s: ", st->off);
	rc |= verdict_words(verdict, nf, md_j_failed_probes(doc), out);
	rc |= md_buf_puts(out, ", exit ");
	rc |= md_j_put_num(out, verdict, "exit_code", "%.0f", 1);
	rc |= md_buf_puts(out, "\n");
	return rc ? MD_ENOMEM : MD_OK;
}
