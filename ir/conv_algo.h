/* What each convolution algorithm of @algo takes and where it applies
 * (survey V-A): the tile parameter of Winograd and FFT, its default, and
 * the layers each algorithm can compute. One table, read by the front end
 * (is `tile=` valid?), by select-algo (does the algorithm apply? which tile
 * runs?) and by the reference executor (the tile of a graph that has not
 * been through select-algo). */
#ifndef DNNC_CONV_ALGO_H
#define DNNC_CONV_ALGO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "graph.h"

/* One way to run a conv: an algorithm and its tile (0 for algorithms
 * without one). select-algo weighs these; --autotune's file names them
 * "winograd/4", "im2col". */
typedef struct AlgoChoice {
    ConvAlgo algo;
    int tile;
} AlgoChoice;

/* Whether a and b are the same algorithm with the same tile. */
bool algo_choice_same(AlgoChoice a, AlgoChoice b);
/* "winograd/4" or "im2col" into buf. */
void algo_choice_text(AlgoChoice c, char *buf, size_t size);
/* The inverse of algo_choice_text for the `len` characters at s: false
 * unless they name an algorithm other than auto with one of its tiles
 * (and a tile exactly when the algorithm takes one). */
bool algo_choice_parse(const char *s, size_t len, AlgoChoice *out);

/* As algo_choice_parse, for a whole string, also accepting an algorithm
 * with a tile but none given ("winograd": tile 0, the layer's default),
 * as --conv-algo does. */
bool algo_choice_parse_option(const char *s, AlgoChoice *out);

/* Whether algorithm a takes a tile parameter (winograd and fft do). */
bool conv_algo_has_tile(ConvAlgo a);
/* Whether `tile` is one of a's tiles; false for algorithms without one. */
bool conv_algo_tile_valid(ConvAlgo a, int64_t tile);
/* a's tiles, ascending, in *tiles; their number (0 without a tile). */
int conv_algo_tiles(ConvAlgo a, const int **tiles);
/* For messages: a's tiles ("2, 4 or 6") and what the tile is ("the output
 * tile m of F(m x m, 3 x 3)"); "" for algorithms without a tile. */
const char *conv_algo_tile_list(ConvAlgo a);
const char *conv_algo_tile_meaning(ConvAlgo a);
/* The tile a runs a conv with when none was written; 0 for algorithms
 * without a tile. */
int conv_algo_default_tile(ConvAlgo a, const ConvAttrs *at);
/* The tile that runs: `tile` when set, else the default. */
int conv_algo_tile(ConvAlgo a, int tile, const ConvAttrs *at);
/* The outputs along one dimension of one tile of a (Winograd or FFT) with
 * tile `tile` on a kernel of `kernel` taps there: Winograd F(m x m) makes
 * m, an FFT of size T overlap-saves T - kernel + 1. */
int64_t conv_algo_output_tile(ConvAlgo a, int tile, int64_t kernel);
/* Whether a can compute the conv `at` with tile `tile` (0: the default);
 * if not, why ("Winograd F(m x m, 3 x 3) needs ..., not kernel 5x5"). */
bool conv_algo_applies(ConvAlgo a, const ConvAttrs *at, int tile, char *why, size_t whysz);

/* ---- multiplications (dnnc stats; docs/fast-convolution.md, "Counting
 * multiplications") ---- */

/* What a conv costs in multiplications under one algorithm: the survey's
 * measure of fast convolution (V-A: F(2x2, 3x3) needs 2.25 times fewer).
 *   products    the multiplications that combine inputs with weights. Direct
 *               and im2col: one per weight per output, the MACs. Winograd
 *               F(m x m, 3 x 3): the element-wise products, alpha^2 =
 *               (m + 2)^2 per (tile, output channel, channel of its group).
 *               FFT of size T: the frequency-domain products, T (T/2 + 1)
 *               complex ones per (tile, output channel, channel of its
 *               group), each 4 real multiplications.
 *   transforms  the multiplications of the input and output transforms,
 *               apart: Winograd's by the matrix entries other than 0 and
 *               +-1 (F(2x2) has none), the FFT's 4 per butterfly. The
 *               filters' transforms are done once, ahead of time, and
 *               counted in neither.
 * Tiles are counted whole, partial ones at the edges included. Both counts
 * saturate at INT64_MAX. */
typedef struct ConvMultiplications {
    int64_t products;
    int64_t transforms;
} ConvMultiplications;

/* The multiplications of the conv `at` from shape `is` to shape `os` by
 * algorithm a with tile `tile` (0: a's default). auto, and an algorithm
 * that cannot compute the layer, count as the direct sums: that is what
 * runs them (a target that leaves auto runs direct sums; the reference
 * falls back to them). */
ConvMultiplications conv_algo_multiplications(const ConvAttrs *at, const Shape *is,
                                              const Shape *os, ConvAlgo a, int tile);

#endif
