/* "Did you mean ...?" for misspelt op, attribute and layer names. */
#ifndef DNNC_SUGGEST_H
#define DNNC_SUGGEST_H

/* The candidate closest to `word` by edit distance, if it is close enough to
 * be a plausible typo; NULL otherwise. */
const char *suggest(const char *word, const char *const *candidates, int n);

#endif
