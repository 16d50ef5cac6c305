/* Weight codes (survey VII-A3 to VII-A5): what each code of a coded_conv's
 * weights stands for. One definition, used by the quantize pass to choose
 * codes, by the reference executor to run them and by the weights file to
 * check them; the cpu kernels decode the same values in registers
 * (codegen/kernels/coded_conv.c) and are compared with the reference.
 *
 *   log2<b>      bit b-1 the sign, the low b-1 bits a magnitude m:
 *                m = 0 is 0, else (sign ? -1 : 1) * scale * 2^-(m-1)
 *   codebook<b>  codebook[code], 2^b centroids
 *   binary       1: +scale, 0: -scale                        (BWN)
 *   ternary      0: 0, 1: +scale, 3: -scale (2-bit two's complement;
 *                2 is not a code)                            (TWN)
 */
#ifndef DNNC_WEIGHT_CODE_H
#define DNNC_WEIGHT_CODE_H

#include <stdbool.h>
#include <stdint.h>

#include "types.h"

/* The storage bits of one code of type t (1 to 8). */
int weight_code_bits(ElemType t);
/* Whether `code` is one of type t's codes. */
bool weight_code_valid(ElemType t, uint8_t code);
/* The value of a valid code; scale is its filter's (unused by codebook),
 * codebook the layer's (codebook only). */
float weight_code_value(ElemType t, uint8_t code, float scale, const float *codebook);

#endif
