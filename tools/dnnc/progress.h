/* A progress bar on stderr for work that takes more than a moment; silent
 * when stderr is not a terminal, so logs and tests stay clean. */
#ifndef DNNC_PROGRESS_H
#define DNNC_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

typedef struct Progress {
    const char *label;
    int64_t total, done;
    bool enabled;
    double start, last_draw;
} Progress;

void progress_start(Progress *p, const char *label, int64_t total);
void progress_step(Progress *p, int64_t done);
void progress_finish(Progress *p);
/* Seconds on a monotonic clock. */
double now_seconds(void);

#endif
