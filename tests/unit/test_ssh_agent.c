/* test_ssh_agent.c — core/ssh_agent: the ssh-agent protocol over a socketpair (deadlines,
 * half answers, closed agents, oversized answers) and its message parsers. */
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
/* ssh-agent protocol (over a socketpair: no network)                                   */
/* ==================================================================================== */

static unsigned char *put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
	return p + 4;
}

static unsigned char *putstr(unsigned char *p, const void *s, size_t n)
{
	p = put32(p, (uint32_t)n);
	memcpy(p, s, n);
	return p + n;
}

/* SSH_AGENT_IDENTITIES_ANSWER with PUB_A ("laptop") and PUB_B (""). */
static size_t identities_answer(unsigned char *msg)
{
	unsigned char a[256], b[256], *p = msg;
	size_t na = blob_of(PUB_A, a), nb = blob_of(PUB_B, b);

	*p++ = 12;
	p = put32(p, 2);
	p = putstr(p, a, na);
	p = putstr(p, "laptop", 6);
	p = putstr(p, b, nb);
	p = putstr(p, "", 0);
	return (size_t)(p - msg);
}

static void nonblocking_pair(int sv[2])
{
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	cr_assert_eq(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
}

Test(agent, silent_agent_times_out_at_the_deadline, .timeout = 10)
{
	int sv[2];
	unsigned char req = 11, *resp = (unsigned char *)"x";
	size_t resp_len = 1;
	int64_t t0 = md_now_ms();
	struct md_deadline dl = md_deadline_after(t0, 300);

	nonblocking_pair(sv);
	cr_assert_eq(ssh_agent_request(sv[0], &req, 1, &resp, &resp_len, &dl), MD_ETIMEOUT);
	cr_assert_geq(md_now_ms() - t0, 290);
	cr_assert_leq(md_now_ms() - t0, 600, "took %lld ms", (long long)(md_now_ms() - t0));
	cr_assert_null(resp);
	cr_assert_eq(resp_len, 0);
	close(sv[0]);
	close(sv[1]);
}

Test(agent, agent_that_sends_half_an_answer_times_out, .timeout = 10)
{
	int sv[2];
	unsigned char req = 11, *resp, half[] = { 0, 0, 0, 40, 12, 0 };
	size_t resp_len;
	struct md_deadline dl = md_deadline_after(md_now_ms(), 300);

	nonblocking_pair(sv);
	cr_assert_eq(write(sv[1], half, sizeof(half)), (ssize_t)sizeof(half));
	cr_assert_eq(ssh_agent_request(sv[0], &req, 1, &resp, &resp_len, &dl), MD_ETIMEOUT);
	close(sv[0]);
	close(sv[1]);
}

Test(agent, closed_agent_is_an_io_error, .timeout = 10)
{
	int sv[2];
	unsigned char req = 11, *resp;
	size_t resp_len;
	struct md_deadline dl = md_deadline_after(md_now_ms(), 1000);

	nonblocking_pair(sv);
	close(sv[1]);
	cr_assert_eq(ssh_agent_request(sv[0], &req, 1, &resp, &resp_len, &dl), MD_EIO);
	close(sv[0]);
}

Test(agent, request_sends_a_framed_message_and_reads_the_answer, .timeout = 10)
{
	int sv[2];
	unsigned char req = 11, *resp, msg[1024], framed[1100], got[16];
	size_t len = identities_answer(msg), resp_len;
	struct md_deadline dl = md_deadline_after(md_now_ms(), 1000);
	struct ssh_agent_keys keys;
	unsigned char a[256];
	size_t na = blob_of(PUB_A, a);

	nonblocking_pair(sv);
	put32(framed, (uint32_t)len);
	memcpy(framed + 4, msg, len);
	cr_assert_eq(write(sv[1], framed, len + 4), (ssize_t)(len + 4));
	cr_assert_eq(ssh_agent_request(sv[0], &req, 1, &resp, &resp_len, &dl), MD_OK);
	cr_assert_eq(read(sv[1], got, sizeof(got)), 5, "the request: length 1, type 11");
	cr_assert_eq(memcmp(got, "\0\0\0\1\13", 5), 0);
	cr_assert_eq(resp_len, len);
	cr_assert_eq(ssh_agent_parse_identities(resp, resp_len, &keys), MD_OK);
	cr_assert_eq(keys.n, 2);
	cr_assert_str_eq(keys.v[0].comment, "laptop");
	cr_assert_eq(keys.v[0].blob_len, na);
	cr_assert_eq(memcmp(keys.v[0].blob, a, na), 0);
	cr_assert_str_eq(keys.v[1].comment, "");
	ssh_agent_keys_free(&keys);
	free(resp);
	close(sv[0]);
	close(sv[1]);
}

Test(agent, oversized_answer_is_refused, .timeout = 10)
{
	int sv[2];
	unsigned char req = 11, *resp, hdr[] = { 0, 0x10, 0, 0 }; /* 1 MiB */
	size_t resp_len;
	struct md_deadline dl = md_deadline_after(md_now_ms(), 1000);

	nonblocking_pair(sv);
	cr_assert_eq(write(sv[1], hdr, 4), 4);
	cr_assert_eq(ssh_agent_request(sv[0], &req, 1, &resp, &resp_len, &dl), MD_ETOOBIG);
	close(sv[0]);
	close(sv[1]);
}

Test(agent, identities_parser_rejects_bad_answers, .timeout = 10)
{
	unsigned char msg[1024];
	size_t len = identities_answer(msg);
	struct ssh_agent_keys keys;

	cr_assert_eq(ssh_agent_parse_identities(msg, len - 1, &keys), MD_EPARSE, "truncated");
	cr_assert_eq(keys.n, 0);
	msg[0] = 5; /* SSH_AGENT_FAILURE */
	cr_assert_eq(ssh_agent_parse_identities(msg, len, &keys), MD_EPARSE);
	msg[0] = 12;
	put32(msg + 1, 0x7fffffff);
	cr_assert_eq(ssh_agent_parse_identities(msg, len, &keys), MD_EPARSE, "absurd count");
	put32(msg + 1, 0);
	cr_assert_eq(ssh_agent_parse_identities(msg, 5, &keys), MD_OK, "no keys");
	cr_assert_eq(keys.n, 0);
	ssh_agent_keys_free(&keys);
}

Test(agent, signature_parser, .timeout = 10)
{
	unsigned char msg[256], inner[128], *p = inner, *q = msg;
	const unsigned char *sig;
	size_t sig_len;
	char alg[64];

	p = putstr(p, "ssh-ed25519", 11);
	p = putstr(p, "SIGNATURE-BYTES", 15);
	*q++ = 14;
	q = putstr(q, inner, (size_t)(p - inner));
	cr_assert_eq(ssh_agent_parse_signature(msg, (size_t)(q - msg), alg, sizeof(alg), &sig, &sig_len), MD_OK);
	cr_assert_str_eq(alg, "ssh-ed25519");
	cr_assert_eq(sig_len, 15);
	cr_assert_eq(memcmp(sig, "SIGNATURE-BYTES", 15), 0);
	cr_assert_eq(ssh_agent_parse_signature(msg, (size_t)(q - msg) - 1, alg, sizeof(alg), &sig, &sig_len),
		     MD_EPARSE);
	msg[0] = 5;
	cr_assert_eq(ssh_agent_parse_signature(msg, 1, alg, sizeof(alg), &sig, &sig_len), MD_EAUTH,
		     "SSH_AGENT_FAILURE: refused");
}

Test(agent, algorithm_in_the_signed_userauth_data, .timeout = 10)
{
	unsigned char data[512], *p = data;
	char alg[64];

	p = putstr(p, "0123456789abcdef0123456789abcdef", 32); /* session id */
	*p++ = 50;
	p = putstr(p, "steve", 5);
	p = putstr(p, "ssh-connection", 14);
	p = putstr(p, "publickey", 9);
	*p++ = 1;
	p = putstr(p, "rsa-sha2-512", 12);
	p = putstr(p, "KEYBLOB", 7);
	cr_assert_eq(ssh_userauth_sign_alg(data, (size_t)(p - data), alg, sizeof(alg)), MD_OK);
	cr_assert_str_eq(alg, "rsa-sha2-512");
	data[36] = 51;
	cr_assert_eq(ssh_userauth_sign_alg(data, (size_t)(p - data), alg, sizeof(alg)), MD_EPARSE);
}

/* draft-miller-ssh-agent §5.3: the SHA-2 flags go with the RSA algorithms and their
 * certificate forms; the signature must name the algorithm asked for, without the
 * certificate suffix. */
Test(agent, sign_flags_and_expected_signature_algorithm, .timeout = 10)
{
	static const struct { const char *alg; uint32_t flags; const char *sig; } cases[] = {
		{ "ssh-ed25519", 0, "ssh-ed25519" },
		{ "ssh-rsa", 0, "ssh-rsa" },
		{ "rsa-sha2-256", 2, "rsa-sha2-256" },
		{ "rsa-sha2-512", 4, "rsa-sha2-512" },
		{ "rsa-sha2-256-cert-v01@openssh.com", 2, "rsa-sha2-256" },
		{ "rsa-sha2-512-cert-v01@openssh.com", 4, "rsa-sha2-512" },
		{ "ssh-rsa-cert-v01@openssh.com", 0, "ssh-rsa" },
		{ "ssh-ed25519-cert-v01@openssh.com", 0, "ssh-ed25519" },
		{ "ecdsa-sha2-nistp256-cert-v01@openssh.com", 0, "ecdsa-sha2-nistp256" },
		{ "sk-ssh-ed25519-cert-v01@openssh.com", 0, "sk-ssh-ed25519@openssh.com" },
		{ "sk-ecdsa-sha2-nistp256@openssh.com", 0, "sk-ecdsa-sha2-nistp256@openssh.com" },
		{ "rsa-sha2-2560", 0, "rsa-sha2-2560" },
		{ "rsa-sha2-512-other", 0, "rsa-sha2-512-other" },
	};
	char sig[64];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_assert_eq(ssh_agent_sign_flags(cases[i].alg), cases[i].flags, "flags for %s",
			     cases[i].alg);
		ssh_sig_alg_of(cases[i].alg, sig, sizeof(sig));
		cr_assert_str_eq(sig, cases[i].sig, "signature algorithm for %s", cases[i].alg);
	}
}

Test(agent, empty_messages_are_malformed, .timeout = 10)
{
	struct ssh_agent_keys keys;
	const unsigned char *sg;
	size_t sg_len;
	char alg[64];

	cr_assert_eq(ssh_agent_parse_identities(NULL, 0, &keys), MD_EPARSE);
	cr_assert_eq(ssh_agent_parse_signature(NULL, 0, alg, sizeof(alg), &sg, &sg_len), MD_EPARSE);
}

