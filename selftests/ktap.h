/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Minimal KTAP output for the snapblk C selftests (the subset of
 * tools/testing/selftests/kselftest.h that they need).
 *
 * A test calls ktap_plan(N), then for every case ktap_pass(), ktap_fail()
 * or ktap_skip(), with diagnostics through ktap_diag(), and ends with
 * ktap_finish(), which exits with the kselftest code: 0 pass, 1 fail,
 * 4 skip.
 */
#ifndef SNAPBLK_KTAP_H
#define SNAPBLK_KTAP_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#define KSFT_PASS	0
#define KSFT_FAIL	1
#define KSFT_SKIP	4

static unsigned int ktap_nr, ktap_planned, ktap_npass, ktap_nfail, ktap_nskip;

static inline void ktap_plan(unsigned int n)
{
	ktap_planned = n;
	printf("TAP version 13\n1..%u\n", n);
	fflush(stdout);
}

static inline void __attribute__((format(printf, 1, 2)))
ktap_diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

static inline void ktap_pass(const char *name)
{
	ktap_npass++;
	printf("ok %u %s\n", ++ktap_nr, name);
	fflush(stdout);
}

static inline void ktap_fail(const char *name)
{
	ktap_nfail++;
	printf("not ok %u %s\n", ++ktap_nr, name);
	fflush(stdout);
}

static inline void ktap_skip(const char *name, const char *why)
{
	ktap_nskip++;
	printf("ok %u %s # SKIP %s\n", ++ktap_nr, name, why);
	fflush(stdout);
}

static inline void ktap_result(const char *name, int ok)
{
	if (ok)
		ktap_pass(name);
	else
		ktap_fail(name);
}

static inline void ktap_skip_all(const char *why)
{
	printf("TAP version 13\n1..0 # SKIP %s\n", why);
	exit(KSFT_SKIP);
}

static inline void __attribute__((noreturn)) ktap_finish(void)
{
	printf("# Totals: pass:%u fail:%u xfail:0 xpass:0 skip:%u error:0\n",
	       ktap_npass, ktap_nfail, ktap_nskip);
	fflush(stdout);
	if (ktap_nfail || ktap_nr != ktap_planned)
		exit(KSFT_FAIL);
	if (ktap_nskip == ktap_nr)
		exit(KSFT_SKIP);
	exit(KSFT_PASS);
}

#endif /* SNAPBLK_KTAP_H */
