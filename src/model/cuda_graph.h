#pragma once

// The one place that knows about CUDA graphs: capture a function that launches device work into a graph,
// then replay it. Compiled to stubs when libtorch has no CUDA.

#include <ATen/Tensor.h>
#include <c10/core/Device.h>

#include <functional>
#include <memory>

namespace torchllm {

class CapturedStep {
 public:
  // Whether this build can capture graphs on `device`.
  static bool supported(const c10::Device& device);

  // Runs `step` once eagerly on a side stream (the warm-up that lets libraries set up their workspaces; its
  // result goes to *warmup_result), then captures a second call into a graph with its own memory pool. The
  // inputs `step` reads must stay at the same addresses for every replay. Throws what `step` or the capture
  // throws; the stream is left usable.
  static std::unique_ptr<CapturedStep> capture(const c10::Device& device,
                                               const std::function<at::Tensor()>& step,
                                               at::Tensor* warmup_result);
  ~CapturedStep();

  // Launches the captured work on the current stream; output() then holds its result.
  void replay();
  const at::Tensor& output() const;

 private:
  struct Impl;
  explicit CapturedStep(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace torchllm
