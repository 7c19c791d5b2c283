// SPDX-License-Identifier: Apache-2.0
/* The 4 x 16 by-lane int16 tile shared by the register-blocked conv (conv_rb.c) and the
 * Winograd conv (conv_wino.c): 4 rows of 8 int16 inputs (x0-x3) times 16 int16 weights per
 * reduction element, 16 int32x4 accumulators a00-a33 (row j, channels 4c..4c+3 in a<j><c>).
 * MAC16 is the intrinsics step (SIMDe and the EP_NO_ASM build); RB_STEP the aarch64 asm step
 * (accumulators v16-v31, inputs v0-v3, weights v4-v7 double-buffered by RB_LDA / RB_LDB). */
#ifndef EP_RB_TILE_H
#define EP_RB_TILE_H

#define MAC16(l)                                                                           \
    do {                                                                                   \
        const int16x8_t wl = vld1q_s16(w), wh = vld1q_s16(w + 8);                          \
        w += 16;                                                                           \
        a00 = vmlal_laneq_s16(a00, vget_low_s16(wl), x0, l);                               \
        a01 = ep_vmlal_high_laneq_s16(a01, wl, x0, l);                                     \
        a02 = vmlal_laneq_s16(a02, vget_low_s16(wh), x0, l);                               \
        a03 = ep_vmlal_high_laneq_s16(a03, wh, x0, l);                                     \
        a10 = vmlal_laneq_s16(a10, vget_low_s16(wl), x1, l);                               \
        a11 = ep_vmlal_high_laneq_s16(a11, wl, x1, l);                                     \
        a12 = vmlal_laneq_s16(a12, vget_low_s16(wh), x1, l);                               \
        a13 = ep_vmlal_high_laneq_s16(a13, wh, x1, l);                                     \
        a20 = vmlal_laneq_s16(a20, vget_low_s16(wl), x2, l);                               \
        a21 = ep_vmlal_high_laneq_s16(a21, wl, x2, l);                                     \
        a22 = vmlal_laneq_s16(a22, vget_low_s16(wh), x2, l);                               \
        a23 = ep_vmlal_high_laneq_s16(a23, wh, x2, l);                                     \
        a30 = vmlal_laneq_s16(a30, vget_low_s16(wl), x3, l);                               \
        a31 = ep_vmlal_high_laneq_s16(a31, wl, x3, l);                                     \
        a32 = vmlal_laneq_s16(a32, vget_low_s16(wh), x3, l);                               \
        a33 = ep_vmlal_high_laneq_s16(a33, wh, x3, l);                                     \
    } while (0)

#define RB_L(a, w, x, l) "smlal v" #a ".4s, v" #w ".4h, v" #x ".h[" #l "]\n\t"
#define RB_H(a, w, x, l) "smlal2 v" #a ".4s, v" #w ".8h, v" #x ".h[" #l "]\n\t"
#define RB_STEP(wl, wh, l)                                                                  \
    RB_L(16, wl, 0, l) RB_H(17, wl, 0, l) RB_L(18, wh, 0, l) RB_H(19, wh, 0, l)             \
    RB_L(20, wl, 1, l) RB_H(21, wl, 1, l) RB_L(22, wh, 1, l) RB_H(23, wh, 1, l)             \
    RB_L(24, wl, 2, l) RB_H(25, wl, 2, l) RB_L(26, wh, 2, l) RB_H(27, wh, 2, l)             \
    RB_L(28, wl, 3, l) RB_H(29, wl, 3, l) RB_L(30, wh, 3, l) RB_H(31, wh, 3, l)
#define RB_LDA "ldp q4, q5, [%[w]], #32\n\t"
#define RB_LDB "ldp q6, q7, [%[w]], #32\n\t"

#endif
