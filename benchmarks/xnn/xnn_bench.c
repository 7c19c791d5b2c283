// SPDX-License-Identifier: Apache-2.0
/* XNNPACK baseline for benchmarks/neon_xnnpack.py: creates ONE operator through XNNPACK's
 * operator API (Debian's libxnnpack, 2022 snapshot), sets it up once, then runs it REPEAT
 * times. Instruction counting subtracts the REPEAT=1 trace from the REPEAT=2 trace, so the
 * difference is one xnn_run_operator call (setup and creation excluded -- the favourable case
 * for XNNPACK: an inference engine sets up once per tensor allocation).
 *
 *   xnn_bench conv H W IC OC KH KW SH SW PT PL PB PR REPEAT
 *   xnn_bench dwconv H W C K S P REPEAT      (depthwise: groups = C, one channel each)
 *   xnn_bench maxpool H W C K S P REPEAT
 *   xnn_bench fc N M REPEAT
 *
 * Prints the output checksum (so the work cannot be skipped) and the mapping base of
 * libXNNPACK (to attribute hot blocks to its micro-kernels). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xnnpack.h>

static void fill(int8_t *p, size_t n, int lo, int hi, unsigned *seed) {
    for (size_t i = 0; i < n; i++) {
        *seed = *seed * 1103515245u + 12345u;
        p[i] = (int8_t)(lo + (int)((*seed >> 16) % (unsigned)(hi - lo + 1)));
    }
}

static void print_base(void) {
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    while (f && fgets(line, sizeof line, f))
        if (strstr(line, "libXNNPACK") && strstr(line, "r-xp")) {
            fprintf(stderr, "XNNBASE %s", line);
            break;
        }
    if (f) fclose(f);
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: see the header of xnn_bench.c\n");
        return 2;
    }
    if (xnn_initialize(NULL) != xnn_status_success) {
        fprintf(stderr, "xnn_initialize failed\n");
        return 3;
    }
    unsigned seed = 1;
    xnn_operator_t op = NULL;
    int8_t *x = NULL, *y = NULL, *w = NULL;
    size_t ny = 0;
    int repeat = atoi(argv[argc - 1]);
    enum xnn_status st;
    if (!strcmp(argv[1], "conv") && argc == 15) {
        int a[12];
        for (int i = 0; i < 12; i++) a[i] = atoi(argv[2 + i]);
        const int h = a[0], wd = a[1], ic = a[2], oc = a[3], kh = a[4], kw = a[5], sh = a[6],
                  sw = a[7], pt = a[8], pl = a[9], pb = a[10], pr = a[11];
        const int oh = (h + pt + pb - kh) / sh + 1, ow = (wd + pl + pr - kw) / sw + 1;
        x = malloc((size_t)h * wd * ic);
        w = malloc((size_t)oc * kh * kw * ic);
        ny = (size_t)oh * ow * oc;
        y = malloc(ny);
        fill(x, (size_t)h * wd * ic, -128, 127, &seed);
        fill(w, (size_t)oc * kh * kw * ic, -127, 127, &seed);
        st = xnn_create_convolution2d_nhwc_qs8(pt, pr, pb, pl, kh, kw, sh, sw, 1, 1, 1, ic, oc,
                                               ic, oc, 0, 1.0f, 1.0f, w, NULL, 0, 256.0f, -128,
                                               127, 0, &op);
        if (st == xnn_status_success)
            st = xnn_setup_convolution2d_nhwc_qs8(op, 1, h, wd, x, y, NULL);
    } else if (!strcmp(argv[1], "dwconv") && argc == 9) {
        const int h = atoi(argv[2]), wd = atoi(argv[3]), c = atoi(argv[4]), k = atoi(argv[5]),
                  s = atoi(argv[6]), p = atoi(argv[7]);
        const int oh = (h + 2 * p - k) / s + 1, ow = (wd + 2 * p - k) / s + 1;
        x = malloc((size_t)h * wd * c);
        w = malloc((size_t)c * k * k);
        ny = (size_t)oh * ow * c;
        y = malloc(ny);
        fill(x, (size_t)h * wd * c, -128, 127, &seed);
        fill(w, (size_t)c * k * k, -127, 127, &seed);
        /* groups = C with 1 input and 1 output channel each: XNNPACK's depthwise path */
        st = xnn_create_convolution2d_nhwc_qs8(p, p, p, p, k, k, s, s, 1, 1, c, 1, 1, c, c, 0,
                                               1.0f, 1.0f, w, NULL, 0, 256.0f, -128, 127, 0,
                                               &op);
        if (st == xnn_status_success)
            st = xnn_setup_convolution2d_nhwc_qs8(op, 1, h, wd, x, y, NULL);
    } else if (!strcmp(argv[1], "maxpool") && argc == 9) {
        const int h = atoi(argv[2]), wd = atoi(argv[3]), c = atoi(argv[4]), k = atoi(argv[5]),
                  s = atoi(argv[6]), p = atoi(argv[7]);
        const int oh = (h + 2 * p - k) / s + 1, ow = (wd + 2 * p - k) / s + 1;
        x = malloc((size_t)h * wd * c);
        ny = (size_t)oh * ow * c;
        y = malloc(ny);
        fill(x, (size_t)h * wd * c, -128, 127, &seed);
        st = xnn_create_max_pooling2d_nhwc_s8(p, p, p, p, k, k, s, s, 1, 1, c, c, c, -128, 127,
                                              0, &op);
        if (st == xnn_status_success)
            st = xnn_setup_max_pooling2d_nhwc_s8(op, 1, h, wd, x, y, NULL);
    } else if (!strcmp(argv[1], "fc") && argc == 5) {
        const int n = atoi(argv[2]), m = atoi(argv[3]);
        x = malloc((size_t)n);
        w = malloc((size_t)n * m);
        ny = (size_t)m;
        y = malloc(ny);
        fill(x, (size_t)n, -128, 127, &seed);
        fill(w, (size_t)n * m, -127, 127, &seed);
        st = xnn_create_fully_connected_nc_qs8(n, m, n, m, 0, 1.0f, 1.0f, w, NULL, 0, 256.0f,
                                               -128, 127, 0, &op);
        if (st == xnn_status_success) st = xnn_setup_fully_connected_nc_qs8(op, 1, x, y, NULL);
    } else {
        fprintf(stderr, "bad arguments\n");
        return 2;
    }
    if (st != xnn_status_success) {
        fprintf(stderr, "create/setup failed: %d\n", (int)st);
        return 4;
    }
    for (int r = 0; r < repeat; r++)
        if (xnn_run_operator(op, NULL) != xnn_status_success) return 5;
    long sum = 0;
    for (size_t i = 0; i < ny; i++) sum += y[i];
    printf("checksum %ld\n", sum);
    print_base();
    xnn_delete_operator(op);
    free(x);
    free(y);
    free(w);
    return 0;
}
