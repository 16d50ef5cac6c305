/* eliminate-dead: removes layers whose result nothing reads and that are
 * not graph outputs. Walking backwards removes a whole dead chain in one
 * sweep: removing a layer drops its reads of the layers before it. */
#include "pass.h"

bool pass_eliminate_dead(Graph *g, const PassOptions *o, PassReport *r)
{
    (void)o;
    for (int i = g->n_nodes - 1; i >= 0; i--) {
        const Node *n = &g->nodes[i];
        if (n->removed || g->tensors[n->output].n_users > 0 || graph_is_output(g, n->output))
            continue;
        graph_remove_node(g, i);
        pass_count(r, "dead layers removed", 1);
    }
    return true;
}
