/* wg_results.c — what the WireGuard analyser found (see wireguard.h): totals, the
 * handshake RTT median, the endpoints table as JSON, the wg.* facts, and feeding it a
 * capture file through libpcap.  The analyser's state is in probes/wg_internal.h. */
#include "probes/wg_internal.h"

#include "core/facts.h"

#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------------------ */
/* Results                                                                              */
/* ------------------------------------------------------------------------------------ */

const struct wg_totals *wg_analyser_totals(const struct wg_analyser *a)
{
	return &a->t;
}

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return (a > b) - (a < b);
}

bool wg_analyser_rtt_median_ms(const struct wg_analyser *a, double *out)
{
	double v[WG_RTT_SAMPLES];
	size_t n = a->t.rtt_n < WG_RTT_SAMPLES ? (size_t)a->t.rtt_n : WG_RTT_SAMPLES;

	if (n == 0)
		return false;
	memcpy(v, a->rtt, n * sizeof(v[0]));
	qsort(v, n, sizeof(v[0]), cmp_double);
	*out = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	return true;
}

static int cmp_pair(const void *x, const void *y, void *ctx)
{
	const struct wg_analyser *an = ctx;
	uint32_t i = *(const uint32_t *)x, j = *(const uint32_t *)y;
	uint64_t pi = an->hot[i].packets, pj = an->hot[j].packets;
	int64_t fi = an->pairs[i].p.first_us, fj = an->pairs[j].p.first_us;

	if (pi != pj)
		return pi < pj ? 1 : -1;
	return fi < fj ? -1 : fi > fj;
}

size_t wg_analyser_pairs(const struct wg_analyser *a, struct wg_pair *out, size_t max)
{
	uint32_t order[WG_MAX_PAIRS];
	size_t n = 0;

	for (uint32_t i = 0; i < WG_MAX_PAIRS; i++)
		if (a->pair_h[i])
			order[n++] = i;
	qsort_r(order, n, sizeof(order[0]), cmp_pair, (void *)a);
	if (n > max)
		n = max;
	for (size_t i = 0; i < n; i++) {
		const struct pair_hot *hp = &a->hot[order[i]];
		struct wg_pair *p = &out[i];

		*p = a->pairs[order[i]].p;
		p->packets = hp->packets;
		p->last_us = hp->last_us;
		p->data_tx_packets = hp->data_packets[0];
		p->data_rx_packets = hp->data_packets[1];
		p->data_tx_bytes = hp->data_bytes[0];
		p->data_rx_bytes = hp->data_bytes[1];
		p->keepalives_tx = hp->keepalives[0];
		p->keepalives_rx = hp->keepalives[1];
	}
	return n;
}

const char *wg_analyser_example(const struct wg_analyser *a, const char *fact)
{
	static const struct { const char *fact; enum example ex; } map[] = {
		{ "wg.initiations", EX_INIT }, { "wg.responses", EX_RESP },
		{ "wg.cookie_replies", EX_COOKIE }, { "wg.data", EX_DATA },
		{ "wg.keepalives", EX_KEEPALIVE }, { "wg.disco", EX_DISCO },
		{ "wg.non_wg", EX_NON_WG }, { "wg.bad_size", EX_BAD_SIZE },
		{ "wg.fragments", EX_FRAGMENT }, { "wg.truncated", EX_TRUNCATED },
		{ "wg.endpoint_changes", EX_ROAM }, { "wg.max_init_burst", EX_BURST },
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(map[i].fact, fact) == 0)
			return a->ex[map[i].ex][0] ? a->ex[map[i].ex] : NULL;
	return NULL;
}

static bool add_num(cJSON *o, const char *k, double v)
{
	return cJSON_AddNumberToObject(o, k, v) != NULL;
}

static cJSON *pair_json(const struct wg_pair *p)
{
	cJSON *o = cJSON_CreateObject();
	char buf[64];
	bool ok;

	if (!o)
		return NULL;
	wg_endpoint_format(&p->local, buf, sizeof(buf));
	ok = cJSON_AddStringToObject(o, "local", buf) != NULL;
	wg_endpoint_format(&p->remote, buf, sizeof(buf));
	ok = ok && cJSON_AddStringToObject(o, "remote", buf);
	ok = ok && cJSON_AddStringToObject(o, "direction_basis", wg_basis_name(p->basis));
	ok = ok && add_num(o, "packets", (double)p->packets);
	ok = ok && add_num(o, "initiations_tx", (double)p->initiations_tx);
	ok = ok && add_num(o, "initiations_rx", (double)p->initiations_rx);
	ok = ok && add_num(o, "responses_tx", (double)p->responses_tx);
	ok = ok && add_num(o, "responses_rx", (double)p->responses_rx);
	ok = ok && add_num(o, "handshakes_completed", (double)p->handshakes_completed);
	ok = ok && add_num(o, "handshakes_confirmed", (double)p->handshakes_confirmed);
	if (p->rtt_n) {
		ok = ok && add_num(o, "handshake_rtt_min_ms", p->rtt_min_ms);
		ok = ok && add_num(o, "handshake_rtt_avg_ms", p->rtt_sum_ms / p->rtt_n);
		ok = ok && add_num(o, "handshake_rtt_max_ms", p->rtt_max_ms);
	}
	ok = ok && add_num(o, "cookie_replies_tx", (double)p->cookie_replies_tx);
	ok = ok && add_num(o, "cookie_replies_rx", (double)p->cookie_replies_rx);
	ok = ok && add_num(o, "data_tx_packets", (double)p->data_tx_packets);
	ok = ok && add_num(o, "data_rx_packets", (double)p->data_rx_packets);
	ok = ok && add_num(o, "data_tx_bytes", (double)p->data_tx_bytes);
	ok = ok && add_num(o, "data_rx_bytes", (double)p->data_rx_bytes);
	ok = ok && add_num(o, "keepalives_tx", (double)p->keepalives_tx);
	ok = ok && add_num(o, "keepalives_rx", (double)p->keepalives_rx);
	ok = ok && add_num(o, "disco", (double)p->disco);
	ok = ok && add_num(o, "non_wg", (double)p->non_wg);
	ok = ok && add_num(o, "endpoint_changes", (double)p->endpoint_changes);
	ok = ok && add_num(o, "max_init_burst", p->max_init_burst);
	wg_fmt_time(p->first_us, buf, sizeof(buf));
	ok = ok && cJSON_AddStringToObject(o, "first_seen", buf);
	wg_fmt_time(p->last_us, buf, sizeof(buf));
	ok = ok && cJSON_AddStringToObject(o, "last_seen", buf);
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

int wg_analyser_table_json(const struct wg_analyser *a, char **out)
{
	struct wg_pair *rows = calloc(WG_TABLE_ROWS, sizeof(*rows));
	size_t n = rows ? wg_analyser_pairs(a, rows, WG_TABLE_ROWS) : 0;
	cJSON *arr = rows ? cJSON_CreateArray() : NULL;

	*out = NULL;
	if (!arr) {
		free(rows);
		return MD_ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		cJSON *o = pair_json(&rows[i]);

		if (!o) {
			cJSON_Delete(arr);
			free(rows);
			return MD_ENOMEM;
		}
		cJSON_AddItemToArray(arr, o);
	}
	free(rows);
	*out = cJSON_PrintUnformatted(arr);
	cJSON_Delete(arr);
	return *out ? MD_OK : MD_ENOMEM;
}

/* ------------------------------------------------------------------------------------ */
/* Facts                                                                                */
/* ------------------------------------------------------------------------------------ */

static int fact_n(struct md_facts *f, const struct wg_analyser *a, const char *name, uint64_t v,
		  const char *evidence)
{
	if (!evidence)
		evidence = wg_analyser_example(a, name);
	return md_fact_int(f, PROBE, name, (int64_t)v, evidence);
}

int wg_analyser_record(const struct wg_analyser *a, struct md_facts *f, const char *source,
		       double seconds)
{
	const struct wg_totals *t = &a->t;
	char ev[512], label[160];
	double med;
	int rc = 0;
	char *json = NULL;
	const char *basis = "none";
	bool have_rtt = wg_analyser_rtt_median_ms(a, &med);

	snprintf(ev, sizeof(ev), "%llu frames read, %llu on the WireGuard ports",
		 (unsigned long long)t->frames, (unsigned long long)t->packets);
	rc |= md_fact_str(f, PROBE, "wg.source", source, ev);
	rc |= md_fact_real(f, PROBE, "wg.capture_seconds", seconds, NULL);
	rc |= fact_n(f, a, "wg.packets", t->packets, ev);
	rc |= fact_n(f, a, "wg.messages", t->messages,
		     "valid WireGuard messages (types 1-4 with the right size and reserved zero "
		     "bytes)");
	rc |= fact_n(f, a, "wg.initiations", t->initiations, NULL);
	rc |= fact_n(f, a, "wg.initiations_tx", t->initiations_tx, NULL);
	rc |= fact_n(f, a, "wg.initiations_rx", t->initiations_rx, NULL);
	rc |= fact_n(f, a, "wg.responses", t->responses, NULL);
	rc |= fact_n(f, a, "wg.responses_tx", t->responses_tx, wg_analyser_example(a, "wg.responses"));
	rc |= fact_n(f, a, "wg.responses_rx", t->responses_rx, wg_analyser_example(a, "wg.responses"));
	rc |= fact_n(f, a, "wg.cookie_replies", t->cookie_replies, NULL);
	rc |= fact_n(f, a, "wg.cookie_replies_tx", t->cookie_replies_tx,
		     wg_analyser_example(a, "wg.cookie_replies"));
	rc |= fact_n(f, a, "wg.cookie_replies_rx", t->cookie_replies_rx,
		     wg_analyser_example(a, "wg.cookie_replies"));
	snprintf(ev, sizeof(ev), "%llu bytes", (unsigned long long)t->data_tx_bytes);
	rc |= fact_n(f, a, "wg.data_tx_packets", t->data_tx_packets, ev);
	rc |= fact_n(f, a, "wg.data_tx_bytes", t->data_tx_bytes, NULL);
	snprintf(ev, sizeof(ev), "%llu bytes", (unsigned long long)t->data_rx_bytes);
	rc |= fact_n(f, a, "wg.data_rx_packets", t->data_rx_packets, ev);
	rc |= fact_n(f, a, "wg.data_rx_bytes", t->data_rx_bytes, NULL);
	rc |= fact_n(f, a, "wg.keepalives", t->keepalives, NULL);
	rc |= fact_n(f, a, "wg.disco", t->disco, NULL);
	rc |= fact_n(f, a, "wg.non_wg", t->non_wg, NULL);
	rc |= fact_n(f, a, "wg.bad_size", t->bad_size, NULL);
	rc |= fact_n(f, a, "wg.fragments", t->fragments, NULL);
	rc |= fact_n(f, a, "wg.truncated", t->truncated, NULL);
	snprintf(ev, sizeof(ev), "responses matched to an initiation by index; %llu confirmed by "
		 "a transport message", (unsigned long long)t->handshakes_confirmed);
	rc |= fact_n(f, a, "wg.handshakes_completed", t->handshakes_completed, ev);
	rc |= fact_n(f, a, "wg.handshakes_confirmed", t->handshakes_confirmed, NULL);
	if (have_rtt) {
		double lo = med, hi = med;
		size_t n = t->rtt_n < WG_RTT_SAMPLES ? (size_t)t->rtt_n : WG_RTT_SAMPLES;

		for (size_t i = 0; i < n; i++) {
			lo = a->rtt[i] < lo ? a->rtt[i] : lo;
			hi = a->rtt[i] > hi ? a->rtt[i] : hi;
		}
		snprintf(ev, sizeof(ev), "median of %llu handshakes (min %.3f ms, max %.3f ms), "
			 "initiation to response as captured", (unsigned long long)t->rtt_n, lo, hi);
		rc |= md_fact_real(f, PROBE, "wg.handshake_rtt_ms", med, ev);
	}
	rc |= fact_n(f, a, "wg.max_init_burst", t->max_init_burst, NULL);
	snprintf(ev, sizeof(ev), "%llu evicted from the table of %d", (unsigned long long)
		 t->endpoints_evicted, WG_MAX_PAIRS);
	rc |= fact_n(f, a, "wg.endpoints", t->endpoints, ev);
	rc |= fact_n(f, a, "wg.endpoint_changes", t->endpoint_changes, NULL);
	if (t->basis_seen) {
		int n = 0;

		for (int b = 0; b < 3; b++)
			if (t->basis_seen >> b & 1) {
				basis = wg_basis_name((enum wg_basis)b);
				n++;
			}
		if (n > 1)
			basis = "mixed";
	}
	rc |= md_fact_str(f, PROBE, "wg.direction_basis", basis,
			  "tx = sent by the local side: a local address, else the side that is "
			  "not the target, else the first initiator");

	/* Checklist: what the capture saw, step by step (the value follows the label). */
	rc |= md_fact_check(f, "wg.messages", t->messages ? MD_CHECK_OK : MD_CHECK_WARN,
			    t->messages ? "WireGuard packets seen" : "No WireGuard packets seen");
	if (t->initiations || t->responses) {
		if (t->handshakes_completed) {
			snprintf(label, sizeof(label), "WireGuard handshakes completed (median RTT "
				 "%.1f ms)", med);
			rc |= md_fact_check(f, "wg.handshakes_completed", MD_CHECK_OK, label);
		} else {
			snprintf(label, sizeof(label), "WireGuard handshakes completed (%llu "
				 "initiations, %llu responses)", (unsigned long long)t->initiations,
				 (unsigned long long)t->responses);
			rc |= md_fact_check(f, "wg.handshakes_completed", MD_CHECK_FAIL, label);
		}
	}
	if (t->messages) {
		snprintf(label, sizeof(label), "Tunnel data received (sent: %llu)",
			 (unsigned long long)t->data_tx_packets);
		rc |= md_fact_check(f, "wg.data_rx_packets",
				    t->data_tx_packets && t->data_rx_packets ? MD_CHECK_OK
									      : MD_CHECK_WARN,
				    label);
	}
	if (rc)
		return MD_ENOMEM;
	rc = wg_analyser_table_json(a, &json);
	if (rc == MD_OK)
		rc = md_facts_table(f, PROBE, "endpoints", json);
	free(json);
	return rc;
}

/* ------------------------------------------------------------------------------------ */
/* Offline reading                                                                      */
/* ------------------------------------------------------------------------------------ */

/* libpcap reads every record with fread(): a 128 KiB stdio buffer means few read(2)
 * calls while the buffer still sits in L2 for the second copy (into libpcap's packet
 * buffer).  Measured on 100 MB from the page cache: 4 KiB (the default) 45 ms, 128 KiB
 * 25 ms, 1 MiB 76 ms (the kernel's copy then misses the cache). */
#define READ_BUF (128u << 10)

int wg_read_pcap(struct wg_analyser *a, const char *path, const struct md_deadline *dl,
		 uint64_t *frames_read, int *dlt_out, struct md_err *err)
{
	char errbuf[PCAP_ERRBUF_SIZE] = "";
	struct pcap_pkthdr *h;
	const u_char *data;
	uint64_t n = 0;
	char *buf = NULL;
	pcap_t *p = NULL;
	FILE *fp;
	int rc = MD_OK, r, dlt;

	if (frames_read)
		*frames_read = 0;
	if (dlt_out)
		*dlt_out = -1;
	fp = fopen(path, "rb");
	if (!fp)
		return md_err_set(err, MD_EINVAL, "pcap", "open %s: %s", path, strerror(errno));
	/* Page-aligned: the kernel's copy into a buffer at a 16-byte offset ran 4x slower
	 * (seen when earlier allocations had moved malloc's mmap threshold). */
	buf = aligned_alloc(4096, READ_BUF);
	if (buf)
		setvbuf(fp, buf, _IOFBF, READ_BUF);
	posix_fadvise(fileno(fp), 0, 0, POSIX_FADV_SEQUENTIAL);
	/* Only this thread reads fp: libpcap makes two fread() calls per frame, and
	 * stdio's per-call lock is then a measurable share of the read. */
	__fsetlocking(fp, FSETLOCKING_BYCALLER);
	/* pcap_fopen_offline() owns fp from here on (pcap_close() closes it), and reads
	 * both pcap and pcapng. */
	p = pcap_fopen_offline(fp, errbuf);
	if (!p) {
		fclose(fp);
		rc = md_err_set(err, MD_EINVAL, "pcap", "open %s: %s", path, errbuf);
		goto out;
	}
	dlt = pcap_datalink(p);
	if (dlt_out)
		*dlt_out = dlt;
	if (!wg_link_supported(dlt)) {
		const char *name = pcap_datalink_val_to_name(dlt);

		rc = md_err_set(err, MD_EINVAL, "pcap", "read %s: link type %s (%d) is not decoded "
				"(Ethernet, Linux cooked SLL/SLL2, raw IP and loopback are)", path,
				name ? name : "?", dlt);
		goto out;
	}
	while ((r = pcap_next_ex(p, &h, &data)) == 1) {
		wg_analyser_frame(a, dlt, (int64_t)h->ts.tv_sec * 1000000 + h->ts.tv_usec, data,
				  h->caplen, h->len);
		if ((++n & 0xfff) == 0 && md_deadline_left_ms(dl) <= 0) {
			rc = md_err_set(err, MD_ETIMEOUT, "pcap",
					"read %s: deadline passed after %llu frames", path,
					(unsigned long long)n);
			goto out;
		}
	}
	if (r == PCAP_ERROR)
		rc = md_err_set(err, MD_EIO, "pcap", "read %s: %s (after %llu frames)", path,
				pcap_geterr(p), (unsigned long long)n);
out:
	if (frames_read)
		*frames_read = n;
	if (p)
		pcap_close(p);
	free(buf);
	return rc;
}
