/* The per-call marks of code JIT-compiled with CodegenOptions.profile: the
 * generated code calls dnnc_profile_mark(k) after its k-th kernel call,
 * which records the time. dnnc bench --per-layer and --autotune read them. */
#ifndef DNNC_PROFILE_MARKS_H
#define DNNC_PROFILE_MARKS_H

/* Forget the marks of the last run; call before each. */
void profile_marks_reset(void);
/* Calls marked in the last run. */
int profile_marks_count(void);
/* The seconds call k of the last run took (from the previous mark, or from
 * `start` for the first). */
double profile_mark_seconds(int k, double start);

/* The median of v[0..n) (n >= 1), which it sorts. */
double median_of(double *v, int n);

#endif
