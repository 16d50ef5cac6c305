#include "weight_code.h"

#include <math.h>

int weight_code_bits(ElemType t)
{
    switch (t.kind) {
    case ELEM_BINARY: return 1;
    case ELEM_TERNARY: return 2;
    default: return t.bits;
    }
}

bool weight_code_valid(ElemType t, uint8_t code)
{
    if (t.kind == ELEM_TERNARY)
        return code == 0 || code == 1 || code == 3;
    return code < (1u << weight_code_bits(t));
}

/* log2: the exponent is applied by ldexpf, exact for every normal result. */
static float log2_value(int bits, uint8_t code, float scale)
{
    int magnitude = code & ((1 << (bits - 1)) - 1);
    if (magnitude == 0)
        return 0.0f;
    float v = ldexpf(scale, -(magnitude - 1));
    return code >> (bits - 1) ? -v : v;
}

float weight_code_value(ElemType t, uint8_t code, float scale, const float *codebook)
{
    switch (t.kind) {
    case ELEM_LOG2: return log2_value(t.bits, code, scale);
    case ELEM_CODEBOOK: return codebook[code];
    case ELEM_BINARY: return code ? scale : -scale;
    case ELEM_TERNARY: return code == 0 ? 0.0f : code == 1 ? scale : -scale;
    default: return NAN;
    }
}
