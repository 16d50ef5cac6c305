/* What the cpu kernels that read blocked layouts can compute, beyond their
 * op and types: the accepts column of kernels.def's KERNEL_ROW_LAYOUT rows. */
#ifndef DNNC_LAYOUT_RULES_H
#define DNNC_LAYOUT_RULES_H

#include "registry.h"

/* dnnk_conv_blocked: groups 1 or depthwise (groups = channels = filters). */
bool layout_accepts_blocked_conv(const Graph *g, const Node *n, Layout reads, char *why, size_t whysz);

/* dnnk_conv_winograd_blocked: groups 1 (the 3x3 stride-1 window is the
 * algorithm's rule, ir/conv_algo.c). */
bool layout_accepts_blocked_winograd(const Graph *g, const Node *n, Layout reads, char *why, size_t whysz);

/* dnnk_conv_plain_blocked: groups 1, at most 16 input channels (it reads
 * each channel of a pixel from its own plane), no residual (which would
 * be read in the output's layout). */
bool layout_accepts_plain_input_conv(const Graph *g, const Node *n, Layout reads, char *why, size_t whysz);

/* Element-wise kernels and channel concat, which compute element by
 * element whatever the layout, padding included: in a blocked layout, only
 * when every operand has the output's shape (no broadcast) or, for
 * concat, when every operand but the last fills whole channel blocks (so
 * that the operands as stored, end to end, are the output as stored). */
bool layout_accepts_elementwise(const Graph *g, const Node *n, Layout reads, char *why, size_t whysz);

#endif
