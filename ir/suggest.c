#include "suggest.h"

#include <string.h>

#define MAX_WORD 64

static int min3(int a, int b, int c) { return a < b ? (a < c ? a : c) : (b < c ? b : c); }

/* Edit distance where swapping two adjacent letters is one edit (optimal
 * string alignment), three rows; words longer than MAX_WORD never match. */
static int edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > MAX_WORD || lb > MAX_WORD)
        return MAX_WORD;
    int before[MAX_WORD + 1], prev[MAX_WORD + 1], cur[MAX_WORD + 1];
    for (size_t j = 0; j <= lb; j++)
        prev[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            cur[j] = min3(prev[j - 1] + (a[i - 1] != b[j - 1]), prev[j] + 1, cur[j - 1] + 1);
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                before[j - 2] + 1 < cur[j])
                cur[j] = before[j - 2] + 1;
        }
        memcpy(before, prev, sizeof(int) * (lb + 1));
        memcpy(prev, cur, sizeof(int) * (lb + 1));
    }
    return prev[lb];
}

const char *suggest(const char *word, const char *const *candidates, int n)
{
    const char *best = NULL;
    int best_d = MAX_WORD;
    for (int i = 0; i < n; i++) {
        int d = edit_distance(word, candidates[i]);
        if (d < best_d) {
            best_d = d;
            best = candidates[i];
        }
    }
    /* One edit in short words, two in longer ones. */
    int limit = strlen(word) <= 4 ? 1 : 2;
    return best_d <= limit ? best : NULL;
}
