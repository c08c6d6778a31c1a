/* hostcmd.c — see hostcmd.h. */
#include "core/hostcmd.h"

#include <openssl/evp.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- UTF-8 -> UTF-16LE -> base64 ------------------------------------------------------ */

/* The code point at *p (UTF-8, RFC 3629 section 3), advancing *p; -1 for an invalid or
 * overlong sequence, a surrogate or a value past U+10FFFF. */
static int32_t next_cp(const unsigned char **p)
{
	const unsigned char *s = *p;
	int32_t cp, min;
	int n;

	if (s[0] < 0x80) {
		*p = s + 1;
		return s[0];
	}
	if ((s[0] & 0xe0) == 0xc0)
		n = 1, cp = s[0] & 0x1f, min = 0x80;
	else if ((s[0] & 0xf0) == 0xe0)
		n = 2, cp = s[0] & 0x0f, min = 0x800;
	else if ((s[0] & 0xf8) == 0xf0)
		n = 3, cp = s[0] & 0x07, min = 0x10000;
	else
		return -1;
	for (int i = 1; i <= n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return -1; /* also stops at the terminating NUL */
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	*p = s + n + 1;
	return cp;
}

int md_hostcmd_encode_powershell(const char *script, char **out, struct md_err *err)
{
	size_t n = strlen(script), o = 0;
	const unsigned char *p = (const unsigned char *)script;
	unsigned char *u16;
	char *b64;

	*out = NULL;
	/* at most two UTF-16 units (4 bytes) per code point, which takes at least 1 byte */
	u16 = malloc(n * 4 + 1);
	if (!u16)
		return md_err_set(err, MD_ENOMEM, "powershell", "out of memory");
	while (*p) {
		int32_t cp = next_cp(&p);

		if (cp < 0) {
			free(u16);
			return md_err_set(err, MD_EINVAL, "powershell",
					  "script is not valid UTF-8 (byte %zu)",
					  (size_t)(p - (const unsigned char *)script));
		}
		if (cp >= 0x10000) { /* a surrogate pair, RFC 2781 section 2.1 */
			uint32_t v = (uint32_t)cp - 0x10000, hi = 0xd800 | (v >> 10), lo = 0xdc00 | (v & 0x3ff);

			u16[o++] = hi & 0xff, u16[o++] = hi >> 8;
			u16[o++] = lo & 0xff, u16[o++] = lo >> 8;
		} else {
			u16[o++] = (unsigned char)(cp & 0xff), u16[o++] = (unsigned char)(cp >> 8);
		}
	}
	b64 = malloc(4 * ((o + 2) / 3) + 1);
	if (!b64) {
		free(u16);
		return md_err_set(err, MD_ENOMEM, "powershell", "out of memory");
	}
	EVP_EncodeBlock((unsigned char *)b64, u16, (int)o);
	free(u16);
	*out = b64;
	return MD_OK;
}

int md_hostcmd_powershell(const char *script, char **out, struct md_err *err)
{
	char *enc = NULL;
	int rc = md_hostcmd_encode_powershell(script, &enc, err);

	*out = NULL;
	if (rc)
		return rc;
	if (asprintf(out, MD_HOSTCMD_POWERSHELL "%s", enc) < 0) {
		*out = NULL;
		rc = md_err_set(err, MD_ENOMEM, "powershell", "out of memory");
	}
	free(enc);
	return rc;
}

/* ---- quoting -------------------------------------------------------------------------- */

int md_hostcmd_sh_quote(struct md_buf *out, const char *word)
{
	int rc = md_buf_puts(out, "'");

	for (const char *p = word; rc == MD_OK && *p; p++)
		rc = *p == '\'' ? md_buf_puts(out, "'\\''") : md_buf_append(out, p, 1);
	return rc == MD_OK ? md_buf_puts(out, "'") : rc;
}

/* U+2018..U+201B in UTF-8: E2 80 98..9B. */
static size_t ps_quote_len(const char *p)
{
	const unsigned char *u = (const unsigned char *)p;

	if (*u == '\'')
		return 1;
	if (u[0] == 0xe2 && u[1] == 0x80 && u[2] >= 0x98 && u[2] <= 0x9b)
		return 3;
	return 0;
}

int md_hostcmd_ps_quote(struct md_buf *out, const char *s)
{
	int rc = md_buf_puts(out, "'");

	while (rc == MD_OK && *s) {
		size_t q = ps_quote_len(s);

		if (q) {
			/* a doubled quote is one literal quote inside the string */
			rc = md_buf_append(out, s, q);
			if (rc == MD_OK)
				rc = md_buf_append(out, s, q);
			s += q;
		} else {
			rc = md_buf_append(out, s++, 1);
		}
	}
	return rc == MD_OK ? md_buf_puts(out, "'") : rc;
}

/* ---- the Windows limit script --------------------------------------------------------- */

/* OpenSSH on Windows starts cmd.exe (or PowerShell when so configured), and neither has a
 * `timeout` that ends a command.  This script does: it starts the program without a shell,
 * copies its output streams as raw bytes (the callers parse stdout as the program wrote
 * it), and ends it at the limit with exit 124; the copies must finish within the limit
 * too. */
static const char limited_fmt[] =
	"$ErrorActionPreference = 'Stop'\n"
	"$ProgressPreference = 'SilentlyContinue'\n"
	"$l = %d\n"
	"$i = New-Object System.Diagnostics.ProcessStartInfo\n"
	"$i.FileName = %s\n"
	"$i.Arguments = %s\n"
	"$i.UseShellExecute = $false\n"
	"$i.RedirectStandardOutput = $true\n"
	"$i.RedirectStandardError = $true\n"
	"try { $p = [System.Diagnostics.Process]::Start($i) } catch { "
	"[Console]::Error.WriteLine($i.FileName + ': ' + $_.Exception.Message); exit 127 }\n"
	"$t = [System.Diagnostics.Stopwatch]::StartNew()\n"
	"$o = $p.StandardOutput.BaseStream.CopyToAsync([Console]::OpenStandardOutput())\n"
	"$e = $p.StandardError.BaseStream.CopyToAsync([Console]::OpenStandardError())\n"
	"if (-not $p.WaitForExit($l)) { try { $p.Kill() } catch { }; exit 124 }\n"
	"$r = $l - $t.ElapsedMilliseconds\n"
	"if ($r -lt 0) { $r = 0 }\n"
	"if (-not [System.Threading.Tasks.Task]::WaitAll("
	"[System.Threading.Tasks.Task[]]@($o, $e), [int]$r)) { exit 124 }\n"
	"exit $p.ExitCode\n";

int md_hostcmd_windows_limited(const char *file, const char *args, int limit_s, char **out,
			       struct md_err *err)
{
	struct md_buf f, a, script;
	int rc;

	*out = NULL;
	if (limit_s < 1)
		return md_err_set(err, MD_EINVAL, "powershell", "%s: a limit under a second", file);
	md_buf_init(&f, 0);
	md_buf_init(&a, 0);
	md_buf_init(&script, 0);
	rc = md_hostcmd_ps_quote(&f, file);
	if (rc == MD_OK)
		rc = md_hostcmd_ps_quote(&a, args);
	if (rc == MD_OK)
		rc = md_buf_printf(&script, limited_fmt, limit_s * 1000, md_buf_str(&f), md_buf_str(&a));
	if (rc)
		rc = md_err_set(err, rc, "powershell", "%s: %s", file, md_status_name(rc));
	else
		rc = md_hostcmd_powershell(md_buf_str(&script), out, err);
	md_buf_cleanup(&script);
	md_buf_cleanup(&a);
	md_buf_cleanup(&f);
	return rc;
}

/* 124: coreutils/BusyBox `timeout` (and the Windows script) ended the command; 137 =
 * 128 + SIGKILL (`timeout -k`, or a shell reporting the kill); 142 = 128 + SIGALRM,
 * perl's alarm (core/hostbatch.c md_lim). */
bool md_hostcmd_ended_by_limit(int limit_s, int exit_status, const char *exit_signal)
{
	if (limit_s <= 0)
		return false;
	return exit_status == 124 || exit_status == 137 || exit_status == 142 ||
	       (exit_signal && (strcmp(exit_signal, "ALRM") == 0 || strcmp(exit_signal, "KILL") == 0));
}
