/* text.c — the human rendering: a checklist of what was observed, then each finding with
 * its cause, evidence, what to do and its source.  Renders the JSON tree only. */
#include "report/render.h"
#include "report/report.h"

#include <string.h>

struct style {
	const char *ok, *fail, *warn, *dim, *bold, *off;
};

static const struct style plain = { "", "", "", "", "", "" };
static const struct style ansi = { "\033[32m", "\033[31m", "\033[33m", "\033[2m", "\033[1m",
				   "\033[0m" };

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

static int checklist(const cJSON *doc, const struct md_text_opts *o, const struct style *st,
		     struct md_buf *out)
{
	const cJSON *p, *x;
	char val[512];
	int rc = 0;

	cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(doc, "probes")) {
		const char *status = md_j_str(p, "status"), *msg = md_j_str(p, "message");

		if (status && strcmp(status, "ok") != 0) {
			rc |= md_buf_printf(out, "  %s-%s %s: %s%s\n", st->dim, st->off,
					    md_j_or_q(md_j_str(p, "name")),
					    strcmp(status, "skipped") == 0 ? "skipped" : "could not run",
					    msg ? "" : "");
			if (msg)
				rc |= md_buf_printf(out, "      %s%s%s\n", st->dim, msg, st->off);
		}
		cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(p, "facts")) {
			const char *check = md_j_str(x, "check"), *label = md_j_str(x, "label");
			const char *color, *m, *ev = md_j_str(x, "evidence");

			if (!check && !o->verbose)
				continue;
			md_j_value_text(cJSON_GetObjectItemCaseSensitive(x, "value"), val, sizeof(val));
			if (!check) {
				rc |= md_buf_printf(out, "      %s%s = %s%s\n", st->dim,
						    md_j_or_q(md_j_str(x, "name")),
						    val, st->off);
				continue;
			}
			m = mark(check, st, &color);
			if (!label)
				label = md_j_or_q(md_j_str(x, "name"));
			/* "OS: linux", not "OS: linux: linux" */
			if (ends_with(label, val))
				rc |= md_buf_printf(out, "  %s%s%s %s\n", color, m, st->off, label);
			else
				rc |= md_buf_printf(out, "  %s%s%s %s: %s\n", color, m, st->off, label,
						    val);
			if (o->verbose && ev)
				rc |= md_buf_printf(out, "      %s%s%s\n", st->dim, ev, st->off);
		}
	}
	return rc;
}

static int finding(const cJSON *f, const struct md_text_opts *o, const struct style *st,
		   struct md_buf *out)
{
	const char *sev = md_j_str(f, "severity"), *title = md_j_str(f, "title");
	const char *remedy = md_j_str(f, "remedy");
	const cJSON *e, *a;
	char sevu[16], val[512];
	int rc = 0, n = 0;

	upper(sev, sevu, sizeof(sevu));
	rc |= md_buf_printf(out, "\n%s%s%-8s%s  %s%s%s  [%s]\n", st->bold, sev_color(sev, st), sevu,
			    st->off, st->bold, md_j_or_q(title ? title : md_j_str(f, "rule")), st->off,
			    md_j_or_q(md_j_str(f, "rule")));
	rc |= md_buf_printf(out, "  Cause:    %s\n", md_j_or_q(md_j_str(f, "cause")));
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(f, "evidence")) {
		const char *ev = md_j_str(e, "evidence");

		md_j_value_text(cJSON_GetObjectItemCaseSensitive(e, "value"), val, sizeof(val));
		rc |= md_buf_printf(out, "  %s %s = %s", n++ ? "         " : "Evidence:",
				    md_j_or_q(md_j_str(e, "fact")),
				    cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(e, "value")) ?
					    "(not observed)" : val);
		if (ev && (o->verbose || strcmp(ev, val) != 0))
			rc |= md_buf_printf(out, "  %s(%s)%s", st->dim, ev, st->off);
		rc |= md_buf_puts(out, "\n");
	}
	n = 0;
	cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(f, "advice")) {
		rc |= md_buf_printf(out, "  %s %d. %s\n", n ? "         " : "Do:      ", n + 1,
				    cJSON_IsString(a) ? a->valuestring : "?");
		n++;
	}
	if (remedy)
		rc |= md_buf_printf(out, "  Remedy:   %s\n", remedy);
	rc |= md_buf_printf(out, "  Source:   %s\n", md_j_or_q(md_j_str(f, "source")));
	return rc;
}

int md_report_text(const cJSON *doc, const struct md_text_opts *o, struct md_buf *out)
{
	const struct style *st = o->color ? &ansi : &plain;
	const cJSON *target = cJSON_GetObjectItemCaseSensitive(doc, "target");
	const cJSON *verdict = cJSON_GetObjectItemCaseSensitive(doc, "verdict"), *f, *s;
	const char *vs = md_j_str(verdict, "status");
	char vsu[16];
	int rc = 0, nf = 0;

	rc |= md_buf_printf(out, "%smeshdoctor check %s%s  %s(%s@%s port %.0f, %.1f s)%s\n\n",
			    st->bold, md_j_str(target, "spec") ? md_j_str(target, "spec") : "?",
			    st->off, st->dim, md_j_str(target, "user") ? md_j_str(target, "user") : "?",
			    md_j_str(target, "hostname") ? md_j_str(target, "hostname") : "?",
			    md_j_num(target, "port", 0), md_j_num(doc, "duration_ms", 0) / 1000.0,
			    st->off);
	rc |= checklist(doc, o, st, out);
	cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(doc, "findings")) {
		rc |= finding(f, o, st, out);
		nf++;
	}
	if (o->verbose) {
		rc |= md_buf_printf(out, "\n%sPath through the rules:%s\n", st->bold, st->off);
		cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(doc, "path")) {
			const cJSON *m;
			const char *by = md_j_str(s, "superseded_by");

			rc |= md_buf_printf(out, "  %-10s %s", md_j_or_q(md_j_str(s, "result")),
					    md_j_or_q(md_j_str(s, "rule")));
			if (by)
				rc |= md_buf_printf(out, " (by %s)", by);
			rc |= md_buf_printf(out, "\n             %s%s%s\n", st->dim,
					    md_j_str(s, "trace") ? md_j_str(s, "trace") : "", st->off);
			cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(s, "missing")) {
				const char *probe = md_j_str(m, "probe");

				rc |= md_buf_printf(out, "             needs %s (%s)\n",
						    md_j_or_q(md_j_str(m, "fact")),
						    probe ? probe : "no probe records it yet");
			}
		}
	}
	upper(vs, vsu, sizeof(vsu));
	rc |= md_buf_printf(out, "\n%s%s%s%s: ", st->bold,
			    vs && strcmp(vs, "ok") == 0 ? st->ok : sev_color(vs, st), vsu, st->off);
	if (nf == 0)
		rc |= md_buf_puts(out, "no problem found");
	else
		rc |= md_buf_printf(out, "%d finding%s (%.0f critical, %.0f warning%s)", nf,
				    nf == 1 ? "" : "s", md_j_num(verdict, "critical", 0),
				    md_j_num(verdict, "warnings", 0),
				    md_j_num(verdict, "warnings", 0) == 1 ? "" : "s");
	rc |= md_buf_printf(out, ", exit %.0f\n", md_j_num(verdict, "exit_code", 3));
	return rc ? MD_ENOMEM : MD_OK;
}
