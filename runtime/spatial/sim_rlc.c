/* Run-length coding of activations (sim_rlc.h). */
#include "sim_rlc.h"

#include <stdio.h>
#include <stdlib.h>

static int64_t max_run(const IsaMachine *m) { return ((int64_t)1 << m->rlc_run_bits) - 1; }

static uint64_t value_mask(const IsaMachine *m)
{
    return m->word_bits >= 64 ? UINT64_MAX : ((uint64_t)1 << m->word_bits) - 1;
}

static bool fits_word(const IsaMachine *m, int64_t v)
{
    if (m->word_bits >= 64)
        return true;
    int64_t hi = ((int64_t)1 << (m->word_bits - 1)) - 1;
    return v >= -hi - 1 && v <= hi;
}

bool sim_rlc_encode(const IsaMachine *m, const int64_t *v, int64_t n, SimRlcPair *out,
                    int64_t *pairs, char *err, size_t errsz)
{
    int64_t k = 0, run = 0;
    for (int64_t i = 0; i < n; i++) {
        if (!fits_word(m, v[i])) {
            snprintf(err, errsz, "the value %lld does not fit the RLC value field of %lld bits",
                     (long long)v[i], (long long)m->word_bits);
            return false;
        }
        if (v[i] == 0 && run < max_run(m)) {
            run++;
            continue;
        }
        out[k++] = (SimRlcPair){run, (uint64_t)v[i] & value_mask(m)};
        run = 0;
    }
    if (run > 0) /* trailing zeros: the last of them is the pair's value */
        out[k++] = (SimRlcPair){run - 1, 0};
    *pairs = k;
    return true;
}

/* The value field's bits as a signed word. */
static int64_t sign_extend(const IsaMachine *m, uint64_t bits)
{
    if (m->word_bits >= 64)
        return (int64_t)bits;
    uint64_t sign = (uint64_t)1 << (m->word_bits - 1);
    return (int64_t)((bits ^ sign) - sign);
}

bool sim_rlc_decode(const IsaMachine *m, const SimRlcPair *p, int64_t pairs, int64_t *out,
                    int64_t n, char *err, size_t errsz)
{
    int64_t k = 0;
    for (int64_t i = 0; i < pairs; i++) {
        if (p[i].run < 0 || p[i].run > max_run(m) || p[i].run >= n - k) {
            snprintf(err, errsz, "RLC pair %lld runs past the %lld values of its stream",
                     (long long)i, (long long)n);
            return false;
        }
        for (int64_t z = 0; z < p[i].run; z++)
            out[k++] = 0;
        out[k++] = sign_extend(m, p[i].value);
    }
    if (k != n) {
        snprintf(err, errsz, "RLC stream decodes to %lld values, expected %lld", (long long)k,
                 (long long)n);
        return false;
    }
    return true;
}

double sim_rlc_words(const IsaMachine *m, int64_t pairs, int64_t raw)
{
    int64_t per_word = m->rlc_word_bits / (m->rlc_run_bits + m->word_bits);
    if (per_word < 1) /* no pair fits a word: the encoder sends raw words */
        return (double)raw;
    double words = (double)pairs * (double)m->rlc_word_bits / (double)per_word /
                   (double)m->word_bits;
    return words < (double)raw ? words : (double)raw;
}

bool sim_rlc_through(const IsaMachine *m, int64_t *v, int64_t n, double *words, char *err,
                     size_t errsz)
{
    SimRlcPair *pairs = malloc((size_t)(n > 0 ? n : 1) * sizeof *pairs);
    if (!pairs) {
        snprintf(err, errsz, "out of memory for %lld RLC pairs", (long long)n);
        return false;
    }
    int64_t np = 0;
    bool ok = sim_rlc_encode(m, v, n, pairs, &np, err, errsz) &&
              sim_rlc_decode(m, pairs, np, v, n, err, errsz);
    *words = ok ? sim_rlc_words(m, np, n) : 0;
    free(pairs);
    return ok;
}
