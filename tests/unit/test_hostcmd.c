/* test_hostcmd.c — command lines for a host's shell (core/hostcmd.c): PowerShell's
 * -EncodedCommand, the Windows limit script, "ended by its limit", and quoting that no
 * value can break out of.  POSIX quoting is checked by running /bin/sh on hostile words;
 * there is no PowerShell here, so its quoting and script are checked by decoding. */
#include "core/buf.h"
#include "core/hostcmd.h"

#include <criterion/criterion.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

TestSuite(hostcmd, .timeout = 10);

static const char *const hostile[] = {
	"plain",
	"",
	"a'b",
	"'",
	"''",
	"a'; rm -rf ~; 'b",
	"$(id)",
	"`id`",
	"x\" & calc & \"",
	"%COMSPEC%",
	"a\nb\r\nc",
	"\\'\\",
	"--help",
	"a b\tc",
	"\xe2\x80\x99; calc; \xe2\x80\x98",  /* typographic quotes: PowerShell's too */
	"caf\xc3\xa9 \xf0\x9f\x98\x80",
};
#define N_HOSTILE (sizeof(hostile) / sizeof(hostile[0]))

/* The script inside MD_HOSTCMD_POWERSHELL + base64 (UTF-16LE), back as UTF-8 (BMP only,
 * plus surrogate pairs). */
static char *decode_ps(const char *cmd)
{
	size_t pre = strlen(MD_HOSTCMD_POWERSHELL), o = 0;
	const char *b64;
	unsigned char *u16;
	char *out;
	int n;

	cr_assert(strncmp(cmd, MD_HOSTCMD_POWERSHELL, pre) == 0, "%s", cmd);
	b64 = cmd + pre;
	cr_assert_eq(strspn(b64, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="),
		     strlen(b64), "only base64 after the switches: %s", cmd);
	u16 = malloc(strlen(b64) + 4);
	out = malloc(strlen(b64) * 2 + 4);
	cr_assert(u16 && out);
	n = EVP_DecodeBlock(u16, (const unsigned char *)b64, (int)strlen(b64));
	n -= (int)(strlen(b64) - strcspn(b64, "=")); /* padding decodes to zeros */
	for (int i = 0; i + 1 < n; i += 2) {
		unsigned v = u16[i] | (unsigned)u16[i + 1] << 8;

		if (v >= 0xd800 && v <= 0xdbff && i + 3 < n) {
			unsigned lo = u16[i + 2] | (unsigned)u16[i + 3] << 8;

			v = 0x10000 + ((v - 0xd800) << 10) + (lo - 0xdc00);
			i += 2;
		}
		if (v < 0x80) {
			out[o++] = (char)v;
		} else if (v < 0x800) {
			out[o++] = (char)(0xc0 | v >> 6), out[o++] = (char)(0x80 | (v & 0x3f));
		} else if (v < 0x10000) {
			out[o++] = (char)(0xe0 | v >> 12), out[o++] = (char)(0x80 | ((v >> 6) & 0x3f));
			out[o++] = (char)(0x80 | (v & 0x3f));
		} else {
			out[o++] = (char)(0xf0 | v >> 18), out[o++] = (char)(0x80 | ((v >> 12) & 0x3f));
			out[o++] = (char)(0x80 | ((v >> 6) & 0x3f)), out[o++] = (char)(0x80 | (v & 0x3f));
		}
	}
	out[o] = '\0';
	free(u16);
	return out;
}

Test(hostcmd, encoded_command_is_utf16le_base64)
{
	char *enc = NULL;

	cr_assert_eq(md_hostcmd_encode_powershell("Get-Date", &enc, NULL), MD_OK);
	cr_assert_str_eq(enc, "RwBlAHQALQBEAGEAdABlAA==");
	free(enc);
	/* U+1F600 is a surrogate pair; U+2019 one unit */
	cr_assert_eq(md_hostcmd_encode_powershell("a\xf0\x9f\x98\x80\xe2\x80\x99", &enc, NULL), MD_OK);
	cr_assert_str_eq(enc, "YQA92ADeGSA=");
	free(enc);
	cr_assert_eq(md_hostcmd_encode_powershell("", &enc, NULL), MD_OK);
	cr_assert_str_eq(enc, "");
	free(enc);
}

Test(hostcmd, encoded_command_refuses_what_is_not_utf8)
{
	static const char *const bad[] = {
		"\xff", "a\x80", "\xc3", "\xc0\xaf" /* overlong '/' */, "\xed\xa0\x80" /* surrogate */,
		"\xf4\x90\x80\x80" /* past U+10FFFF */, "\xe2\x80",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct md_err err = { 0 };
		char *enc = (char *)"unchanged";

		cr_assert_eq(md_hostcmd_encode_powershell(bad[i], &enc, &err), MD_EINVAL, "case %zu", i);
		cr_assert_null(enc, "case %zu", i);
		cr_assert(strstr(err.msg, "UTF-8"), "%s", err.msg);
	}
}

Test(hostcmd, powershell_line_round_trips)
{
	char *cmd = NULL, *back;

	for (size_t i = 0; i < N_HOSTILE; i++) {
		cr_assert_eq(md_hostcmd_powershell(hostile[i], &cmd, NULL), MD_OK, "case %zu", i);
		back = decode_ps(cmd);
		cr_assert_str_eq(back, hostile[i], "case %zu", i);
		free(back);
		free(cmd);
	}
}

/* Runs `printf %s WORD` under /bin/sh with word quoted: it must print word unchanged. */
Test(hostcmd, sh_quote_keeps_hostile_words_one_word)
{
	for (size_t i = 0; i < N_HOSTILE; i++) {
		struct md_buf cmd, got;
		char buf[512];
		size_t n;
		FILE *p;

		md_buf_init(&cmd, 0);
		md_buf_init(&got, 0);
		cr_assert_eq(md_buf_puts(&cmd, "printf '%s|' "), MD_OK);
		cr_assert_eq(md_hostcmd_sh_quote(&cmd, hostile[i]), MD_OK);
		p = popen(md_buf_str(&cmd), "r");
		cr_assert(p);
		while ((n = fread(buf, 1, sizeof(buf), p)) > 0)
			cr_assert_eq(md_buf_append(&got, buf, n), MD_OK);
		cr_assert_eq(pclose(p), 0, "%s", md_buf_str(&cmd));
		snprintf(buf, sizeof(buf), "%s|", hostile[i]);
		cr_assert_str_eq(md_buf_str(&got), buf, "one word for case %zu: %s", i, md_buf_str(&cmd));
		md_buf_cleanup(&cmd);
		md_buf_cleanup(&got);
	}
}

/* PowerShell's single-quoted string: starts and ends with a quote, and inside it every
 * quote character (', U+2018..U+201B) comes in pairs, so none ends the string; undoubling
 * gives the input back. */
Test(hostcmd, ps_quote_doubles_every_quote)
{
	for (size_t i = 0; i < N_HOSTILE; i++) {
		struct md_buf q, back;
		const char *s;
		size_t n;

		md_buf_init(&q, 0);
		md_buf_init(&back, 0);
		cr_assert_eq(md_hostcmd_ps_quote(&q, hostile[i]), MD_OK);
		s = md_buf_str(&q);
		n = strlen(s);
		cr_assert(n >= 2 && s[0] == '\'' && s[n - 1] == '\'', "%s", s);
		for (size_t k = 1; k + 1 < n; ) {
			const unsigned char *u = (const unsigned char *)s + k;
			size_t ql = u[0] == '\'' ? 1 : u[0] == 0xe2 && u[1] == 0x80 && u[2] >= 0x98 &&
				    u[2] <= 0x9b ? 3 : 0;

			if (ql) {
				cr_assert(k + 2 * ql < n && memcmp(s + k, s + k + ql, ql) == 0,
					  "a lone quote at %zu ends the string: %s", k, s);
				cr_assert_eq(md_buf_append(&back, s + k, ql), MD_OK);
				k += 2 * ql;
			} else {
				cr_assert_eq(md_buf_append(&back, s + k, 1), MD_OK);
				k++;
			}
		}
		cr_assert_str_eq(md_buf_str(&back), hostile[i], "case %zu", i);
		md_buf_cleanup(&q);
		md_buf_cleanup(&back);
	}
}

Test(hostcmd, windows_limit_script)
{
	char *cmd = NULL, *script;
	const char *kill, *wait_all, *exit_code;

	cr_assert_eq(md_hostcmd_windows_limited("tailscale", "x'; calc; '", 3, &cmd, NULL), MD_OK);
	script = decode_ps(cmd);
	cr_assert(strstr(script, "\n$l = 3000\n"), "%s", script);
	cr_assert(strstr(script, "\n$i.FileName = 'tailscale'\n"), "%s", script);
	cr_assert(strstr(script, "\n$i.Arguments = 'x''; calc; '''\n"), "%s", script);
	cr_assert(strstr(script, "\n$i.UseShellExecute = $false\n"), "%s", script);
	cr_assert(strstr(script, "\n$o = $p.StandardOutput.BaseStream.CopyToAsync("
				 "[Console]::OpenStandardOutput())\n"), "%s", script);
	cr_assert(strstr(script, "\n$e = $p.StandardError.BaseStream.CopyToAsync("
				 "[Console]::OpenStandardError())\n"), "%s", script);
	kill = strstr(script, "\nif (-not $p.WaitForExit($l)) { try { $p.Kill() } catch { }; exit 124 }\n");
	wait_all = strstr(script, "[int]$r)) { exit 124 }\n");
	exit_code = strstr(script, "\nexit $p.ExitCode\n");
	cr_assert(kill && wait_all && exit_code && kill < wait_all && wait_all < exit_code, "%s", script);
	cr_assert(strstr(script, "$_.Exception.Message); exit 127 }"), "%s", script);
	free(script);
	free(cmd);
	/* a typographic quote in a path is doubled too */
	cr_assert_eq(md_hostcmd_windows_limited("C:\\a\xe2\x80\x99" "b\\t.exe", "", 1, &cmd, NULL), MD_OK);
	script = decode_ps(cmd);
	cr_assert(strstr(script, "\n$i.FileName = 'C:\\a\xe2\x80\x99\xe2\x80\x99" "b\\t.exe'\n"), "%s", script);
	cr_assert(strstr(script, "\n$l = 1000\n"), "%s", script);
	free(script);
	free(cmd);
	cr_assert_eq(md_hostcmd_windows_limited("x", "y", 0, &cmd, NULL), MD_EINVAL);
	cr_assert_null(cmd);
	cr_assert_eq(md_hostcmd_windows_limited("x", "\xff", 2, &cmd, NULL), MD_EINVAL);
	cr_assert_null(cmd);
}

Test(hostcmd, only_the_hosts_own_limit_ends_a_command)
{
	cr_assert(md_hostcmd_ended_by_limit(3, 124, ""), "timeout(1)");
	cr_assert(md_hostcmd_ended_by_limit(3, 137, ""), "SIGKILL, 128 + 9");
	cr_assert(md_hostcmd_ended_by_limit(3, 142, ""), "perl's alarm, 128 + 14");
	cr_assert(md_hostcmd_ended_by_limit(3, -1, "ALRM"));
	cr_assert(md_hostcmd_ended_by_limit(3, -1, "KILL"));
	cr_assert(md_hostcmd_ended_by_limit(3, 124, NULL));
	cr_assert_not(md_hostcmd_ended_by_limit(3, 1, ""));
	cr_assert_not(md_hostcmd_ended_by_limit(3, 0, ""));
	cr_assert_not(md_hostcmd_ended_by_limit(3, 0, NULL));
	cr_assert_not(md_hostcmd_ended_by_limit(0, 124, ""), "no limit was set: not ours");
}
