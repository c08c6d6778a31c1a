/* test_http.c — the HTTP/1.1 client's pure parts (core/http.c): URLs and the response
 * parser, on responses shaped as Go's net/http writes them (Headscale's /health, /key,
 * /version: fixtures/headscale/). */
#include "core/http.h"
#include "tests/support/fixture.h"

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

TestSuite(http, .timeout = 10);

/* ==== URLs ============================================================================= */

Test(http, url_with_port_and_path)
{
	struct md_http_url u;

	cr_assert_eq(md_http_parse_url("http://sfspark1.local:8080/", &u, NULL), MD_OK);
	cr_assert_not(u.https);
	cr_assert_str_eq(u.host, "sfspark1.local");
	cr_assert_eq(u.port, 8080);
	cr_assert_str_eq(u.path, "", "a trailing / is dropped: paths are appended to it");
	cr_assert_eq(md_http_parse_url("https://hs.example.com/base/", &u, NULL), MD_OK);
	cr_assert(u.https);
	cr_assert_eq(u.port, 443);
	cr_assert_str_eq(u.path, "/base");
}

Test(http, url_ipv6_literal_loses_its_brackets)
{
	struct md_http_url u;

	cr_assert_eq(md_http_parse_url("http://[fd7a:115c:a1e0::1]:8080", &u, NULL), MD_OK);
	cr_assert_str_eq(u.host, "fd7a:115c:a1e0::1");
	cr_assert_eq(u.port, 8080);
}

struct bad_url {
	char url[64];
};

ParameterizedTestParameters(http, bad_urls_are_one_line_errors)
{
	static struct bad_url v[] = {
		{ "ftp://x" }, { "http://" }, { "http://:8080" }, { "http://h:0" }, { "http://h:70000" },
		{ "http://u@h" }, { "http://h;rm/" }, { "http://[::1" }, { "http://h:80x" }, { "h:8080" },
		{ "http://h/a b" },
	};

	return cr_make_param_array(struct bad_url, v, sizeof(v) / sizeof(v[0]));
}

ParameterizedTest(struct bad_url *b, http, bad_urls_are_one_line_errors)
{
	struct md_http_url u;
	struct md_err e = { 0 };

	cr_assert_eq(md_http_parse_url(b->url, &u, &e), MD_EINVAL, "%s", b->url);
	cr_assert(e.msg[0] && !strchr(e.msg, '\n'), "%s: %s", b->url, e.msg);
}

/* ==== responses ======================================================================== */

static int parse(const char *raw, bool eof, struct md_http_response *r, bool *more, struct md_err *e)
{
	return md_http_parse_response(raw, strlen(raw), eof, r, more, e);
}

/* Headscale's /health as Go writes it: Content-Length, the health+json type. */
Test(http, headscale_health_response_fixture)
{
	char *body = test_fixture("headscale", "health-pass.json");
	char raw[1024];
	struct md_http_response r;
	bool more;

	snprintf(raw, sizeof(raw), "HTTP/1.1 200 OK\r\nContent-Type: application/health+json; charset=utf-8\r\n"
		 "Date: Mon, 07 Dec 2026 23:00:00 GMT\r\nContent-Length: %zu\r\n\r\n%s", strlen(body), body);
	md_http_response_init(&r);
	cr_assert_eq(parse(raw, false, &r, &more, NULL), MD_OK);
	cr_assert_not(more);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(r.reason, "OK");
	cr_assert_str_eq(r.content_type, "application/health+json; charset=utf-8");
	cr_assert_str_eq(r.body, "{\"status\":\"pass\"}");
	md_http_response_cleanup(&r);
	free(body);
}

Test(http, incomplete_until_content_length_arrives)
{
	struct md_http_response r;
	bool more;

	md_http_response_init(&r);
	cr_assert_eq(parse("HTTP/1.1 500 Internal Server Error\r\nContent-Length: 17\r\n\r\n{\"status\"", false,
			   &r, &more, NULL), MD_OK);
	cr_assert(more);
	cr_assert_null(r.body);
	cr_assert_eq(parse("HTTP/1.1 500 Internal Server Error\r\nContent-Length: 17\r\n\r\n{\"status\":\"fail\"}",
			   false, &r, &more, NULL), MD_OK);
	cr_assert_not(more);
	cr_assert_eq(r.status, 500);
	cr_assert_str_eq(r.body, "{\"status\":\"fail\"}");
	md_http_response_cleanup(&r);
}

Test(http, chunked_body_is_decoded)
{
	struct md_http_response r;
	bool more;

	md_http_response_init(&r);
	cr_assert_eq(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"ve\r\n"
			   "a;ext=1\r\nrsion\":\"v0\r\n", false, &r, &more, NULL), MD_OK);
	cr_assert(more, "no last chunk yet");
	cr_assert_eq(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"ve\r\n"
			   "a;ext=1\r\nrsion\":\"v0\r\n2\r\n\"}\r\n0\r\nX-Trailer: 1\r\n\r\n", false, &r, &more, NULL),
		     MD_OK);
	cr_assert_not(more);
	cr_assert_str_eq(r.body, "{\"version\":\"v0\"}");
	md_http_response_cleanup(&r);
}

Test(http, body_without_length_ends_with_the_connection)
{
	struct md_http_response r;
	bool more;

	md_http_response_init(&r);
	cr_assert_eq(parse("HTTP/1.0 404 Not Found\n\n404 page not found\n", false, &r, &more, NULL), MD_OK);
	cr_assert(more);
	cr_assert_eq(parse("HTTP/1.0 404 Not Found\n\n404 page not found\n", true, &r, &more, NULL), MD_OK);
	cr_assert_eq(r.status, 404);
	cr_assert_str_eq(r.reason, "Not Found");
	cr_assert_str_eq(r.body, "404 page not found\n");
	md_http_response_cleanup(&r);
}

Test(http, interim_100_is_skipped)
{
	struct md_http_response r;
	bool more;

	md_http_response_init(&r);
	cr_assert_eq(parse("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n", false, &r, &more, NULL),
		     MD_OK);
	cr_assert_not(more);
	cr_assert_eq(r.status, 204);
	cr_assert_eq(r.body_len, 0);
	md_http_response_cleanup(&r);
}

struct bad_resp {
	char raw[96];
	bool eof;
};

ParameterizedTestParameters(http, malformed_responses_are_parse_errors)
{
	static struct bad_resp v[] = {
		{ "SSH-2.0-OpenSSH_9.2\r\n", false },
		{ "HTTP/2 200\r\n\r\n", false },
		{ "HTTP/1.1 20 OK\r\n\r\n", false },
		{ "HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", false },
		{ "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", false },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", false },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", false },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", true },
		{ "", true },
	};

	return cr_make_param_array(struct bad_resp, v, sizeof(v) / sizeof(v[0]));
}

ParameterizedTest(struct bad_resp *b, http, malformed_responses_are_parse_errors)
{
	struct md_http_response r;
	struct md_err e = { 0 };
	bool more;

	md_http_response_init(&r);
	cr_assert_eq(parse(b->raw, b->eof, &r, &more, &e), MD_EPARSE, "%s", b->raw);
	cr_assert_not(more);
	cr_assert(e.msg[0] && !strchr(e.msg, '\n'), "%s: %s", b->raw, e.msg);
	md_http_response_cleanup(&r);
}
