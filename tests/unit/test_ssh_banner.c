/* test_ssh_banner.c — core/ssh_banner: parsing the identification string and finding it
 * among the lines a server may send first (RFC 4253 §4.2), and the evidence escaping of
 * core/ssh_wire. */
#include "core/facts.h"
#include "core/known_hosts.h"
#include "core/session.h"
#include "core/session_ssh.h"
#include "core/ssh_agent.h"
#include "core/ssh_banner.h"
#include "core/ssh_kex.h"
#include "core/ssh_keys.h"
#include "core/ssh_wire.h"
#include "tests/support/ssh_fixtures.h"

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <libssh2.h>
#include <openssl/evp.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ==================================================================================== */
/* Banner                                                                               */
/* ==================================================================================== */

struct banner_case {
	const char *line;
	int rc;
	const char *software;
	const char *comments;
	bool windows;
	int major, minor;
	bool at_least_8_8;
};

static const struct banner_case banner_parse_cases[] = {
	{ "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3", MD_OK, "OpenSSH_9.2p1", "Debian-2+deb12u3",
	  false, 9, 2, true },
	{ "SSH-2.0-OpenSSH_for_Windows_9.5", MD_OK, "OpenSSH_for_Windows_9.5", "", true, 9, 5,
	  true },
	{ "SSH-2.0-OpenSSH_for_Windows_8.1", MD_OK, "OpenSSH_for_Windows_8.1", "", true, 8, 1,
	  false },
	{ "SSH-2.0-OpenSSH_8.8", MD_OK, "OpenSSH_8.8", "", false, 8, 8, true },
	{ "SSH-2.0-OpenSSH_8.4p1 Raspbian-5", MD_OK, "OpenSSH_8.4p1", "Raspbian-5", false, 8, 4,
	  false },
	{ "SSH-2.0-OpenSSH_10.0", MD_OK, "OpenSSH_10.0", "", false, 10, 0, true },
	{ "SSH-2.0-dropbear_2022.83", MD_OK, "dropbear_2022.83", "", false, -1, -1, false },
	{ "SSH-1.99-Cisco-1.25", MD_OK, "Cisco-1.25", "", false, -1, -1, false },
	{ "HTTP/1.1 400 Bad Request", MD_EPARSE, "", "", false, -1, -1, false },
	{ "SSH-2.0-", MD_EPARSE, "", "", false, -1, -1, false },
};

static void banner_parse_one(const struct banner_case *c)
{
	struct ssh_banner b;

	cr_assert_eq(ssh_banner_parse(c->line, &b), c->rc, "rc for %s", c->line);
	if (c->rc)
		return;
	cr_assert_str_eq(b.software, c->software, "software of %s", c->line);
	cr_assert_str_eq(b.comments, c->comments, "comments of %s", c->line);
	cr_assert_eq(b.windows, c->windows, "windows for %s", c->line);
	cr_assert_eq(b.openssh_major, c->major, "major of %s", c->line);
	cr_assert_eq(b.openssh_minor, c->minor, "minor of %s", c->line);
	cr_assert_eq(ssh_openssh_at_least(&b, 8, 8), c->at_least_8_8, ">= 8.8 for %s", c->line);
}

Test(banner, parse, .timeout = 10)
{
	for (size_t i = 0; i < sizeof(banner_parse_cases) / sizeof(banner_parse_cases[0]); i++)
		banner_parse_one(&banner_parse_cases[i]);
}

Test(banner, scan_finds_the_ssh_line_after_other_lines, .timeout = 10)
{
	const char buf[] = "Welcome to the box\r\nauthorised use only\r\nSSH-2.0-OpenSSH_9.2p1\r\n";
	size_t skip, len;
	bool other = false;

	cr_assert_eq(ssh_banner_scan(buf, strlen(buf), &skip, &len, &other), SSH_SCAN_BANNER);
	cr_assert_eq(skip, strlen("Welcome to the box\r\nauthorised use only\r\n"));
	cr_assert_eq(len, strlen("SSH-2.0-OpenSSH_9.2p1"));
	cr_assert(other);
}

Test(banner, scan_plain_banner_lf_only, .timeout = 10)
{
	const char buf[] = "SSH-2.0-OpenSSH_9.2p1\n";
	size_t skip, len;
	bool other = false;

	cr_assert_eq(ssh_banner_scan(buf, strlen(buf), &skip, &len, &other), SSH_SCAN_BANNER);
	cr_assert_eq(skip, 0);
	cr_assert_eq(len, strlen("SSH-2.0-OpenSSH_9.2p1"));
	cr_assert_not(other);
}

Test(banner, scan_waits_for_an_incomplete_ssh_line, .timeout = 10)
{
	size_t skip, len;
	bool other = false;

	cr_assert_eq(ssh_banner_scan("SSH-2.0-Open", 12, &skip, &len, &other), SSH_SCAN_MORE);
	cr_assert_not(other);
	cr_assert_eq(ssh_banner_scan("SS", 2, &skip, &len, &other), SSH_SCAN_MORE);
	cr_assert_not(other);
}

Test(banner, scan_flags_http_and_binary, .timeout = 10)
{
	const char http[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
	const char bin[] = "\x16\x03\x01\x00\x05hello";
	size_t skip, len;
	bool other = false;

	cr_assert_eq(ssh_banner_scan(http, strlen(http), &skip, &len, &other), SSH_SCAN_MORE);
	cr_assert(other, "HTTP lines are not SSH lines");
	other = false;
	cr_assert_eq(ssh_banner_scan(bin, sizeof(bin) - 1, &skip, &len, &other), SSH_SCAN_NOT_SSH,
		     "a NUL byte is never SSH");
	other = false;
	cr_assert_eq(ssh_banner_scan("HTT", 3, &skip, &len, &other), SSH_SCAN_MORE);
	cr_assert(other, "\"HTT\" cannot start \"SSH-\"");
}

Test(banner, scan_rejects_an_endless_line, .timeout = 10)
{
	char buf[2048];
	size_t skip, len;
	bool other = false;

	memset(buf, 'A', sizeof(buf));
	cr_assert_eq(ssh_banner_scan(buf, sizeof(buf), &skip, &len, &other), SSH_SCAN_NOT_SSH);
}

Test(banner, escape_is_printable, .timeout = 10)
{
	char out[128];

	ssh_escape("HTTP/1.1 400\r\n\x01\"\\", 17, out, sizeof(out));
	cr_assert_str_eq(out, "HTTP/1.1 400\\r\\n\\x01\\\"\\\\");
	ssh_escape("abcdef", 6, out, 4);
	cr_assert_str_eq(out, "abc", "truncates at the buffer, never overflows");
}

