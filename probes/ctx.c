/* ctx.c — what a probe asks of the run it is part of: the session, and its host commands
 * from the run's batch. */
#include "core/hostbatch.h"
#include "core/facts.h"
#include "probes/probe.h"

#include <string.h>

struct md_session *md_ctx_session(struct md_ctx *ctx)
{
	if (!ctx->session && ctx->wait_session)
		ctx->session = ctx->wait_session(ctx);
	return ctx->session;
}

int md_ctx_host(struct md_ctx *ctx, const char *id, const char *cmd, int limit_s,
		const struct md_deadline *dl, struct md_host_out *o, struct md_err *err)
{
	struct md_session *s = md_ctx_session(ctx);

	if (!s)
		return md_err_set(err, MD_ESKIP, id, "%s: no session to the host", id);
	if (md_hostbatch_take(ctx->batch, id, cmd, o) == MD_OK)
		return MD_OK;
	return md_host_run(s, cmd, limit_s, dl, o, err);
}

int md_ctx_wait_probe(struct md_ctx *ctx, const char *name, struct md_facts *facts)
{
	return ctx->wait_probe ? ctx->wait_probe(ctx, name, facts) : MD_ENOTFOUND;
}

const char *md_ctx_host_os(struct md_ctx *ctx, struct md_facts *facts)
{
	const char *os;

	if (ctx->host_os)
		return ctx->host_os;
	if (md_ctx_wait_probe(ctx, "host", facts) == MD_OK && (os = md_facts_str(facts, "host.os")) &&
	    strcmp(os, "unknown") != 0)
		return ctx->host_os = os;
	os = ctx->session ? md_session_os(ctx->session) : NULL;
	return ctx->host_os = os ? os : "linux";
}
