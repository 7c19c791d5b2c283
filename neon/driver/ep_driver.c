// SPDX-License-Identifier: Apache-2.0
/* Generic test driver: runs a batch of descriptor operations from a binary file.
 *
 *   ep_driver IN.bin OUT.bin [REPEAT]
 *
 * IN:  "EPD1", u32 nops; per op: i32 desc[EP_D_COUNT], u32 nin, nin x (u64 nbytes, bytes)
 *      (an input of 0 bytes is passed as NULL).
 * OUT: "EPR1", u32 nops; per op: i32 status, u64 nbytes, bytes.
 * REPEAT (default 1) runs every operation that many times (instruction counting subtracts the
 * REPEAT=1 run from the REPEAT=2 run to isolate one kernel call). */
#define _POSIX_C_SOURCE 200112L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edgepool_neon.h"

#ifdef EP_BENCH_NAIVE
/* benchmark build: algo 99 runs the naive C loop of neon/bench/naive.c instead */
int ep_naive_run(const int32_t *d, const void *const *in, void *out);
#define EP_RUN(d, in, out, scr) \
    ((d)[EP_D_ALGO] == 99 ? ep_naive_run((d), (in), (out)) : ep_desc_run((d), (in), (out), (scr)))
#elif defined(EP_BENCH_TVM)
/* benchmark build: algo 98 runs the linked TVM-generated op (neon/bench/tvm_shim.c) */
int ep_tvm_run(int nargs, void **data, const int64_t *shapes, const int *codes, const int *bits);
static int tvm_run(const int32_t *d, const void *const *in, void *out) {
    int oh = 0, ow = 0;
    int64_t sh[16] = {0};
    int codes[4], bits[4];
    void *data[4];
    const int f = d[EP_D_DTYPE] == EP_F32, eb = d[EP_D_DTYPE] == EP_I16 ? 16 : (f ? 32 : 8);
    for (int i = 0; i < 4; i++) { codes[i] = f ? 2 : 0; bits[i] = eb; }
    if (d[EP_D_OP] == EP_OP_MAXPOOL || d[EP_D_OP] == EP_OP_AVGPOOL) {
        oh = ep_pool_output_size(d[EP_D_H], d[EP_D_KH], d[EP_D_SH], d[EP_D_PT], d[EP_D_PB], 1, 0);
        ow = ep_pool_output_size(d[EP_D_W], d[EP_D_KW], d[EP_D_SW], d[EP_D_PL], d[EP_D_PR], 1, 0);
        int64_t s[8] = {1, d[EP_D_H], d[EP_D_W], d[EP_D_C], 1, oh, ow, d[EP_D_C]};
        memcpy(sh, s, sizeof s);
        data[0] = (void *)in[0]; data[1] = out;
        if (d[EP_D_OP] == EP_OP_AVGPOOL && !f) {   /* topi's integer average is int32 */
            bits[1] = 32;
            data[1] = malloc((size_t)oh * ow * d[EP_D_C] * 4);
            int rc = ep_tvm_run(2, data, sh, codes, bits);
            free(data[1]);
            return rc;
        }
        return ep_tvm_run(2, data, sh, codes, bits);
    }
    if (d[EP_D_OP] == EP_OP_CONV) {
        oh = ep_pool_output_size(d[EP_D_H], d[EP_D_KH], d[EP_D_SH], d[EP_D_PT], d[EP_D_PB], 1, 0);
        ow = ep_pool_output_size(d[EP_D_W], d[EP_D_KW], d[EP_D_SW], d[EP_D_PL], d[EP_D_PR], 1, 0);
        int64_t s[12] = {1, d[EP_D_H], d[EP_D_W], d[EP_D_C], d[EP_D_KH], d[EP_D_KW], d[EP_D_C],
                         d[EP_D_OC], 1, oh, ow, d[EP_D_OC]};
        memcpy(sh, s, sizeof s);
        bits[2] = 32;
        data[0] = (void *)in[0]; data[1] = (void *)in[1]; data[2] = out;
        return ep_tvm_run(3, data, sh, codes, bits);
    }
    if (d[EP_D_OP] == EP_OP_FC) {
        int64_t s[12] = {1, d[EP_D_N], 0, 0, d[EP_D_OC], d[EP_D_N], 0, 0, 1, d[EP_D_OC], 0, 0};
        memcpy(sh, s, sizeof s);
        bits[2] = 32;
        data[0] = (void *)in[0]; data[1] = (void *)in[1]; data[2] = out;
        return ep_tvm_run(3, data, sh, codes, bits);
    }
    return EP_EINVAL;
}
#define EP_RUN(d, in, out, scr) \
    ((d)[EP_D_ALGO] == 98 ? tvm_run((d), (in), (out)) : ep_desc_run((d), (in), (out), (scr)))
#else
#define EP_RUN(d, in, out, scr) ep_desc_run((d), (in), (out), (scr))
#endif

static int rd(FILE *f, void *p, size_t n) { return fread(p, 1, n, f) == n ? 0 : -1; }

static void *alloc64(size_t n) {
    void *p = NULL;
    if (posix_memalign(&p, 64, n ? n : 64)) return NULL;
    return p;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s IN.bin OUT.bin [REPEAT]\n", argv[0]);
        return 2;
    }
    int repeat = argc > 3 ? atoi(argv[3]) : 1;
    FILE *f = fopen(argv[1], "rb"), *g = fopen(argv[2], "wb");
    if (!f || !g) { perror("open"); return 2; }
    char magic[4];
    uint32_t nops;
    if (rd(f, magic, 4) || memcmp(magic, "EPD1", 4) || rd(f, &nops, 4)) {
        fprintf(stderr, "bad input file\n");
        return 2;
    }
    fwrite("EPR1", 1, 4, g);
    fwrite(&nops, 4, 1, g);
    for (uint32_t op = 0; op < nops; op++) {
        int32_t desc[EP_D_COUNT];
        uint32_t nin;
        void *in[4] = {NULL, NULL, NULL, NULL};
        if (rd(f, desc, sizeof desc) || rd(f, &nin, 4) || nin > 4) {
            fprintf(stderr, "truncated op %u\n", op);
            return 2;
        }
        for (uint32_t i = 0; i < nin; i++) {
            uint64_t nb;
            if (rd(f, &nb, 8)) return 2;
            if (nb) {
                in[i] = alloc64(nb);
                if (!in[i] || rd(f, in[i], nb)) return 2;
            }
        }
        const int32_t algo = desc[EP_D_ALGO];
        if (algo == 99 || algo == 98) desc[EP_D_ALGO] = 0;     /* sizes of the equivalent kernel */
        long long ob = ep_desc_out_bytes(desc), sb = ep_desc_scratch_bytes(desc);
        desc[EP_D_ALGO] = algo;
        int32_t st = EP_EINVAL;
        uint64_t nb = 0;
        void *out = NULL, *scr = NULL;
        if (ob > 0 && sb >= 0) {
            out = alloc64((size_t)ob);
            scr = alloc64((size_t)sb);
            for (int r = 0; r < repeat; r++) st = EP_RUN(desc, (const void *const *)in, out, scr);
            if (st == 0) nb = (uint64_t)ob;
        }
        fwrite(&st, 4, 1, g);
        fwrite(&nb, 8, 1, g);
        if (nb) fwrite(out, 1, nb, g);
        free(out);
        free(scr);
        for (int i = 0; i < 4; i++) free(in[i]);
    }
    fclose(f);
    return fclose(g) ? 2 : 0;
}
