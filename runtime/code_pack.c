#include "code_pack.h"

#include <string.h>

#include "weight_code.h"

int64_t code_pack_bytes(ElemType t, int64_t count) { return (count * weight_code_bits(t) + 7) / 8; }

void code_pack(ElemType t, const uint8_t *codes, int64_t count, uint8_t *out)
{
    int bits = weight_code_bits(t);
    memset(out, 0, (size_t)code_pack_bytes(t, count));
    for (int64_t i = 0; i < count; i++) {
        int64_t at = i * bits;
        /* A code of up to 8 bits spans at most two bytes. */
        unsigned v = (unsigned)codes[i] << (at % 8);
        out[at / 8] |= (uint8_t)v;
        if (at % 8 + bits > 8)
            out[at / 8 + 1] |= (uint8_t)(v >> 8);
    }
}

bool code_unpack(ElemType t, const uint8_t *packed, int64_t count, uint8_t *codes, int64_t *bad)
{
    int bits = weight_code_bits(t);
    int64_t bytes = code_pack_bytes(t, count);
    for (int64_t i = 0; i < count; i++) {
        int64_t at = i * bits;
        unsigned v = packed[at / 8];
        if (at % 8 + bits > 8)
            v |= (unsigned)packed[at / 8 + 1] << 8;
        codes[i] = (uint8_t)((v >> (at % 8)) & ((1u << bits) - 1));
        if (!weight_code_valid(t, codes[i])) {
            *bad = i;
            return false;
        }
    }
    int used = (int)(count * bits % 8);
    if (used && packed[bytes - 1] >> used) {
        *bad = count;
        return false;
    }
    return true;
}
