#include "model/gguf_export.h"

#include <ATen/ATen.h>
#include <sys/stat.h>

#include <cmath>
#include <map>

#include "model/quant/quantize_blocks.h"
#include "model/quantize_at_load.h"
#include "model/weights.h"
#include "torchllm/architecture.h"
#include "torchllm/checkpoint.h"
#include "torchllm/error.h"
#include "torchllm/gguf_model.h"
#include "torchllm/model_config.h"

namespace torchllm {
namespace {

bool is_directory(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string base_name(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// The GGUF form of the checkpoint's architecture: an entry without a GGUF name of its own (Mistral) is
// written as "llama", as llama.cpp's converter does, and then takes llama's q/k row order too.
const Architecture& gguf_architecture(const Architecture& arch) {
  return arch.gguf_name ? arch : find_gguf_architecture("llama");
}

// llama.cpp's converter's rope_freqs for llama3 rope scaling (conversion/llama.py generate_extra_tensors), in
// float32 as its torch code computes them, so that llama.cpp and the GGUF loader apply the same factors.
std::vector<float> llama3_rope_factors(const ModelConfig& c) {
  const RopeScaling& s = c.rope_scaling;
  const float base = static_cast<float>(c.rope_theta);
  const double low_wavelen = static_cast<double>(s.original_max_position_embeddings) / s.low_freq_factor;
  const double high_wavelen = static_cast<double>(s.original_max_position_embeddings) / s.high_freq_factor;
  std::vector<float> factors;
  for (int64_t i = 0; i < c.head_dim; i += 2) {
    const float freq =
        1.0f / std::pow(base, static_cast<float>(i) / static_cast<float>(c.head_dim));  // float32 tensor
    const float wavelen = static_cast<float>(2 * M_PI) / freq;
    if (wavelen < high_wavelen) {
      factors.push_back(1.0f);
    } else if (wavelen > low_wavelen) {
      factors.push_back(static_cast<float>(s.factor));
    } else {
      const float smooth = (static_cast<float>(s.original_max_position_embeddings) / wavelen -
                            static_cast<float>(s.low_freq_factor)) /
                           static_cast<float>(s.high_freq_factor - s.low_freq_factor);
      factors.push_back(1.0f / ((1.0f - smooth) / static_cast<float>(s.factor) + smooth));
    }
  }
  return factors;
}

// One tensor of the output: where its values come from and how they are laid out.
struct Planned {
  std::string hf_name;  // empty for rope_freqs
  std::string gguf_name;
  std::vector<int64_t> shape;  // the checkpoint's (PyTorch order)
  std::vector<int64_t> dims;   // GGUF order (innermost first) of what is written
  GgmlType type;
  bool transposed = false;  // GPT-2's Conv1D weight: [in, out] in the checkpoint, written [out, in]
};

// GPT-2's Conv1D weights, the ones its checkpoint stores [in, out].
bool conv1d_weight(const std::string& hf_name) {
  for (const char* suffix :
       {".attn.c_attn.weight", ".attn.c_proj.weight", ".mlp.c_fc.weight", ".mlp.c_proj.weight"}) {
    const std::string s = suffix;
    if (hf_name.size() > s.size() && hf_name.compare(hf_name.size() - s.size(), s.size(), s) == 0)
      return true;
  }
  return false;
}

void add_model_metadata(GgufWriter& w, const ModelConfig& c, const Architecture& garch,
                        const std::string& model_dir, GgmlType type) {
  const std::string a = garch.gguf_name;
  const auto u32 = [](int64_t v) { return static_cast<uint32_t>(v); };
  // The converter's order (gguf-py writes keys as added), so that dumps of the two compare line by line.
  w.add_string("general.architecture", a);
  w.add_string("general.type", "model");
  w.add_string("general.name", base_name(model_dir));
  w.add_u32(a + ".block_count", u32(c.num_layers));
  w.add_u32(a + ".context_length", u32(c.max_position_embeddings));
  w.add_u32(a + ".embedding_length", u32(c.hidden_size));
  w.add_u32(a + ".feed_forward_length", u32(c.intermediate_size));
  w.add_u32(a + ".attention.head_count", u32(c.num_heads));
  if (garch.gpt2_block) {
    w.add_f32(a + ".attention.layer_norm_epsilon", static_cast<float>(c.rms_norm_eps));
  } else {
    w.add_u32(a + ".attention.head_count_kv", u32(c.num_kv_heads));
    w.add_f32(a + ".rope.freq_base", static_cast<float>(c.rope_theta));
    w.add_f32(a + ".attention.layer_norm_rms_epsilon", static_cast<float>(c.rms_norm_eps));
    // Always, since a head size other than hidden / heads (Qwen3) is only known from these.
    w.add_u32(a + ".attention.key_length", u32(c.head_dim));
    w.add_u32(a + ".attention.value_length", u32(c.head_dim));
    if (c.rope_scaling.type == RopeScaling::Type::kLinear) {
      w.add_string(a + ".rope.scaling.type", "linear");
      w.add_f32(a + ".rope.scaling.factor", static_cast<float>(c.rope_scaling.factor));
    }
  }
  w.add_u32("general.file_type", gguf_file_type(type));
  if (a == "llama") {
    w.add_u32(a + ".vocab_size", u32(c.vocab_size));
    w.add_u32(a + ".rope.dimension_count", u32(c.head_dim));
  }
  w.add_u32("general.quantization_version", 2);
}

// The checkpoint's values of `p` as float32 [rows, columns] in the order the GGUF stores them.
at::Tensor stored_values(const Checkpoint& checkpoint, const Planned& p, const ModelConfig& c,
                         const Architecture& garch) {
  at::Tensor v = at::empty(p.shape, at::kFloat);
  checkpoint.load_into(p.hf_name, v);
  if (p.transposed) v = v.t();  // [in, out] -> [out, in], the rows llama.cpp multiplies by
  // llama.cpp rotates interleaved pairs (the converter's LlamaModel.permute; loading undoes it).
  const std::vector<int64_t> hf_rows = gguf_qk_hf_rows(p.hf_name, garch, v.size(0), c.head_dim);
  if (!hf_rows.empty()) v = v.index_select(0, at::tensor(hf_rows, at::kLong));
  return v.contiguous();
}

}  // namespace

uint32_t gguf_file_type(GgmlType type) {
  switch (type) {
    case GgmlType::kF32:
      return 0;
    case GgmlType::kF16:
      return 1;
    case GgmlType::kQ4_0:
      return 2;
    case GgmlType::kQ4_1:
      return 3;
    case GgmlType::kQ8_0:
      return 7;
    case GgmlType::kQ5_0:
      return 8;
    case GgmlType::kQ5_1:
      return 9;
    case GgmlType::kQ4_K:
      return 14;  // MOSTLY_Q4_K_S
    case GgmlType::kQ5_K:
      return 16;  // MOSTLY_Q5_K_S
    case GgmlType::kQ6_K:
      return 18;
    case GgmlType::kBF16:
      return 32;
    default:
      break;
  }
  throw Error::invalid_argument(std::string("cannot write a GGUF file of type ") + quantize_type_name(type));
}

GgmlType gguf_export_tensor_type(GgmlType requested, const std::string& gguf_name,
                                 const std::vector<int64_t>& shape) {
  // Norms, biases and rope_freqs are small and read as float32 everywhere; llama-quantize also keeps
  // position embeddings (GPT-2's) unquantized.
  if (shape.size() < 2 || gguf_name == "position_embd.weight") return GgmlType::kF32;
  if (requested == GgmlType::kF32 || requested == GgmlType::kF16 || requested == GgmlType::kBF16) {
    return requested;
  }
  const int64_t columns = shape.back();
  const bool k_type =
      requested == GgmlType::kQ4_K || requested == GgmlType::kQ5_K || requested == GgmlType::kQ6_K;
  // Rows that are not whole blocks of even the fallback type: llama-quantize's last resort is F16.
  if (!k_type)
    return columns % dequant_block_elements(static_cast<uint32_t>(requested)) == 0 ? requested
                                                                                   : GgmlType::kF16;
  return columns % 32 == 0 ? quantize_type_for_rows(requested, columns) : GgmlType::kF16;
}

GgufExportSummary export_gguf(const std::string& model_dir, const std::string& out_path,
                              const GgufExportOptions& options) {
  if (!is_directory(model_dir)) {
    throw Error::not_found(model_dir +
                           ": no such directory (give a Hugging Face model directory with config.json and "
                           "*.safetensors)");
  }
  if (!can_quantize(options.type)) {
    throw Error::invalid_argument(std::string("cannot write tensors of type ") +
                                  quantize_type_name(options.type) + " (supported: " + quantizable_types() +
                                  ")");
  }
  const ModelConfig config = load_model_config(model_dir);
  const Architecture& arch = find_architecture(config.architecture);
  const Architecture& garch = gguf_architecture(arch);
  if (config.sliding_window) {
    throw Error::unsupported(model_dir +
                             ": sliding-window attention has no GGUF form that torchllm reads; export "
                             "is not supported for this checkpoint");
  }
  if (!garch.gpt2_block && config.rope_scaling.type == RopeScaling::Type::kLlama3 &&
      std::string(garch.gguf_name) != "llama") {
    throw Error::unsupported(model_dir + ": llama3 rope scaling is only written for llama GGUF files");
  }
  const Checkpoint checkpoint(model_dir);

  // Every tensor's name, shape and type first: GGUF declares them all before the data.
  std::vector<Planned> plan;
  if (config.rope_scaling.type == RopeScaling::Type::kLlama3) {
    plan.push_back({"", "rope_freqs.weight", {config.head_dim / 2}, {config.head_dim / 2}, GgmlType::kF32});
  }
  build_weight_set(config, arch, at::TensorOptions().device(at::kMeta),
                   [&](const std::string& hf_name, at::Tensor dst) {
                     Planned p;
                     p.hf_name = hf_name;
                     p.gguf_name = gguf_tensor_name(hf_name);
                     if (p.gguf_name.empty()) {
                       throw Error::unsupported(model_dir + ": tensor '" + hf_name + "' has no GGUF name");
                     }
                     if (!checkpoint.contains(hf_name)) {
                       throw Error::corrupt(model_dir + ": the checkpoint has no tensor '" + hf_name +
                                            "', which " + config.architecture + " needs");
                     }
                     p.shape = dst.sizes().vec();
                     // GGUF order: innermost first. GPT-2's Conv1D weights are [in, out] in the
                     // checkpoint and written [out, in], so their GGUF dims are the checkpoint's own.
                     p.dims.assign(p.shape.rbegin(), p.shape.rend());
                     std::vector<int64_t> rows_columns = p.shape;
                     if (garch.gpt2_block && conv1d_weight(hf_name)) {
                       p.transposed = true;
                       p.dims = p.shape;
                       rows_columns = {p.shape[1], p.shape[0]};
                     }
                     p.type = gguf_export_tensor_type(options.type, p.gguf_name, rows_columns);
                     plan.push_back(std::move(p));
                   });

  GgufWriter writer(out_path);
  add_model_metadata(writer, config, garch, model_dir, options.type);
  if (options.add_vocabulary) options.add_vocabulary(writer, config.vocab_size);
  GgufExportSummary summary;
  summary.architecture = garch.gguf_name;
  uint64_t total = 0;
  for (const Planned& p : plan)
    total += writer.add_tensor(p.gguf_name, p.dims, static_cast<uint32_t>(p.type));

  std::vector<uint8_t> bytes;
  for (const Planned& p : plan) {
    at::Tensor values;  // [rows, columns] (or [n]) float32, contiguous
    if (p.hf_name.empty()) {
      const std::vector<float> factors = llama3_rope_factors(config);
      values = at::tensor(at::ArrayRef<float>(factors), at::kFloat);
    } else {
      values = stored_values(checkpoint, p, config, garch);
    }
    bytes.resize(static_cast<size_t>(quantized_bytes(p.type, values.numel())));
    quantize_row(p.type, values.data_ptr<float>(), bytes.data(), values.numel());
    writer.write_tensor_data(bytes.data(), bytes.size());
    summary.data_bytes += bytes.size();
    if (options.progress) options.progress(summary.data_bytes, total);
  }
  writer.finish();
  summary.tensors = plan.size();
  return summary;
}

}  // namespace torchllm
