/* Weight codes packed for the weights file: a coded_conv's codes (log2,
 * codebook, binary, ternary; ir/weight_code.h), one a byte in memory, are
 * stored as a U8 tensor of ceil(count * bits / 8) bytes, code i at bits
 * i * bits upwards (least significant bit first), the unused high bits of
 * the last byte zero. */
#ifndef DNNC_CODE_PACK_H
#define DNNC_CODE_PACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "types.h"

/* Bytes that count codes of type t pack into. */
int64_t code_pack_bytes(ElemType t, int64_t count);
/* Packs count codes into out (code_pack_bytes of them). */
void code_pack(ElemType t, const uint8_t *codes, int64_t count, uint8_t *out);
/* Unpacks count codes from the code_pack_bytes of `packed`; false, with the
 * index of the first that is not a code of t (or the nonzero padding) in
 * *bad, when the bytes are not a packing of valid codes. */
bool code_unpack(ElemType t, const uint8_t *packed, int64_t count, uint8_t *codes, int64_t *bad);

#endif
