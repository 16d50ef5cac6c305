/* profile_marks.h: the marks in a fixed table, the time of each mark. */
#include "profile_marks.h"

#include <stdlib.h>

#include "progress.h"

#define MAX_MARKS 65536
static double mark_time[MAX_MARKS];
static int mark_count;

/* Called by the generated code; the JIT resolves it in this process. */
void dnnc_profile_mark(int k);
void dnnc_profile_mark(int k)
{
    if (k >= 0 && k < MAX_MARKS)
        mark_time[k] = now_seconds();
    mark_count = k + 1 > mark_count ? k + 1 : mark_count;
}

void profile_marks_reset(void) { mark_count = 0; }

int profile_marks_count(void) { return mark_count < MAX_MARKS ? mark_count : MAX_MARKS; }

double profile_mark_seconds(int k, double start)
{
    return mark_time[k] - (k ? mark_time[k - 1] : start);
}

static int compare_doubles(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

double median_of(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, compare_doubles);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}
