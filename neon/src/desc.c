// SPDX-License-Identifier: Apache-2.0
/* Flat int32 descriptors: one entry point for every kernel (the aarch64 test driver, ctypes). */
#include <stdlib.h>

#include "ep_internal.h"

static void pool_of(const int32_t *d, ep_pool_params *p) {
    p->h = d[EP_D_H]; p->w = d[EP_D_W]; p->c = d[EP_D_C];
    p->kh = d[EP_D_KH]; p->kw = d[EP_D_KW]; p->sh = d[EP_D_SH]; p->sw = d[EP_D_SW];
    p->pt = d[EP_D_PT]; p->pl = d[EP_D_PL]; p->pb = d[EP_D_PB]; p->pr = d[EP_D_PR];
    p->dh = d[EP_D_DH]; p->dw = d[EP_D_DW]; p->ceil_mode = d[EP_D_CEIL];
    p->count_include_pad = d[EP_D_CIP]; p->algo = d[EP_D_ALGO];
}

static void fpool_of(const int32_t *d, ep_pool_params *p) {
    memset(p, 0, sizeof *p);
    p->kh = d[EP_D_PKH]; p->kw = d[EP_D_PKW]; p->sh = d[EP_D_PSH]; p->sw = d[EP_D_PSW];
    p->pt = d[EP_D_PPT]; p->pl = d[EP_D_PPL]; p->pb = d[EP_D_PPB]; p->pr = d[EP_D_PPR];
    p->dh = 1; p->dw = 1; p->ceil_mode = d[EP_D_PCEIL]; p->algo = d[EP_D_PALGO];
}

static void conv_of(const int32_t *d, ep_conv_params *p) {
    p->h = d[EP_D_H]; p->w = d[EP_D_W]; p->ic = d[EP_D_C]; p->oc = d[EP_D_OC];
    p->kh = d[EP_D_KH]; p->kw = d[EP_D_KW]; p->sh = d[EP_D_SH]; p->sw = d[EP_D_SW];
    p->pt = d[EP_D_PT]; p->pl = d[EP_D_PL]; p->pb = d[EP_D_PB]; p->pr = d[EP_D_PR];
    p->dh = d[EP_D_DH]; p->dw = d[EP_D_DW]; p->groups = d[EP_D_GROUPS]; p->algo = d[EP_D_ALGO];
    p->threads = d[EP_D_THREADS]; p->wbits = d[EP_D_WBITS];
    p->narrow = (d[EP_D_FLAGS] & EP_F_NARROW) != 0;
}

static void fc_of(const int32_t *d, ep_fc_params *p) {
    p->n = d[EP_D_N]; p->m = d[EP_D_OC]; p->wbits = d[EP_D_WBITS];
    p->narrow = (d[EP_D_FLAGS] & EP_F_NARROW) != 0; p->threads = d[EP_D_THREADS];
}

/* FC through the packed GEMV: int8, prepacked weights or algo EP_ALGO_RB */
static int fc_packed_path(const int32_t *d) {
    return d[EP_D_DTYPE] == EP_I8 && ((d[EP_D_FLAGS] & EP_F_PREPACKED) || d[EP_D_ALGO] == EP_ALGO_RB);
}

static size_t packed_scratch(const int32_t *d, size_t bytes) {
    return (d[EP_D_FLAGS] & EP_F_PREPACKED) ? 0 : EP_ALIGN(bytes);
}

static void rq_of(const int32_t *d, ep_requant *rq) {
    rq->shift = d[EP_D_RQ_SHIFT]; rq->relu = d[EP_D_RQ_RELU];
    rq->qmin = d[EP_D_RQ_QMIN]; rq->qmax = d[EP_D_RQ_QMAX]; rq->out = d[EP_D_RQ_OUT];
}

static size_t acc_size(ep_dtype t) { return t == EP_I16 ? 8 : 4; }

long long ep_desc_out_bytes(const int32_t *d) {
    const ep_dtype t = (ep_dtype)d[EP_D_DTYPE];
    const size_t es = ep_dtype_size(t);
    ep_pool_params pp;
    ep_conv_params cp;
    ep_requant rq;
    int oh, ow;
    rq_of(d, &rq);
    switch (d[EP_D_OP]) {
    case EP_OP_MAXPOOL: case EP_OP_AVGPOOL:
        pool_of(d, &pp);
        if (ep_pool_output_shape(&pp, &oh, &ow)) return -1;
        return (long long)oh * ow * pp.c * es;
    case EP_OP_GLOBAL_MAX: case EP_OP_GLOBAL_AVG:
        return (long long)d[EP_D_C] * es;
    case EP_OP_CONV:
        conv_of(d, &cp);
        if (ep_conv_output_shape(&cp, &oh, &ow)) return -1;
        return (long long)oh * ow * cp.oc *
               (d[EP_D_RQ] && t != EP_F32 ? ep_dtype_size((ep_dtype)rq.out) : acc_size(t));
    case EP_OP_CONV_MAXPOOL: {
        conv_of(d, &cp);
        if (ep_conv_output_shape(&cp, &oh, &ow)) return -1;
        fpool_of(d, &pp);
        pp.h = oh; pp.w = ow; pp.c = cp.oc;
        int poh, pow_;
        if (ep_pool_output_shape(&pp, &poh, &pow_)) return -1;
        return (long long)poh * pow_ * cp.oc * ep_dtype_size((ep_dtype)rq.out);
    }
    case EP_OP_FC:
        return (long long)d[EP_D_OC] *
               (d[EP_D_RQ] && t != EP_F32 ? ep_dtype_size((ep_dtype)rq.out) : acc_size(t));
    case EP_OP_REQUANT32: case EP_OP_REQUANT64:
        return (long long)d[EP_D_N] * ep_dtype_size((ep_dtype)rq.out);
    case EP_OP_THRESHOLD:
        return (long long)d[EP_D_N] * d[EP_D_C] * ep_dtype_size((ep_dtype)rq.out);
    case EP_OP_FC_XNOR:
        return (long long)d[EP_D_OC] * (d[EP_D_RQ] ? ep_dtype_size((ep_dtype)rq.out) : 4);
    }
    return -1;
}

long long ep_desc_scratch_bytes(const int32_t *d) {
    const ep_dtype t = (ep_dtype)d[EP_D_DTYPE];
    ep_pool_params pp;
    ep_conv_params cp;
    ep_requant rq;
    rq_of(d, &rq);
    switch (d[EP_D_OP]) {
    case EP_OP_MAXPOOL: pool_of(d, &pp); return (long long)ep_maxpool_scratch_bytes(&pp, t);
    case EP_OP_AVGPOOL: pool_of(d, &pp); return (long long)ep_avgpool_scratch_bytes(&pp, t);
    case EP_OP_CONV:
        conv_of(d, &cp);
        if (!ep_conv_packed_bytes(&cp, t)) return -1;
        return (long long)(packed_scratch(d, ep_conv_packed_bytes(&cp, t)) +
                           ep_conv_scratch_bytes(&cp, t));
    case EP_OP_CONV_MAXPOOL:
        conv_of(d, &cp);
        fpool_of(d, &pp);
        if (!ep_conv_packed_bytes(&cp, t)) return -1;
        return (long long)(packed_scratch(d, ep_conv_packed_bytes(&cp, t)) +
                           ep_conv_maxpool_scratch_bytes(&cp, t, &pp, &rq));
    case EP_OP_FC: {
        ep_fc_params fp;
        fc_of(d, &fp);
        return fc_packed_path(d) ? (long long)packed_scratch(d, ep_fc_packed_bytes(&fp)) : 0;
    }
    default: return 0;
    }
}

int ep_desc_run(const int32_t *d, const void *const *in, void *out, void *scratch) {
    const ep_dtype t = (ep_dtype)d[EP_D_DTYPE];
    ep_pool_params pp;
    ep_conv_params cp;
    ep_requant rq;
    rq_of(d, &rq);
    const ep_requant *rqp = d[EP_D_RQ] ? &rq : NULL;
    switch (d[EP_D_OP]) {
    case EP_OP_MAXPOOL: pool_of(d, &pp); return ep_maxpool(&pp, t, in[0], out, scratch);
    case EP_OP_AVGPOOL: pool_of(d, &pp); return ep_avgpool(&pp, t, in[0], out, scratch);
    case EP_OP_GLOBAL_MAX:
        return ep_global_maxpool(d[EP_D_H], d[EP_D_W], d[EP_D_C], t, in[0], out);
    case EP_OP_GLOBAL_AVG:
        return ep_global_avgpool(d[EP_D_H], d[EP_D_W], d[EP_D_C], t, in[0], out);
    case EP_OP_CONV: case EP_OP_CONV_MAXPOOL: {
        conv_of(d, &cp);
        const size_t pk = packed_scratch(d, ep_conv_packed_bytes(&cp, t));
        if (!ep_conv_packed_bytes(&cp, t) || !scratch) return EP_EINVAL;
        const void *packed = in[1];
        if (!(d[EP_D_FLAGS] & EP_F_PREPACKED)) {
            int rc = ep_conv_pack(&cp, t, in[1], scratch);
            if (rc) return rc;
            packed = scratch;
        }
        if (d[EP_D_OP] == EP_OP_CONV)
            return ep_conv(&cp, t, in[0], packed, in[2], rqp, out, (char *)scratch + pk);
        fpool_of(d, &pp);
        return ep_conv_maxpool(&cp, t, in[0], packed, in[2], &rq, &pp, out,
                               (char *)scratch + pk);
    }
    case EP_OP_FC: {
        if (!fc_packed_path(d))
            return ep_fc(d[EP_D_N], d[EP_D_OC], t, in[0], in[1], in[2], rqp, out);
        ep_fc_params fp;
        fc_of(d, &fp);
        const int8_t *packed = (const int8_t *)in[1];
        if (!(d[EP_D_FLAGS] & EP_F_PREPACKED)) {
            if (!scratch) return EP_EINVAL;
            int rc = ep_fc_pack(&fp, (const int8_t *)in[1], (int8_t *)scratch);
            if (rc) return rc;
            packed = (const int8_t *)scratch;
        }
        return ep_fc_packed(&fp, (const int8_t *)in[0], packed, (const int32_t *)in[2], rqp, out);
    }
    case EP_OP_REQUANT32:
        return ep_requantize_i32((const int32_t *)in[0], (size_t)d[EP_D_N], &rq, out);
    case EP_OP_REQUANT64:
        return ep_requantize_i64((const int64_t *)in[0], (size_t)d[EP_D_N], &rq, out);
    case EP_OP_THRESHOLD:
        return ep_threshold_i32((const int32_t *)in[0], (size_t)d[EP_D_N], (size_t)d[EP_D_C],
                                (const int32_t *)in[1], (size_t)d[EP_D_OC],
                                (const int32_t *)in[2], d[EP_D_RQ_QMIN], d[EP_D_RQ_QMAX],
                                d[EP_D_RQ_OUT], out);
    case EP_OP_FC_XNOR:
        if (t != EP_I8) return EP_ETYPE;
        return ep_fc_xnor(d[EP_D_N], d[EP_D_OC], (const int8_t *)in[0], (const uint8_t *)in[1],
                          (const int32_t *)in[2], rqp, out);
    }
    return EP_EINVAL;
}

int ep_desc_conv_algo(const int32_t *d) {
    ep_conv_params cp;
    conv_of(d, &cp);
    return ep_conv_algo(&cp, (ep_dtype)d[EP_D_DTYPE]);
}

double ep_desc_conv_cost(const int32_t *d, int algo) {
    ep_conv_params cp;
    conv_of(d, &cp);
    return ep_conv_cost(&cp, (ep_dtype)d[EP_D_DTYPE], algo);
}

long long ep_desc_packed_bytes(const int32_t *d) {
    const ep_dtype t = (ep_dtype)d[EP_D_DTYPE];
    if (d[EP_D_OP] == EP_OP_CONV || d[EP_D_OP] == EP_OP_CONV_MAXPOOL) {
        ep_conv_params cp;
        conv_of(d, &cp);
        const size_t n = ep_conv_packed_bytes(&cp, t);
        return n ? (long long)n : -1;
    }
    if (d[EP_D_OP] == EP_OP_FC && t == EP_I8) {
        ep_fc_params fp;
        fc_of(d, &fp);
        const size_t n = ep_fc_packed_bytes(&fp);
        return n ? (long long)n : -1;
    }
    return -1;
}

int ep_desc_pack(const int32_t *d, const void *w, void *packed) {
    const ep_dtype t = (ep_dtype)d[EP_D_DTYPE];
    if (d[EP_D_OP] == EP_OP_CONV || d[EP_D_OP] == EP_OP_CONV_MAXPOOL) {
        ep_conv_params cp;
        conv_of(d, &cp);
        return ep_conv_pack(&cp, t, w, packed);
    }
    if (d[EP_D_OP] == EP_OP_FC && t == EP_I8) {
        ep_fc_params fp;
        fc_of(d, &fp);
        return ep_fc_pack(&fp, (const int8_t *)w, (int8_t *)packed);
    }
    return EP_EINVAL;
}
