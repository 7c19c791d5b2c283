// SPDX-License-Identifier: Apache-2.0
/*
 * edgepool CPU runner: loads a model library built by `edgepool build --target cortex-a53|x86`
 * (a TVM Relax VM executable with the NEON kernels linked in) and runs it on a batch of inputs
 * in ONE process.
 *
 *   runner MODEL.so IN.bin OUT.bin [REPEAT]
 *
 * IN.bin:  N images, each the model inputs in order as raw little-endian arrays of the shapes
 *          and dtypes in model_io.h (float32 NCHW for a quantizing model); N = size / image size.
 * OUT.bin: N results, each the model outputs in order (raw, dtypes of model_io.h).
 * REPEAT:  after the pass that writes OUT.bin, run the whole batch REPEAT more times and report
 *          the mean time per image (default 0: no timing loop).
 * stdout:  one JSON line {"images", "repeat", "us_per_image", "max_rss_kb"} (peak resident set:
 *          VmHWM, see peak_rss_kb()).
 */
#include <sys/resource.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include <tvm/ffi/any.h>
#include <tvm/ffi/container/array.h>
#include <tvm/ffi/container/tensor.h>
#include <tvm/ffi/extra/module.h>
#include <tvm/ffi/function.h>

#include "model_io.h"

namespace ffi = tvm::ffi;

namespace {

struct HostAlloc {
  void AllocData(DLTensor* t) {
    size_t n = ffi::GetDataSize(*t);
    void* p = nullptr;
    if (posix_memalign(&p, 64, n ? n : 64) != 0) p = nullptr;
    t->data = p;
  }
  void FreeData(DLTensor* t) { free(t->data); }
};

DLDataType parse_dtype(const char* s) {
  DLDataType d;
  d.lanes = 1;
  if (std::strncmp(s, "float", 5) == 0) {
    d.code = kDLFloat;
    d.bits = static_cast<uint8_t>(std::atoi(s + 5));
  } else if (std::strncmp(s, "uint", 4) == 0) {
    d.code = kDLUInt;
    d.bits = static_cast<uint8_t>(std::atoi(s + 4));
  } else {
    d.code = kDLInt;
    d.bits = static_cast<uint8_t>(std::atoi(s + 3));
  }
  return d;
}

size_t image_bytes(const int64_t* shape, int ndim, const char* dtype) {
  size_t n = 1;
  for (int i = 0; i < ndim; i++) n *= static_cast<size_t>(shape[i]);
  return n * ((parse_dtype(dtype).bits + 7) / 8);
}

// Peak resident set of this process image: VmHWM from /proc/self/status (reset by exec, unlike
// getrusage's ru_maxrss, which keeps the parent's high-water mark across fork + exec), else
// ru_maxrss. Under qemu-user this is the emulator's peak, not the guest's.
long peak_rss_kb() {
  FILE* f = std::fopen("/proc/self/status", "r");
  if (f) {
    char line[256];
    long kb = -1;
    while (std::fgets(line, sizeof line, f))
      if (std::strncmp(line, "VmHWM:", 6) == 0) kb = std::strtol(line + 6, nullptr, 10);
    std::fclose(f);
    if (kb > 0) return kb;
  }
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<long>(ru.ru_maxrss);
}

int fail(const std::string& msg) {
  std::fprintf(stderr, "runner: %s\n", msg.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s MODEL.so IN.bin OUT.bin [REPEAT]\n", argv[0]);
    return 2;
  }
  const int repeat = argc > 4 ? std::atoi(argv[4]) : 0;
  try {
    // inputs
    size_t in_bytes = 0, out_bytes = 0;
    std::vector<size_t> in_sizes, out_sizes;
    for (int i = 0; i < EP_NUM_INPUTS; i++) {
      in_sizes.push_back(image_bytes(ep_input_shapes[i], ep_input_ndim[i], ep_input_dtypes[i]));
      in_bytes += in_sizes.back();
    }
    for (int i = 0; i < EP_NUM_OUTPUTS; i++) {
      out_sizes.push_back(
          image_bytes(ep_output_shapes[i], ep_output_ndim[i], ep_output_dtypes[i]));
      out_bytes += out_sizes.back();
    }
    FILE* f = std::fopen(argv[2], "rb");
    if (!f) return fail(std::string("cannot open ") + argv[2]);
    std::fseek(f, 0, SEEK_END);
    long total = std::ftell(f);
    std::fseek(f, 0, SEEK_SET);
    if (total <= 0 || static_cast<size_t>(total) % in_bytes != 0) {
      std::fclose(f);
      return fail("input size is not a multiple of one image (" + std::to_string(in_bytes) +
                  " bytes)");
    }
    const size_t n_img = static_cast<size_t>(total) / in_bytes;
    std::vector<char> in(static_cast<size_t>(total)), out(n_img * out_bytes);
    if (std::fread(in.data(), 1, in.size(), f) != in.size()) {
      std::fclose(f);
      return fail("short read");
    }
    std::fclose(f);

    // model: library -> Relax VM executable -> VM on the CPU (pooled allocator)
    ffi::Module lib = ffi::Module::LoadFromFile(argv[1]);
    ffi::Module vm = lib->GetFunction("vm_load_executable").value()().cast<ffi::Module>();
    const int kCPU = kDLCPU, kPooled = 2;
    vm->GetFunction("vm_initialization").value()(kCPU, 0, kPooled);
    ffi::Function fmain = vm->GetFunction("main").value();

    DLDevice cpu{kDLCPU, 0};
    std::vector<ffi::Tensor> args;
    for (int i = 0; i < EP_NUM_INPUTS; i++) {
      ffi::ShapeView shape(ep_input_shapes[i], ep_input_ndim[i]);
      args.push_back(ffi::Tensor::FromNDAlloc(HostAlloc(), shape,
                                              parse_dtype(ep_input_dtypes[i]), cpu));
    }
    std::vector<ffi::AnyView> views(args.begin(), args.end());

    auto run_one = [&](size_t img, bool keep) {
      const char* src = in.data() + img * in_bytes;
      for (int i = 0; i < EP_NUM_INPUTS; i++) {
        std::memcpy(args[i].GetDLTensorPtr()->data, src, in_sizes[i]);
        src += in_sizes[i];
      }
      ffi::Any ret;
      fmain.CallPacked(views.data(), static_cast<int32_t>(views.size()), &ret);
      if (!keep) return;
      char* dst = out.data() + img * out_bytes;
      std::vector<ffi::Tensor> outs;
      if (auto t = ret.try_cast<ffi::Tensor>()) {
        outs.push_back(*t);
      } else {
        for (const ffi::Any& a : ret.cast<ffi::Array<ffi::Any>>())
          outs.push_back(a.cast<ffi::Tensor>());
      }
      if (static_cast<int>(outs.size()) != EP_NUM_OUTPUTS)
        throw std::runtime_error("model returned " + std::to_string(outs.size()) + " outputs");
      for (int i = 0; i < EP_NUM_OUTPUTS; i++) {
        const DLTensor* t = outs[i].GetDLTensorPtr();
        if (ffi::GetDataSize(*t) != out_sizes[i])
          throw std::runtime_error("output " + std::to_string(i) + " has the wrong size");
        std::memcpy(dst, static_cast<const char*>(t->data) + t->byte_offset, out_sizes[i]);
        dst += out_sizes[i];
      }
    };

    for (size_t i = 0; i < n_img; i++) run_one(i, true);
    double us = 0.0;
    if (repeat > 0) {
      auto t0 = std::chrono::steady_clock::now();
      for (int r = 0; r < repeat; r++)
        for (size_t i = 0; i < n_img; i++) run_one(i, false);
      auto t1 = std::chrono::steady_clock::now();
      us = std::chrono::duration<double, std::micro>(t1 - t0).count() /
           (static_cast<double>(repeat) * static_cast<double>(n_img));
    }

    FILE* g = std::fopen(argv[3], "wb");
    if (!g || std::fwrite(out.data(), 1, out.size(), g) != out.size())
      return fail(std::string("cannot write ") + argv[3]);
    std::fclose(g);
    std::printf("{\"images\": %zu, \"repeat\": %d, \"us_per_image\": %.3f, \"max_rss_kb\": %ld}\n",
                n_img, repeat, us, peak_rss_kb());
  } catch (const std::exception& e) {
    return fail(e.what());
  }
  return 0;
}
