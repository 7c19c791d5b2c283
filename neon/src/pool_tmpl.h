// SPDX-License-Identifier: Apache-2.0
/* Separable sliding-window engine, instantiated per element type by pool.c.
 *
 * Parameters (macros): SFX name suffix, T element, V vector, L lanes, VLD/VST/VOP/VDUP,
 * FILLV the neutral element (type minimum / -inf for max, 0 for sums), VH_OK whether the
 * van Herk path is valid for VOP (max only).
 *
 * Rows are flat arrays of (pixels x C) elements. Scratch rows have EP_SLACK bytes of slack on
 * both sides, so loops over them may run whole vectors past either end; only stores into the
 * caller's output are exact.
 */
#define EP_CAT2(a, b) a##_##b
#define EP_CAT(a, b) EP_CAT2(a, b)
#define FN(name) EP_CAT(name, SFX)
#ifndef EP_UNUSED
#define EP_UNUSED __attribute__((unused))
#endif
/* llvm-mca region markers around inner-loop bodies (int8 instantiation, -DEP_MCA only) */
#if defined(EP_MCA) && defined(EP_MCA_HERE)
#define MCA_B(n) __asm__ volatile("# LLVM-MCA-BEGIN " n)
#define MCA_E(n) __asm__ volatile("# LLVM-MCA-END " n)
#else
#define MCA_B(n) ((void)0)
#define MCA_E(n) ((void)0)
#endif

static EP_UNUSED void FN(fill)(T *d, size_t n, T v) {
    for (size_t i = 0; i < n; i++) d[i] = v;
}

/* dst[0:n] = VOP over rows[0..nr-1] (nr >= 1), exact store into dst; rows are scratch. */
static EP_UNUSED void FN(reduce_rows)(T *dst, T *const *rows, int nr, size_t n) {
    size_t j = 0;
    for (; j + L <= n; j += L) {
        V m = VLD(rows[0] + j);
        for (int r = 1; r < nr; r++) m = VOP(m, VLD(rows[r] + j));
        VST(dst + j, m);
    }
    if (j < n) {
        T tmp[L];
        V m = VLD(rows[0] + j);
        for (int r = 1; r < nr; r++) m = VOP(m, VLD(rows[r] + j));
        VST(tmp, m);
        memcpy(dst + j, tmp, (n - j) * sizeof(T));
    }
}

/* Horizontal pass: prow (Wp pixels, padded coordinates) -> hrow (OW pixels). */
static EP_UNUSED void FN(hpass)(const ep_win *g, const T *prow, T *hrow, T *G, T *S) {
    const int C = g->C, kw = g->kw, sw = g->sw, dw = g->dw, OW = g->OW;
    if (!g->hvh) {
        if (sw == 1) {                      /* flat over (pixel, channel): vectors straddle pixels */
            const size_t n = (size_t)OW * C, step = (size_t)dw * C;
            for (size_t j = 0; j < n; j += L) {
                const T *p = prow + j;
                V m = VLD(p);
                for (int i = 1; i < kw; i++) m = VOP(m, VLD(p + i * step));
                VST(hrow + j, m);
            }
        } else {
            for (int ox = 0; ox < OW; ox++) {
                const T *p = prow + (size_t)ox * sw * C;
                T *o = hrow + (size_t)ox * C;
                for (int c = 0; c < C; c += L) {     /* the last vector spills into pixel ox+1 */
                    V m = VLD(p + c);
                    for (int i = 1; i < kw; i++) m = VOP(m, VLD(p + (size_t)i * dw * C + c));
                    VST(o + c, m);
                }
            }
        }
        return;
    }
#if VH_OK
    /* van Herk / Gil-Werman on each dilation phase: blocks of kw taps; G prefix maxima, S suffix
     * maxima inside a block; window [x, x + (kw-1) dw] = max(S[x], G[x + (kw-1) dw]). */
    const int Wp = g->Wp;
    for (int x = 0; x < Wp; x++) {           /* forward: partial vectors spill into x+1 */
        const T *v = prow + (size_t)x * C;
        T *o = G + (size_t)x * C;
        if ((x / dw) % kw == 0) {
            for (int c = 0; c < C; c += L) VST(o + c, VLD(v + c));
        } else {
            const T *q = o - (size_t)dw * C;
            for (int c = 0; c < C; c += L) VST(o + c, VOP(VLD(q + c), VLD(v + c)));
        }
    }
    for (int x = Wp - 1; x >= 0; x--) {      /* backward: partial vectors spill into x-1 */
        const T *v = prow + (size_t)x * C;
        T *o = S + (size_t)x * C;
        if ((x / dw) % kw == kw - 1 || x + dw >= Wp) {
            for (int c = C - L; c > -L; c -= L) VST(o + c, VLD(v + c));
        } else {
            const T *q = o + (size_t)dw * C;
            for (int c = C - L; c > -L; c -= L) VST(o + c, VOP(VLD(q + c), VLD(v + c)));
        }
    }
    const size_t off = (size_t)(kw - 1) * dw * C;
    if (sw == 1) {
        const size_t n = (size_t)OW * C;
        for (size_t j = 0; j < n; j += L) VST(hrow + j, VOP(VLD(S + j), VLD(G + j + off)));
    } else {
        for (int ox = 0; ox < OW; ox++) {
            const size_t b = (size_t)ox * sw * C;
            for (int c = 0; c < C; c += L)
                VST(hrow + (size_t)ox * C + c, VOP(VLD(S + b + c), VLD(G + b + off + c)));
        }
    }
#else
    (void)G; (void)S;
#endif
}

/* Scratch layout of the engine (elements of T): prow, [G, S], nrows rows, tags. */
static EP_UNUSED void FN(layout)(const ep_win *g, ep_carver *cv, T **prow, T **G, T **S, T **rows,
                       int **tags) {
    const size_t es = sizeof(T);
    const size_t rowp = (size_t)g->Wp * g->C, rowo = (size_t)g->OW * g->C;
    *prow = (T *)ep_carve(cv, rowp * es);
    *G = *S = NULL;
    if (g->hvh) {
        *G = (T *)ep_carve(cv, rowp * es);
        *S = (T *)ep_carve(cv, rowp * es);
    }
    for (int i = 0; i < g->nrows; i++) rows[i] = (T *)ep_carve(cv, rowo * es);
    *tags = (int *)ep_carve(cv, (size_t)g->nrows * sizeof(int));
}

static EP_UNUSED size_t FN(scratch)(const ep_win *g) {
    ep_carver cv;
    T *prow, *G, *S, *rows[EP_MAX_ROWS];
    int *tags;
    ep_carver_init(&cv, NULL);
    FN(layout)(g, &cv, &prow, &G, &S, rows, &tags);
    return ep_carver_size(&cv);
}

/* The engine: rows of the (virtual) input come from produce(ctx, y, dst) which writes W * C
 * elements of row y at dst; every needed row is produced once (twice at most when a window
 * span exceeds the ring). */
static EP_UNUSED void FN(engine)(const ep_win *g, ep_row_fn produce, void *ctx, T *out, void *scratch) {
    ep_carver cv;
    T *prow, *G, *S, *rows[EP_MAX_ROWS];
    int *tags;
    ep_carver_init(&cv, scratch);
    FN(layout)(g, &cv, &prow, &G, &S, rows, &tags);
    const size_t C = (size_t)g->C, rowo = (size_t)g->OW * C;
    FN(fill)(prow - EP_SLACK / sizeof(T), (size_t)g->Wp * C + 2 * EP_SLACK / sizeof(T), FILLV);
    T *pin = prow + (size_t)g->pl * C;
    if (!g->vvh) {
        const int R = g->nrows;
        for (int i = 0; i < R; i++) tags[i] = INT_MIN;
        for (int oy = 0; oy < g->OH; oy++) {
            T *sel[EP_MAX_ROWS];
            int nv = 0;
            for (int i = 0; i < g->kh; i++) {
                int y = oy * g->sh - g->pt + i * g->dh;
                if (y < 0 || y >= g->H) continue;
                int slot = y % R;
                if (tags[slot] != y) {
                    produce(ctx, y, pin);
                    FN(hpass)(g, prow, rows[slot], G, S);
                    tags[slot] = y;
                }
                sel[nv++] = rows[slot];
            }
            T *dst = out + (size_t)oy * rowo;
            if (nv == 0) FN(fill)(dst, rowo, FILLV);
            else FN(reduce_rows)(dst, sel, nv, rowo);
        }
        return;
    }
#if VH_OK
    /* vertical van Herk (dilation 1): blocks of kh padded rows; Sb holds the suffix maxima of
     * the previous block, Cb the rows of the current one, P their running prefix maximum. */
    const int kh = g->kh, sh = g->sh;
    const int Hp = (g->OH - 1) * sh + kh;
    T **Sb = rows, **Cb = rows + kh, *P = rows[2 * kh];
    for (int b = 0; b * kh < Hp; b++) {
        int i;
        const T *pp = NULL;
        for (i = 0; i < kh && b * kh + i < Hp; i++) {
            const int py = b * kh + i, y = py - g->pt;
            T *cur = Cb[i];
            if (y >= 0 && y < g->H) {
                produce(ctx, y, pin);
                FN(hpass)(g, prow, cur, G, S);
            } else {
                FN(fill)(cur, rowo, FILLV);
            }
            if (i == 0) {
                pp = cur;
            } else {
                for (size_t j = 0; j < rowo; j += L) VST(P + j, VOP(VLD(pp + j), VLD(cur + j)));
                pp = P;
            }
            const int start = py - kh + 1;
            if (start >= 0 && start % sh == 0 && start / sh < g->OH) {
                T *dst = out + (size_t)(start / sh) * rowo;
                if (i == kh - 1) {
                    memcpy(dst, pp, rowo * sizeof(T));
                } else {
                    T *two[2] = {Sb[i + 1], (T *)pp};
                    FN(reduce_rows)(dst, two, 2, rowo);
                }
            }
        }
        if (i == kh)
            for (int j = kh - 2; j >= 0; j--)
                for (size_t q = 0; q < rowo; q += L)
                    VST(Cb[j] + q, VOP(VLD(Cb[j] + q), VLD(Cb[j + 1] + q)));
        T **t = Sb;
        Sb = Cb;
        Cb = t;
    }
#endif
}

/* ---------------------------------------------------------------- in-place fast paths
 * Dilation 1, no window made of padding only. Every tap coordinate is CLAMPED into the input:
 * a dilation-1 window is contiguous, so when it holds at least one real element the clamped
 * coordinate of any of its taps is a real element of the same window, and max is idempotent:
 * padding and the ceil-mode overhang cost nothing, no row is copied, no scratch is used
 * (except the small-C stride-1 path). Channel vectors: the last one of a pixel is aligned to
 * the pixel's end (overlapping the previous one), so C >= L needs no scalar tail. */
#define CL(v, hi) ((v) < 0 ? 0 : ((v) > (hi) ? (hi) : (v)))
#ifndef EP_TILE_BYTES
#define EP_TILE_BYTES 16384   /* input bytes of one column tile (half the A53's 32 KiB L1D) */
#endif

/* vertical maxima of one column (offset p) for 4 consecutive output rows from 6 input rows:
 * 6 vmax (the middle pairs are shared) */
#define COL4(p, o0, o1, o2, o3)                                                              \
    do {                                                                                     \
        const V m12_ = VOP(VLD(r1 + (p)), VLD(r2 + (p)));                                    \
        const V m34_ = VOP(VLD(r3 + (p)), VLD(r4 + (p)));                                    \
        o0 = VOP(VLD(r0 + (p)), m12_);                                                       \
        o1 = VOP(m12_, VLD(r3 + (p)));                                                       \
        o2 = VOP(VLD(r2 + (p)), m34_);                                                       \
        o3 = VOP(m34_, VLD(r5 + (p)));                                                       \
    } while (0)

/* 3x3 stride 1, C >= L. Four output rows per pass share their vertical maxima (1.5 vmax per
 * output), and each pair of outputs shares the max of its two middle columns (1.5 vmax per
 * output): ~3 vmax, 1.5 loads and 1 store per output vector. */
static EP_UNUSED void FN(k3s1)(const ep_win *g, const T *in, T *out) {
    const int H = g->H, W = g->W, OH = g->OH, OW = g->OW, pt = g->pt, pl = g->pl;
    const size_t C = (size_t)g->C, irow = (size_t)W * C, orow = (size_t)OW * C;
    if (OH < 4) {                                   /* one output row per pass */
        for (int oy = 0; oy < OH; oy++) {
            const T *r0 = in + (size_t)CL(oy - pt, H - 1) * irow;
            const T *r1 = in + (size_t)CL(oy - pt + 1, H - 1) * irow;
            const T *r2 = in + (size_t)CL(oy - pt + 2, H - 1) * irow;
            T *q = out + (size_t)oy * orow;
            for (size_t c = 0;; c += L) {
                if (c + L > C) c = C - L;
#define COL1(x) VOP(VOP(VLD(r0 + (size_t)CL(x, W - 1) * C + c),                              \
                        VLD(r1 + (size_t)CL(x, W - 1) * C + c)),                             \
                    VLD(r2 + (size_t)CL(x, W - 1) * C + c))
                V a = COL1(-pl), b = COL1(1 - pl);
                for (int ox = 0; ox < OW; ox++) {
                    const V n = COL1(ox - pl + 2);
                    VST(q + (size_t)ox * C + c, VOP(VOP(a, b), n));
                    a = b;
                    b = n;
                }
#undef COL1
                if (c + L >= C) break;
            }
        }
        return;
    }
    /* column tiles keep the 6 input rows of a tile in L1 across the channel vectors */
    const int tile = ep_imax(8, (int)(EP_TILE_BYTES / (6 * C * sizeof(T))) & ~1);
    for (int oy = 0; oy < OH; oy += 4) {
        const int o = oy + 4 <= OH ? oy : OH - 4;   /* last group overlaps: same values */
        const T *r0 = in + (size_t)CL(o - pt, H - 1) * irow;
        const T *r1 = in + (size_t)CL(o - pt + 1, H - 1) * irow;
        const T *r2 = in + (size_t)CL(o - pt + 2, H - 1) * irow;
        const T *r3 = in + (size_t)CL(o - pt + 3, H - 1) * irow;
        const T *r4 = in + (size_t)CL(o - pt + 4, H - 1) * irow;
        const T *r5 = in + (size_t)CL(o - pt + 5, H - 1) * irow;
        T *q0 = out + (size_t)o * orow, *q1 = q0 + orow, *q2 = q1 + orow, *q3 = q2 + orow;
        for (int tx = 0; tx < OW; tx += tile)
        for (size_t c = 0;; c += L) {
            if (c + L > C) c = C - L;
            const int oxe = ep_imin(OW, tx + tile);
            V a0, a1, a2, a3, b0, b1, b2, b3, c0, c1, c2, c3, d0, d1, d2, d3;
            COL4((size_t)CL(tx - pl, W - 1) * C + c, a0, a1, a2, a3);
            COL4((size_t)CL(tx + 1 - pl, W - 1) * C + c, b0, b1, b2, b3);
            int ox = tx;
            for (; ox + 2 <= oxe; ox += 2) {
                MCA_B("k3s1");
                const int x = ox - pl + 2;     /* branch-free clamps (csel) */
                const size_t pc = (size_t)CL(x, W - 1) * C + c;
                const size_t pd = (size_t)CL(x + 1, W - 1) * C + c;
                COL4(pc, c0, c1, c2, c3);
                COL4(pd, d0, d1, d2, d3);
                const size_t po = (size_t)ox * C + c;
                V t = VOP(b0, c0);
                VST(q0 + po, VOP(a0, t));
                VST(q0 + po + C, VOP(t, d0));
                t = VOP(b1, c1);
                VST(q1 + po, VOP(a1, t));
                VST(q1 + po + C, VOP(t, d1));
                t = VOP(b2, c2);
                VST(q2 + po, VOP(a2, t));
                VST(q2 + po + C, VOP(t, d2));
                t = VOP(b3, c3);
                VST(q3 + po, VOP(a3, t));
                VST(q3 + po + C, VOP(t, d3));
                a0 = c0; a1 = c1; a2 = c2; a3 = c3;
                b0 = d0; b1 = d1; b2 = d2; b3 = d3;
                MCA_E("k3s1");
            }
            if (ox < oxe) {
                COL4((size_t)CL(ox - pl + 2, W - 1) * C + c, c0, c1, c2, c3);
                const size_t po = (size_t)ox * C + c;
                VST(q0 + po, VOP(VOP(a0, b0), c0));
                VST(q1 + po, VOP(VOP(a1, b1), c1));
                VST(q2 + po, VOP(VOP(a2, b2), c2));
                VST(q3 + po, VOP(VOP(a3, b3), c3));
            }
            if (c + L >= C) break;
        }
    }
}

/* flat max of n elements of three rows (n >= L: the last vector overlaps) into dst; n < L
 * goes element by element. Sources are never read past n. */
static EP_UNUSED void FN(max3_flat)(T *dst, const T *a, const T *b, const T *c, size_t n) {
    if (n < L) {
        for (size_t j = 0; j < n; j++) {
            T m = a[j] > b[j] ? a[j] : b[j];
            dst[j] = m > c[j] ? m : c[j];
        }
        return;
    }
    for (size_t j = 0;; j += L) {
        if (j + L > n) j = n - L;
        VST(dst + j, VOP(VOP(VLD(a + j), VLD(b + j)), VLD(c + j)));
        if (j + L >= n) break;
    }
}

/* 3x3 stride 1, C < L: vectors over the flattened (pixel, channel) row. The vertical max of
 * the three (clamped) rows goes to one scratch row whose padding pixels are copies of the edge
 * pixels (= clamping), then out[j] = max(t[j], t[j + C], t[j + 2C]) over the whole row. */
static EP_UNUSED void FN(k3s1_flat)(const ep_win *g, const T *in, T *out, T *t) {
    const int H = g->H, W = g->W, OH = g->OH, OW = g->OW, pt = g->pt, pl = g->pl;
    const size_t C = (size_t)g->C, irow = (size_t)W * C, orow = (size_t)OW * C;
    const int rpad = ep_imax(0, OW + 2 - pl - W);
    for (int oy = 0; oy < OH; oy++) {
        const T *r0 = in + (size_t)CL(oy - pt, H - 1) * irow;
        const T *r1 = in + (size_t)CL(oy - pt + 1, H - 1) * irow;
        const T *r2 = in + (size_t)CL(oy - pt + 2, H - 1) * irow;
        T *v = t + (size_t)pl * C;
        FN(max3_flat)(v, r0, r1, r2, irow);
        for (int i = 0; i < pl; i++) memcpy(t + (size_t)i * C, v, C * sizeof(T));
        for (int i = 0; i < rpad; i++) memcpy(v + (irow + (size_t)i * C), v + irow - C, C * sizeof(T));
        FN(max3_flat)(out + (size_t)oy * orow, t, t + C, t + 2 * C, orow);
    }
}

/* 3x3, horizontal stride 2, any vertical stride, C >= L: per channel vector a sweep along the
 * row reuses the shared column (3 loads + 2 vmax per new column, 2 columns and 2 vmax per
 * output). */
static EP_UNUSED void FN(k3s2)(const ep_win *g, const T *in, T *out) {
    const int H = g->H, W = g->W, OH = g->OH, OW = g->OW, pt = g->pt, pl = g->pl, sh = g->sh;
    const size_t C = (size_t)g->C, irow = (size_t)W * C, orow = (size_t)OW * C;
    const int tile = ep_imax(4, (int)(EP_TILE_BYTES / (6 * C * sizeof(T))));
    for (int oy = 0; oy < OH; oy++) {
        const int y = oy * sh - pt;
        const T *r0 = in + (size_t)CL(y, H - 1) * irow;
        const T *r1 = in + (size_t)CL(y + 1, H - 1) * irow;
        const T *r2 = in + (size_t)CL(y + 2, H - 1) * irow;
        T *q = out + (size_t)oy * orow;
#define COL1(p) VOP(VOP(VLD(r0 + (p)), VLD(r1 + (p))), VLD(r2 + (p)))
        for (int tx = 0; tx < OW; tx += tile)
        for (size_t c = 0;; c += L) {
            if (c + L > C) c = C - L;
            const int oxe = ep_imin(OW, tx + tile);
            V a = COL1((size_t)CL(2 * tx - pl, W - 1) * C + c);
            for (int ox = tx; ox < oxe; ox++) {
                MCA_B("k3s2");
                const int x = 2 * ox - pl + 1;     /* branch-free clamps (csel) */
                const size_t p1 = (size_t)CL(x, W - 1) * C + c;
                const size_t p2 = (size_t)CL(x + 1, W - 1) * C + c;
                const V b = COL1(p1), n = COL1(p2);
                VST(q + (size_t)ox * C + c, VOP(VOP(a, b), n));
                a = n;
                MCA_E("k3s2");
            }
            if (c + L >= C) break;
        }
#undef COL1
    }
}

/* 3x3, any strides, C >= L: per output pixel, all channel vectors (9 loads, 8 vmax each);
 * contiguous channel runs stream better than the column sweep when C is wide. */
static EP_UNUSED void FN(k3px)(const ep_win *g, const T *in, T *out) {
    const int H = g->H, W = g->W, OH = g->OH, OW = g->OW, pt = g->pt, pl = g->pl;
    const int sh = g->sh, sw = g->sw;
    const size_t C = (size_t)g->C, irow = (size_t)W * C, orow = (size_t)OW * C;
    for (int oy = 0; oy < OH; oy++) {
        const int y = oy * sh - pt;
        const T *r0 = in + (size_t)CL(y, H - 1) * irow;
        const T *r1 = in + (size_t)CL(y + 1, H - 1) * irow;
        const T *r2 = in + (size_t)CL(y + 2, H - 1) * irow;
        T *q = out + (size_t)oy * orow;
        for (int ox = 0; ox < OW; ox++) {
            const int x = ox * sw - pl;
            const size_t p0 = (size_t)CL(x, W - 1) * C, p1 = (size_t)CL(x + 1, W - 1) * C;
            const size_t p2 = (size_t)CL(x + 2, W - 1) * C;
            T *o = q + (size_t)ox * C;
#define M3(r, c) VOP(VOP(VLD(r + p0 + (c)), VLD(r + p1 + (c))), VLD(r + p2 + (c)))
            for (size_t c = 0;; c += L) {
                if (c + L > C) c = C - L;
                VST(o + c, VOP(VOP(M3(r0, c), M3(r1, c)), M3(r2, c)));
                if (c + L >= C) break;
            }
#undef M3
        }
    }
}

/* 2x2, any strides, C >= L: four loads, three vmax per output vector. Interior pixels walk
 * pointers (channels in pairs of vectors: ldp/stp on aarch64, then one vector, then the
 * overlapping last one); edge pixels clamp their columns. */
static EP_UNUSED void FN(k2px)(T *o, const T *a, const T *b, const T *e, const T *f, size_t C) {
    size_t c = 0;
    for (; c + 2 * L <= C; c += 2 * L) {
        const V x0 = VOP(VOP(VLD(a + c), VLD(b + c)), VOP(VLD(e + c), VLD(f + c)));
        const V x1 = VOP(VOP(VLD(a + c + L), VLD(b + c + L)), VOP(VLD(e + c + L), VLD(f + c + L)));
        VST(o + c, x0);
        VST(o + c + L, x1);
    }
    if (c + L <= C) {
        VST(o + c, VOP(VOP(VLD(a + c), VLD(b + c)), VOP(VLD(e + c), VLD(f + c))));
        c += L;
    }
    if (c < C) {
        c = C - L;
        VST(o + c, VOP(VOP(VLD(a + c), VLD(b + c)), VOP(VLD(e + c), VLD(f + c))));
    }
}

static EP_UNUSED void FN(k2)(const ep_win *g, const T *in, T *out) {
    const int H = g->H, W = g->W, OH = g->OH, OW = g->OW, pt = g->pt, pl = g->pl;
    const int sh = g->sh, sw = g->sw;
    const size_t C = (size_t)g->C, irow = (size_t)W * C, orow = (size_t)OW * C;
    /* interior outputs: both columns inside the input */
    const int i0 = ep_imin(OW, (pl + sw - 1) / sw), i1 = ep_imax(i0, ep_imin(OW, ep_floordiv(W - 2 + pl, sw) + 1));
    for (int oy = 0; oy < OH; oy++) {
        const int y = oy * sh - pt;
        const T *r0 = in + (size_t)CL(y, H - 1) * irow;
        const T *r1 = in + (size_t)CL(y + 1, H - 1) * irow;
        T *q = out + (size_t)oy * orow;
        for (int ox = 0; ox < OW; ox++) {
            if (ox == i0 && i1 > i0) {
                const size_t step = (size_t)sw * C;
                const T *a = r0 + (size_t)(i0 * sw - pl) * C, *e = r1 + (size_t)(i0 * sw - pl) * C;
                T *o = q + (size_t)i0 * C;
                if (C == 2 * L) {
                    for (ox = i0; ox < i1; ox++, a += step, e += step, o += C) {
                        MCA_B("k2");
                        const V x0 = VOP(VOP(VLD(a), VLD(a + C)), VOP(VLD(e), VLD(e + C)));
                        const V x1 = VOP(VOP(VLD(a + L), VLD(a + C + L)),
                                         VOP(VLD(e + L), VLD(e + C + L)));
                        VST(o, x0);
                        VST(o + L, x1);
                        MCA_E("k2");
                    }
                } else if (C == L) {
                    for (ox = i0; ox < i1; ox++, a += step, e += step, o += C)
                        VST(o, VOP(VOP(VLD(a), VLD(a + C)), VOP(VLD(e), VLD(e + C))));
                } else {
                    for (ox = i0; ox < i1; ox++, a += step, e += step, o += C)
                        FN(k2px)(o, a, a + C, e, e + C, C);
                }
                if (ox >= OW) break;
            }
            const int x = ox * sw - pl;
            const size_t p0 = (size_t)CL(x, W - 1) * C, p1 = (size_t)CL(x + 1, W - 1) * C;
            FN(k2px)(q + (size_t)ox * C, r0 + p0, r0 + p1, r1 + p0, r1 + p1, C);
        }
    }
}

/* Whole map interior (no padding, every window inside the input), C a multiple of L with
 * C <= 2L or C % 2L == 0: no clamps, no per-row border logic; one pointer walk per output row.
 * 2x2 any strides: 4 loads + 3 vmax per output vector (C = 2L: ldp/stp pairs). */
static EP_UNUSED void FN(k2i)(const ep_win *g, const T *in, T *out) {
    const int OH = g->OH, OW = g->OW;
    const size_t C = (size_t)g->C, irow = (size_t)g->W * C, step = (size_t)g->sw * C;
    const size_t ystep = (size_t)g->sh * irow;
    const T *r = in;
    T *o = out;
    if (C == 2 * L && step == 4 * L) {   /* 2x2 s2: one 4-register load per row and pixel */
        const int odd = OW & 1;
        for (int oy = 0; oy < OH; oy++, r += ystep) {
            const T *a = r, *e = r + irow;
            for (const T *ae = a + (size_t)(OW - odd) * 4 * L; a != ae; o += 4 * L) {
                MCA_B("k2i");           /* two pixels: the loads are issued ahead of the maxes */
                const VX4 x = VLDX4(a), y = VLDX4(e);
                a += 4 * L;             /* opaque steps: post-indexed loads, no pointer copies */
                e += 4 * L;
                __asm__("" : "+r"(a), "+r"(e));
                const VX4 u = VLDX4(a), w = VLDX4(e);
                a += 4 * L;
                e += 4 * L;
                VST(o, VOP(VOP(x.val[0], x.val[2]), VOP(y.val[0], y.val[2])));
                VST(o + L, VOP(VOP(x.val[1], x.val[3]), VOP(y.val[1], y.val[3])));
                VST(o + 2 * L, VOP(VOP(u.val[0], u.val[2]), VOP(w.val[0], w.val[2])));
                VST(o + 3 * L, VOP(VOP(u.val[1], u.val[3]), VOP(w.val[1], w.val[3])));
                MCA_E("k2i");
            }
            if (odd) {
                const VX4 x = VLDX4(a), y = VLDX4(e);
                VST(o, VOP(VOP(x.val[0], x.val[2]), VOP(y.val[0], y.val[2])));
                VST(o + L, VOP(VOP(x.val[1], x.val[3]), VOP(y.val[1], y.val[3])));
                o += 2 * L;
            }
        }
        return;
    }
    for (int oy = 0; oy < OH; oy++, r += ystep) {
        const T *a = r, *e = r + irow;
        if (C == 2 * L) {
            for (int n = OW; n > 0; n--, a += step, e += step, o += 2 * L) {
                const V x0 = VOP(VOP(VLD(a), VLD(a + 2 * L)), VOP(VLD(e), VLD(e + 2 * L)));
                const V x1 = VOP(VOP(VLD(a + L), VLD(a + 3 * L)), VOP(VLD(e + L), VLD(e + 3 * L)));
                VST(o, x0);
                VST(o + L, x1);
            }
        } else if (C == L) {
            for (int n = OW; n > 0; n--, a += step, e += step, o += L)
                VST(o, VOP(VOP(VLD(a), VLD(a + L)), VOP(VLD(e), VLD(e + L))));
        } else {
            for (int n = OW; n > 0; n--, a += step, e += step)
                for (size_t c = 0; c < C; c += 2 * L, o += 2 * L) {
                    const V x0 = VOP(VOP(VLD(a + c), VLD(a + C + c)), VOP(VLD(e + c), VLD(e + C + c)));
                    const V x1 = VOP(VOP(VLD(a + c + L), VLD(a + C + c + L)),
                                     VOP(VLD(e + c + L), VLD(e + C + c + L)));
                    VST(o, x0);
                    VST(o + L, x1);
                }
        }
    }
}

/* 3x3, horizontal stride 2, whole map interior, C = L or a multiple of 2L: per output row a
 * pixel walk that keeps the shared column's vertical max in registers (2 new columns: 6 loads
 * + 4 vmax, then 2 vmax per output vector). */
static EP_UNUSED void FN(k3s2i)(const ep_win *g, const T *in, T *out) {
    const int OH = g->OH, OW = g->OW;
    const size_t C = (size_t)g->C, irow = (size_t)g->W * C, ystep = (size_t)g->sh * irow;
    const T *r = in;
    T *o = out;
#define CM(p) VOP(VOP(VLD(p), VLD((p) + irow)), VLD((p) + 2 * irow))
    for (int oy = 0; oy < OH; oy++, r += ystep) {
        const T *x = r;
        if (C == 2 * L) {
            V a0 = CM(x), a1 = CM(x + L);
            const T *x1 = x + irow + 2 * L, *x2 = x + 2 * irow + 2 * L;
            x += 2 * L;
            for (int n = OW; n > 0; n--, x += 4 * L, x1 += 4 * L, x2 += 4 * L, o += 2 * L) {
                MCA_B("k3s2i");        /* columns 2 ox + 1, 2 ox + 2 of the three rows */
                const VX4 u = VLDX4(x), v = VLDX4(x1), w = VLDX4(x2);
                const V b0 = VOP(VOP(u.val[0], v.val[0]), w.val[0]);
                const V b1 = VOP(VOP(u.val[1], v.val[1]), w.val[1]);
                const V n0 = VOP(VOP(u.val[2], v.val[2]), w.val[2]);
                const V n1 = VOP(VOP(u.val[3], v.val[3]), w.val[3]);
                VST(o, VOP(VOP(a0, b0), n0));
                VST(o + L, VOP(VOP(a1, b1), n1));
                a0 = n0;
                a1 = n1;
                MCA_E("k3s2i");
            }
        } else if (C == L) {
            V a0 = CM(x);
            for (int n = OW; n > 0; n--, x += 2 * L, o += L) {
                const V b0 = CM(x + L), n0 = CM(x + 2 * L);
                VST(o, VOP(VOP(a0, b0), n0));
                a0 = n0;
            }
        } else {
            /* C a multiple of 2L: the same column sharing per group of 2 vectors (the shared
             * column's vertical max stays in registers: 12 loads + 12 vmax + 2 stores per 2
             * output vectors; before, each output re-read its 9 taps) */
            for (size_t cg = 0; cg < C; cg += 2 * L) {
                const T *xc = x + cg;
                T *oc = o + cg;
                V a0 = CM(xc), a1 = CM(xc + L);
                for (int n = OW; n > 0; n--, xc += 2 * C, oc += C) {
                    const V b0 = CM(xc + C), b1 = CM(xc + C + L);
                    const V n0 = CM(xc + 2 * C), n1 = CM(xc + 2 * C + L);
                    VST(oc, VOP(VOP(a0, b0), n0));
                    VST(oc + L, VOP(VOP(a1, b1), n1));
                    a0 = n0;
                    a1 = n1;
                }
            }
            o += (size_t)OW * C;
        }
    }
#undef CM
}

/* 5x5 stride 1, C >= L, in place (clamped taps, no row copy): two output rows per pass share
 * the vertical max of their 4 common rows (5 vmax per column for 2 rows), and each pair of
 * outputs shares the max of its 4 common columns (5 vmax per 2 outputs): ~5 vmax, 3 loads and
 * 1 store per output vector, in column tiles so the 6 rows stay in L1 across channel vectors. */
static EP_UNUSED void FN(k5s1)(const ep_win *g, const T *in, T *out) {
    const int H = g->H, W = g->W, OH = g->OH, OW = g->OW, pt = g->pt, pl = g->pl;
    const size_t C = (size_t)g->C, irow = (size_t)W * C, orow = (size_t)OW * C;
    const int tile = ep_imax(8, (int)(EP_TILE_BYTES / (6 * C * sizeof(T))) & ~1);
#define COL2(p, o0, o1)                                                                      \
    do {                                                                                     \
        const V m_ = VOP(VOP(VLD(r1 + (p)), VLD(r2 + (p))), VOP(VLD(r3 + (p)), VLD(r4 + (p)))); \
        o0 = VOP(VLD(r0 + (p)), m_);                                                         \
        o1 = VOP(m_, VLD(r5 + (p)));                                                         \
    } while (0)
#define PC(x) ((size_t)CL(x, W - 1) * C + c)
    for (int oy = 0; oy < OH; oy += 2) {
        const int o = oy + 2 <= OH ? oy : ep_imax(0, OH - 2);   /* last pair overlaps */
        const int two = o + 1 < OH;
        const T *r0 = in + (size_t)CL(o - pt, H - 1) * irow;
        const T *r1 = in + (size_t)CL(o - pt + 1, H - 1) * irow;
        const T *r2 = in + (size_t)CL(o - pt + 2, H - 1) * irow;
        const T *r3 = in + (size_t)CL(o - pt + 3, H - 1) * irow;
        const T *r4 = in + (size_t)CL(o - pt + 4, H - 1) * irow;
        const T *r5 = in + (size_t)CL(o - pt + 5, H - 1) * irow;
        T *q0 = out + (size_t)o * orow, *q1 = two ? q0 + orow : q0;
        for (int tx = 0; tx < OW; tx += tile)
        for (size_t c = 0;; c += L) {
            if (c + L > C) c = C - L;
            const int oxe = ep_imin(OW, tx + tile);
            V a0, a1, b0, b1, c0, c1, d0, d1, e0, e1, f0, f1;
            const int x0 = tx - pl;
            COL2(PC(x0), a0, a1);
            COL2(PC(x0 + 1), b0, b1);
            COL2(PC(x0 + 2), c0, c1);
            COL2(PC(x0 + 3), d0, d1);
            int ox = tx;
            for (; ox + 2 <= oxe; ox += 2) {
                MCA_B("k5s1");
                const int x = ox - pl + 4;
                COL2(PC(x), e0, e1);
                COL2(PC(x + 1), f0, f1);
                const size_t po = (size_t)ox * C + c;
                V m = VOP(VOP(b1, c1), VOP(d1, e1));
                VST(q1 + po, VOP(a1, m));
                VST(q1 + po + C, VOP(m, f1));
                m = VOP(VOP(b0, c0), VOP(d0, e0));   /* row 0 last: q1 = q0 when one row */
                VST(q0 + po, VOP(a0, m));
                VST(q0 + po + C, VOP(m, f0));
                a0 = c0; a1 = c1; b0 = d0; b1 = d1; c0 = e0; c1 = e1; d0 = f0; d1 = f1;
                MCA_E("k5s1");
            }
            if (ox < oxe) {
                COL2(PC(ox - pl + 4), e0, e1);
                const size_t po = (size_t)ox * C + c;
                VST(q1 + po, VOP(VOP(VOP(a1, b1), VOP(c1, d1)), e1));
                VST(q0 + po, VOP(VOP(VOP(a0, b0), VOP(c0, d0)), e0));
            }
            if (c + L >= C) break;
        }
    }
#undef PC
#undef COL2
}
#undef COL4
#undef CL
#undef MCA_B
#undef MCA_E

#undef FN
#undef EP_CAT
#undef EP_CAT2
