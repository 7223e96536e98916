#include "model/cuda_graph.h"

#include "torchllm/error.h"

#ifdef TORCHLLM_WITH_CUDA
#include <ATen/cuda/CUDAEvent.h>
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

namespace torchllm {

#ifdef TORCHLLM_WITH_CUDA

struct CapturedStep::Impl {
  at::cuda::CUDAGraph graph;
  at::Tensor output;
};

bool CapturedStep::supported(const c10::Device& device) { return device.is_cuda(); }

std::unique_ptr<CapturedStep> CapturedStep::capture(const c10::Device& device,
                                                    const std::function<at::Tensor()>& step,
                                                    at::Tensor* warmup_result) {
  c10::cuda::CUDAGuard device_guard(device);
  const c10::cuda::CUDAStream current = c10::cuda::getCurrentCUDAStream();
  const c10::cuda::CUDAStream side = c10::cuda::getStreamFromPool();
  at::cuda::CUDAEvent inputs_ready;
  inputs_ready.record(current);  // the inputs were uploaded on the current stream
  inputs_ready.block(side);
  auto impl = std::make_unique<Impl>();
  {
    c10::cuda::CUDAStreamGuard stream_guard(side);
    *warmup_result = step();
    impl->graph.capture_begin();
    try {
      impl->output = step();
    } catch (...) {
      try {
        impl->graph.capture_end();  // ends the stream's capture mode so the stream stays usable
      } catch (...) {
      }
      throw;
    }
    impl->graph.capture_end();
  }
  at::cuda::CUDAEvent done;
  done.record(side);
  done.block(current);
  return std::unique_ptr<CapturedStep>(new CapturedStep(std::move(impl)));
}

void CapturedStep::replay() { impl_->graph.replay(); }

#else

struct CapturedStep::Impl {
  at::Tensor output;
};

bool CapturedStep::supported(const c10::Device&) { return false; }

std::unique_ptr<CapturedStep> CapturedStep::capture(const c10::Device&, const std::function<at::Tensor()>&,
                                                    at::Tensor*) {
  throw Error::unsupported("CUDA graphs need a libtorch built with CUDA");
}

void CapturedStep::replay() {}

#endif

CapturedStep::CapturedStep(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CapturedStep::~CapturedStep() = default;
const at::Tensor& CapturedStep::output() const { return impl_->output; }

}  // namespace torchllm
