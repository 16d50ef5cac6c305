/* Run-length coding of activations between DRAM and the global buffer
 * (survey VII-B1, Eyeriss): a stream of words as (zero run, value) pairs,
 * rlc.word_bits / (rlc.run_bits + word_bits) pairs to a DRAM word. Each
 * non-zero value closes a pair; a run as long as the run field can count
 * closes one with the zero that follows it as its value; zeros at the end
 * of the stream make a last pair (run - 1, 0). A decoder that knows how
 * many values the stream holds (the box of the ld or st) reads it back. */
#ifndef DNNC_SIM_RLC_H
#define DNNC_SIM_RLC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "isa_machine.h"

typedef struct SimRlcPair {
    int64_t run;    /* zeros before the value, at most 2^run_bits - 1 */
    uint64_t value; /* the value's word_bits bits, two's complement */
} SimRlcPair;

/* Codes n values into pairs (room for n: there are never more pairs than
 * values) and sets *pairs. False when a value does not fit the machine's
 * word (it would not survive the value field). */
bool sim_rlc_encode(const IsaMachine *m, const int64_t *v, int64_t n, SimRlcPair *out,
                    int64_t *pairs, char *err, size_t errsz);

/* Decodes pairs back into exactly n values. False when the pairs do not
 * make n values. */
bool sim_rlc_decode(const IsaMachine *m, const SimRlcPair *p, int64_t pairs, int64_t *out,
                    int64_t n, char *err, size_t errsz);

/* The machine words (of word_bits) that `pairs` pairs take in DRAM, never
 * more than the `raw` words uncoded: the encoder falls back to raw words. */
double sim_rlc_words(const IsaMachine *m, int64_t pairs, int64_t raw);

/* Codes n values and decodes them again in place (what a transfer
 * through the coder does to them), setting *words to the DRAM words the
 * coded stream took. */
bool sim_rlc_through(const IsaMachine *m, int64_t *v, int64_t n, double *words, char *err,
                     size_t errsz);

#endif
