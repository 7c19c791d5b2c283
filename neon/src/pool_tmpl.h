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

/* Direct fast paths (k x k, stride s, no padding/dilation, every window inside, C >= L): read
 * the input in place, last channel vector aligned to the end of the pixel (overlapping). */
static EP_UNUSED void FN(direct2x2s2)(const ep_win *g, const T *in, T *out) {
    const size_t C = (size_t)g->C, W = (size_t)g->W;
    for (int oy = 0; oy < g->OH; oy++) {
        const T *r0 = in + (size_t)(2 * oy) * W * C, *r1 = r0 + W * C;
        T *o = out + (size_t)oy * g->OW * C;
        for (int ox = 0; ox < g->OW; ox++) {
            const size_t b = (size_t)(2 * ox) * C;
            for (size_t c = 0;; c += L) {
                if (c + L > C) c = C - L;
                V m = VOP(VOP(VLD(r0 + b + c), VLD(r0 + b + C + c)),
                          VOP(VLD(r1 + b + c), VLD(r1 + b + C + c)));
                VST(o + (size_t)ox * C + c, m);
                if (c + L >= C) break;
            }
        }
    }
}

static EP_UNUSED void FN(direct3x3s2)(const ep_win *g, const T *in, T *out) {
    const size_t C = (size_t)g->C, W = (size_t)g->W;
    for (int oy = 0; oy < g->OH; oy++) {
        const T *r0 = in + (size_t)(2 * oy) * W * C, *r1 = r0 + W * C, *r2 = r1 + W * C;
        T *o = out + (size_t)oy * g->OW * C;
        for (int ox = 0; ox < g->OW; ox++) {
            const size_t b = (size_t)(2 * ox) * C;
            for (size_t c = 0;; c += L) {
                if (c + L > C) c = C - L;
                const size_t p = b + c;
                V a = VOP(VOP(VLD(r0 + p), VLD(r0 + p + C)), VLD(r0 + p + 2 * C));
                V e = VOP(VOP(VLD(r1 + p), VLD(r1 + p + C)), VLD(r1 + p + 2 * C));
                V f = VOP(VOP(VLD(r2 + p), VLD(r2 + p + C)), VLD(r2 + p + 2 * C));
                VST(o + (size_t)ox * C + c, VOP(VOP(a, e), f));
                if (c + L >= C) break;
            }
        }
    }
}

#undef FN
#undef EP_CAT
#undef EP_CAT2
