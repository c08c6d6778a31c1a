/* fixture.h — the files of fixtures/ in criterion unit tests (run from the repository
 * root).  Header-only: the support library itself does not link criterion. */
#ifndef MD_TESTS_FIXTURE_H
#define MD_TESTS_FIXTURE_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

/* The whole of fixtures/DIR/NAME, NUL-terminated and malloc'd (the caller frees); the
 * test fails when it cannot be read. */
static inline char *test_fixture(const char *dir, const char *name)
{
	char path[512];
	FILE *f;
	long n;
	char *s;

	snprintf(path, sizeof(path), "fixtures/%s/%s", dir, name);
	f = fopen(path, "rb");
	cr_assert_not_null(f, "open %s (run from the repository root)", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	s = calloc(1, (size_t)n + 1);
	cr_assert_not_null(s);
	cr_assert_eq(fread(s, 1, (size_t)n, f), (size_t)n, "read %s", path);
	fclose(f);
	return s;
}

#endif
