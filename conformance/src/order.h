/*
 * The order --jobs hands tests out in (order.c): the longest first.
 * Returns as in ct.h: 0, or -1 when out of memory.
 */
#ifndef CT_ORDER_H
#define CT_ORDER_H

#include "ct.h"

/* The length of a test neither the previous run nor the built-in table knows. */
#define CT_ORDER_DEFAULT_S 1.0

/*
 * order[0..n): the indexes of cases, the longest test first. prev_trace (NULL:
 * none) is the trace of a previous run, read for what each test took; the
 * built-in table of the reference device's times fills in. -1 when out of
 * memory (order untouched).
 */
int ct_order_longest_first(const ct_case *const *cases, size_t n, const char *prev_trace,
                           size_t *order);

#endif
