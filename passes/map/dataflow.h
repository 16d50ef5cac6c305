/* The dataflows of survey Section V-B as data: what each keeps in the RF,
 * which dimensions it spreads over the rows and columns of the PE array,
 * and which loops run inside a PE. The model and the search read only this
 * table; no code asks which dataflow it is looking at. */
#ifndef DNNC_MAP_DATAFLOW_H
#define DNNC_MAP_DATAFLOW_H

#include "map.h"

/* How the array moves a data type that bypasses the RF. */
typedef enum {
    ARRAY_PER_STEP, /* multicast / spatially reduced within one step, nothing kept after */
    ARRAY_NEIGHBOUR,/* delay registers pass values to neighbouring PEs across steps
                       (ShiDianNao's ifmap propagation): the buffer sends each once */
} ArrayReuse;

typedef struct DataflowSpec {
    Dataflow id;
    const char *title;
    unsigned rf_holds;     /* bit per DataType kept in the RF; the rest bypass it */
    unsigned row_dims;     /* dimensions the PE rows may take */
    unsigned col_dims;     /* dimensions the PE columns may take */
    unsigned fold_dims;    /* may go on rows too, only once the columns are full (Fig. 32 folding) */
    unsigned whole_on_rows;/* must be whole on the rows when they fit (RS: a filter's rows) */
    Dim pe_order[DIM_COUNT]; /* streamed loops in a PE, outer to inner */
    int n_pe;
    unsigned rf_dims;      /* loops over operands resident in the RF */
    unsigned whole_in_rf;  /* must be whole in the RF (RS: a filter row) */
    ArrayReuse array_reuse[DATA_COUNT]; /* for the types that bypass the RF */
    const char *summary;   /* one line for reports and docs */
} DataflowSpec;

#define DATA_BIT(t) (1u << (t))

/* The spec of d (not DATAFLOW_AUTO). */
const DataflowSpec *dataflow_spec(Dataflow d);

/* The dataflows in report order: ws, os-a, os-b, os-c, nlr, rs. */
extern const Dataflow dataflow_list[];
extern const int dataflow_count;

#endif
