/* test_inventory.c — core/inventory: meshdoctor's format and Ansible's INI inventory, on
 * the fixtures and on each mistake a user makes, named with its line. */
#include "core/inventory.h"
#include "tests/support/fixture.h"

#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

static int parse(const char *text, struct md_inventory *inv, struct md_err *e)
{
	memset(inv, 0, sizeof(*inv));
	memset(e, 0, sizeof(*e));
	return md_inventory_parse(text, strlen(text), inv, e);
}

static void assert_host(const struct md_inventory *inv, size_t i, const char *spec, int line)
{
	cr_assert_lt(i, inv->n, "only %zu hosts", inv->n);
	cr_assert_str_eq(inv->v[i].spec, spec);
	cr_assert_eq(inv->v[i].line, line, "%s: line %d", spec, inv->v[i].line);
}

Test(inventory, plain_format_targets_settings_and_comments)
{
	char *text = test_fixture("inventory", "plain.txt");
	struct md_inventory inv;
	struct md_err e;

	cr_assert_eq(parse(text, &inv, &e), MD_OK, "%s", e.msg);
	cr_assert_eq(inv.n, 5);
	assert_host(&inv, 0, "steve@office-one.local:2222", 2);
	assert_host(&inv, 1, "sfspark1.local", 3);
	assert_host(&inv, 2, "root@10.77.0.2:2200", 4);
	assert_host(&inv, 3, "[fd7a:115c:a1e0::2]:22", 5);
	assert_host(&inv, 4, "Administrator@winbox", 6);
	md_inventory_free(&inv);
	free(text);
}

Test(inventory, ansible_ini_hosts_their_variables_and_sections_without_hosts)
{
	char *text = test_fixture("inventory", "ansible.ini");
	struct md_inventory inv;
	struct md_err e;

	cr_assert_eq(parse(text, &inv, &e), MD_OK, "%s", e.msg);
	/* office-one is in two groups: once; [linux:vars] and [mesh:children] list none. */
	cr_assert_eq(inv.n, 3, "%zu hosts", inv.n);
	assert_host(&inv, 0, "steve@192.168.1.20:2222", 3);
	cr_assert_str_eq(inv.v[0].name, "office-one");
	assert_host(&inv, 1, "sfspark1.local", 4);
	assert_host(&inv, 2, "Administrator@192.168.1.30", 7);
	md_inventory_free(&inv);
	free(text);
}

Test(inventory, each_mistake_names_its_line_and_what_to_write)
{
	static const struct { const char *text, *says; } cases[] = {
		{ "ok-host\nweb[01:50].example.com\n", "line 2: 'web[01:50].example.com': host ranges are not expanded" },
		{ "host prot=22\n", "line 1: unknown setting 'prot' (port=N, user=NAME" },
		{ "host port=22x\n", "line 1: port '22x': give a number from 1 to 65535" },
		{ "host port=0\n", "line 1: port '0'" },
		{ "host port=65536\n", "line 1: port '65536'" },
		{ "host extra\n", "line 1: 'extra' after the host: settings are key=value" },
		{ "\n\na/b\n", "line 3: 'a/b' is not a target" },
		{ "-oProxyCommand=x\n", "line 1: '-oProxyCommand=x': a host name cannot start with '-'" },
		{ "host user=a@b\n", "line 1: user 'a@b': give a user name" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct md_inventory inv;
		struct md_err e;

		cr_assert_eq(parse(cases[i].text, &inv, &e), MD_EINVAL, "case %zu", i);
		cr_assert(strstr(e.msg, cases[i].says), "case %zu: %s", i, e.msg);
		cr_assert_null(strchr(e.msg, '\n'), "one line: %s", e.msg);
		md_inventory_free(&inv);
	}
}

Test(inventory, ansible_variables_are_ignored_but_a_typo_outside_ansible_is_not)
{
	struct md_inventory inv;
	struct md_err e;

	cr_assert_eq(parse("[g]\nh1 foo=bar ansible_become=true\n", &inv, &e), MD_OK, "%s", e.msg);
	cr_assert_eq(inv.n, 1);
	md_inventory_free(&inv);
	cr_assert_eq(parse("h1 ansible_become=true\nh2 foo=bar\n", &inv, &e), MD_EINVAL);
	cr_assert(strstr(e.msg, "line 2: unknown setting 'foo'"), "%s", e.msg);
	md_inventory_free(&inv);
}

Test(inventory, a_bare_ipv6_in_brackets_is_a_host_not_a_section)
{
	struct md_inventory inv;
	struct md_err e;

	cr_assert_eq(parse("[fd7a::2]\nfd7a::3 port=2222\n", &inv, &e), MD_OK, "%s", e.msg);
	cr_assert_eq(inv.n, 2);
	cr_assert_str_eq(inv.v[0].spec, "[fd7a::2]");
	cr_assert_str_eq(inv.v[1].spec, "[fd7a::3]:2222");
	md_inventory_free(&inv);
}

Test(inventory, empty_comments_only_crlf_and_duplicates)
{
	struct md_inventory inv;
	struct md_err e;

	cr_assert_eq(parse("# nothing\n\n   ; here\n", &inv, &e), MD_OK);
	cr_assert_eq(inv.n, 0);
	md_inventory_free(&inv);
	cr_assert_eq(parse("a\r\nb \t\r\na\r\n", &inv, &e), MD_OK, "%s", e.msg);
	cr_assert_eq(inv.n, 2);
	assert_host(&inv, 0, "a", 1);
	assert_host(&inv, 1, "b", 2);
	md_inventory_free(&inv);
}

Test(inventory, nul_bytes_and_overlong_lines_are_refused)
{
	struct md_inventory inv = { 0 };
	struct md_err e = { 0 };
	char *big = malloc(MD_INVENTORY_MAX_LINE + 10);

	cr_assert_eq(md_inventory_parse("a\0b\n", 4, &inv, &e), MD_EINVAL);
	cr_assert(strstr(e.msg, "NUL"), "%s", e.msg);
	memset(big, 'a', MD_INVENTORY_MAX_LINE + 5);
	big[MD_INVENTORY_MAX_LINE + 5] = '\0';
	cr_assert_eq(parse(big, &inv, &e), MD_EINVAL);
	cr_assert(strstr(e.msg, "line 1: longer than"), "%s", e.msg);
	md_inventory_free(&inv);
	free(big);
}
