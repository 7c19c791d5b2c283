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
        long long ob = ep_desc_out_bytes(desc), sb = ep_desc_scratch_bytes(desc);
        int32_t st = EP_EINVAL;
        uint64_t nb = 0;
        void *out = NULL, *scr = NULL;
        if (ob > 0 && sb >= 0) {
            out = alloc64((size_t)ob);
            scr = alloc64((size_t)sb);
            for (int r = 0; r < repeat; r++) st = ep_desc_run(desc, (const void *const *)in, out, scr);
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
