#include "progress.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void progress_start(Progress *p, const char *label, int64_t total)
{
    p->label = label;
    p->total = total > 0 ? total : 1;
    p->done = 0;
    p->enabled = isatty(fileno(stderr));
    p->start = now_seconds();
    p->last_draw = 0;
}

static void draw(Progress *p, double now)
{
    const int width = 30;
    int filled = (int)(width * p->done / p->total);
    fprintf(stderr, "\r%s [", p->label);
    for (int i = 0; i < width; i++)
        fputc(i < filled ? '#' : '.', stderr);
    fprintf(stderr, "] %lld/%lld %.1fs", (long long)p->done, (long long)p->total, now - p->start);
    fflush(stderr);
}

void progress_step(Progress *p, int64_t done)
{
    p->done = done;
    if (!p->enabled)
        return;
    double now = now_seconds();
    /* Only after the first second, and at most ten times a second. */
    if (now - p->start < 1.0 || now - p->last_draw < 0.1)
        return;
    p->last_draw = now;
    draw(p, now);
}

void progress_finish(Progress *p)
{
    if (p->enabled && p->last_draw > 0) {
        p->done = p->total;
        draw(p, now_seconds());
        fputc('\n', stderr);
    }
}
