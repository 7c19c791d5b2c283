// SPDX-License-Identifier: Apache-2.0
/* Calls a TVM-generated (LLVM, aarch64) single-op object from the benchmark driver: builds
 * DLTensor arguments and invokes the packed entry __tvm_ffi_tvm_op. Compiled only with
 * -DEP_BENCH_TVM and the tvm_ffi headers of the installed package. */
#define _POSIX_C_SOURCE 200112L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tvm/ffi/c_api.h>

int __tvm_ffi_tvm_op(void *self, const TVMFFIAny *args, int32_t num_args, TVMFFIAny *result);

/* the generated object reaches the TVM runtime's workspace allocator through these pointers */
extern void *__TVMBackendAllocWorkspace __attribute__((weak));
extern void *__TVMBackendFreeWorkspace __attribute__((weak));

static void *alloc_ws(int dev_type, int dev_id, uint64_t nbytes, int code, int bits) {
    (void)dev_type; (void)dev_id; (void)code; (void)bits;
    void *p = NULL;
    return posix_memalign(&p, 64, nbytes ? nbytes : 64) ? NULL : p;
}

static int free_ws(int dev_type, int dev_id, void *ptr) {
    (void)dev_type; (void)dev_id;
    free(ptr);
    return 0;
}

void TVMFFIErrorSetRaisedFromCStrParts(const char *kind, const char **parts, int32_t n) {
    fprintf(stderr, "tvm error %s:", kind);
    for (int i = 0; i < n; i++) fprintf(stderr, " %s", parts[i]);
    fprintf(stderr, "\n");
}

/* nargs tensors of 4 dims (shape[4 * i ..]), dtype codes (0 int, 2 float) and bits */
int ep_tvm_run(int nargs, void **data, const int64_t *shapes, const int *codes, const int *bits) {
    DLTensor t[4];
    TVMFFIAny a[4], res;
    memset(t, 0, sizeof t);
    memset(a, 0, sizeof a);
    memset(&res, 0, sizeof res);
    if (&__TVMBackendAllocWorkspace) __TVMBackendAllocWorkspace = (void *)alloc_ws;
    if (&__TVMBackendFreeWorkspace) __TVMBackendFreeWorkspace = (void *)free_ws;
    for (int i = 0; i < nargs; i++) {
        t[i].data = data[i];
        t[i].device.device_type = kDLCPU;
        t[i].ndim = 4;
        while (t[i].ndim > 1 && shapes[4 * i + t[i].ndim - 1] == 0) t[i].ndim--;
        t[i].dtype.code = (uint8_t)codes[i];
        t[i].dtype.bits = (uint8_t)bits[i];
        t[i].dtype.lanes = 1;
        t[i].shape = (int64_t *)(shapes + 4 * i);
        a[i].type_index = kTVMFFIDLTensorPtr;
        a[i].v_ptr = &t[i];
    }
    return __tvm_ffi_tvm_op(NULL, a, nargs, &res);
}
