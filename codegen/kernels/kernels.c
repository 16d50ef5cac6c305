/* The kernel library in one translation unit, compiled to bitcode. */
#include "conv.c"
#include "eltwise.c"
#include "norm.c"
#include "pool.c"
#include "quant.c"
#include "tensor.c"
