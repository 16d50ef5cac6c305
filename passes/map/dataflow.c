#include "dataflow.h"

#define N DIM_BIT(DIM_N)
#define M DIM_BIT(DIM_M)
#define C DIM_BIT(DIM_C)
#define P DIM_BIT(DIM_P)
#define Q DIM_BIT(DIM_Q)
#define R DIM_BIT(DIM_R)
#define S DIM_BIT(DIM_S)

#define IFMAP DATA_BIT(DATA_IFMAP)
#define FILTER DATA_BIT(DATA_FILTER)
#define PSUM DATA_BIT(DATA_PSUM)

static const DataflowSpec specs[] = {
    /* Weight stationary (Fig. 25a; nn-X/neuFlow): each PE keeps weights in
     * its RF and streams every input and output position past them. As in
     * nn-X's 2-D convolution engines, the rows hold the taps of a filter
     * plane, whose psums accumulate spatially; the columns hold different
     * filters, to which inputs are multicast. Accumulation across channels
     * goes through the buffer. */
    {DATAFLOW_WS, "weight stationary", FILTER,
     .row_dims = R | S, .col_dims = M,
     .pe_order = {DIM_N, DIM_P, DIM_Q}, .n_pe = 3,
     .rf_dims = M | C | R | S,
     .summary = "weights stay in the RF; ifmaps multicast, psums accumulate across PEs"},
    /* Output stationary, single output channel, many pixels (OS_A; Fig. 26,
     * ShiDianNao): a PE accumulates one output pixel in its RF; weights are
     * broadcast, inputs pass between neighbouring PEs. */
    {DATAFLOW_OS_A, "output stationary A", PSUM,
     .row_dims = P, .col_dims = Q,
     .rf_dims = C | R | S, .array_reuse[DATA_IFMAP] = ARRAY_NEIGHBOUR,
     .summary = "one output channel, a block of its pixels across the array"},
    /* OS_B: several output channels and several pixels at once. */
    {DATAFLOW_OS_B, "output stationary B", PSUM,
     .row_dims = M, .col_dims = P | Q,
     .rf_dims = C | R | S, .array_reuse[DATA_IFMAP] = ARRAY_NEIGHBOUR,
     .summary = "several output channels x several pixels across the array"},
    /* OS_C: many output channels of one pixel (aimed at FC layers); the
     * images of a batch are the pixels of an FC layer, so the columns may
     * take them too. */
    {DATAFLOW_OS_C, "output stationary C", PSUM,
     .row_dims = M, .col_dims = M | N,
     .rf_dims = C | R | S, .array_reuse[DATA_IFMAP] = ARRAY_NEIGHBOUR,
     .summary = "many output channels of a single pixel across the array"},
    /* No local reuse (Fig. 25c; DianNao-like): no RF; inputs multicast
     * along filters, weights single-cast, psums reduced across the rows and
     * returned to the buffer. */
    {DATAFLOW_NLR, "no local reuse", 0,
     .row_dims = C | R | S, .col_dims = M,
     .summary = "nothing stays in a PE; everything comes from the buffer"},
    /* Row stationary (Figs. 27-32; Eyeriss): a PE runs a 1-D convolution of
     * a filter row over an ifmap row, keeping the filter row, a sliding
     * window of the ifmap and the psums in its RF. A PE set of R rows x P
     * columns computes a 2-D convolution (psums accumulate up a column,
     * ifmap rows are shared along diagonals). Sets are replicated down the
     * rows over channels (whose psums then keep accumulating vertically) or
     * filters, and across the columns over filters or images; a set is
     * folded onto more rows when P exceeds the columns. */
    {DATAFLOW_RS, "row stationary", IFMAP | FILTER | PSUM,
     .row_dims = R | C | M, .col_dims = P | M | N,
     .fold_dims = P, .whole_on_rows = R,
     .pe_order = {DIM_N, DIM_Q}, .n_pe = 2,
     .rf_dims = M | C | S, .whole_in_rf = S,
     .summary = "1-D row convolutions per PE; filter rows, ifmap windows and psums in the RF"},
};

const Dataflow dataflow_list[] = {DATAFLOW_WS, DATAFLOW_OS_A, DATAFLOW_OS_B,
                                  DATAFLOW_OS_C, DATAFLOW_NLR, DATAFLOW_RS};
const int dataflow_count = (int)(sizeof dataflow_list / sizeof *dataflow_list);

const DataflowSpec *dataflow_spec(Dataflow d)
{
    for (size_t i = 0; i < sizeof specs / sizeof *specs; i++)
        if (specs[i].id == d)
            return &specs[i];
    return NULL;
}
