// SPDX-License-Identifier: Apache-2.0
/* Splitting a kernel's output over threads: n_items equal-cost items in contiguous, balanced
 * ranges (sizes differ by at most one), thread 0 runs in the caller. */
#include <pthread.h>

#include "ep_internal.h"

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int go;
} ep_gate;

typedef struct {
    ep_task_fn fn;
    void *ctx;
    int tid, lo, hi;
    ep_gate *gate;
} ep_task;

/* Workers start only once every worker exists: then no worker can finish (and hand its
 * thread slot to the next one) before the last is created, which keeps one qemu vCPU per
 * share when the benchmark measures the balance. */
static void *task_main(void *arg) {
    ep_task *t = (ep_task *)arg;
    pthread_mutex_lock(&t->gate->mu);
    while (!t->gate->go) pthread_cond_wait(&t->gate->cv, &t->gate->mu);
    pthread_mutex_unlock(&t->gate->mu);
    t->fn(t->ctx, t->tid, t->lo, t->hi);
    return NULL;
}

int ep_threads_for(int threads, int n_items) {
    int n = threads < 1 ? 1 : threads;
    if (n > EP_MAX_THREADS) n = EP_MAX_THREADS;
    if (n > n_items) n = n_items < 1 ? 1 : n_items;
    return n;
}

void ep_parallel(int nthreads, int n_items, ep_task_fn fn, void *ctx) {
    ep_task tasks[EP_MAX_THREADS];
    pthread_t th[EP_MAX_THREADS];
    int started[EP_MAX_THREADS] = {0};
    const int n = ep_threads_for(nthreads, n_items);
    if (n == 1) {
        fn(ctx, 0, 0, n_items);
        return;
    }
    ep_gate gate = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
    for (int t = 0; t < n; t++) {
        tasks[t].gate = &gate;
        tasks[t].fn = fn;
        tasks[t].ctx = ctx;
        tasks[t].tid = t;
        tasks[t].lo = (int)((long long)n_items * t / n);
        tasks[t].hi = (int)((long long)n_items * (t + 1) / n);
    }
    for (int t = 1; t < n; t++) started[t] = pthread_create(&th[t], NULL, task_main, &tasks[t]) == 0;
    pthread_mutex_lock(&gate.mu);
    gate.go = 1;
    pthread_cond_broadcast(&gate.cv);
    pthread_mutex_unlock(&gate.mu);
    fn(ctx, 0, tasks[0].lo, tasks[0].hi);
    for (int t = 1; t < n; t++) {
        if (started[t]) pthread_join(th[t], NULL);
        else fn(ctx, t, tasks[t].lo, tasks[t].hi);    /* no thread: run its share here */
    }
}
