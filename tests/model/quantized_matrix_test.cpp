// QuantizedMatrix on real GGUF tensors: the block dot products against the dequantized product, the
// dequantized path for many tokens, stacked parts with a row order, and embedding lookups.
#include "model/quantized_matrix.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "model/kernels/block_dot.h"
#include "model/kernels/block_layouts.h"
#include "model/quant/fp16.h"
#include "torchllm/gguf.h"
#include "torchllm/gguf_model_files.h"

namespace torchllm {
namespace {

const std::string kModels = std::string(TORCHLLM_TEST_DATA_DIR) + "/gguf/models/";

QuantizedMatrix::Part part_of(const GgufModelFiles& files, const std::string& name) {
  const GgufTensorInfo& t = *files.find_tensor(name);
  QuantizedMatrix::Part part;
  part.type = static_cast<GgmlType>(t.type->id);
  part.rows = t.numel() / static_cast<int64_t>(t.dims.front());
  part.data = files.data(t);
  return part;
}

struct Case {
  const char* file;
  const char* tensor;
};

class QuantizedMatrixOnGguf : public ::testing::TestWithParam<Case> {};

TEST_P(QuantizedMatrixOnGguf, EveryTokenCountMatchesTheDequantizedProduct) {
  const auto files = std::make_shared<const GgufModelFiles>(kModels + GetParam().file);
  const int64_t columns = static_cast<int64_t>(files->find_tensor(GetParam().tensor)->dims.front());
  const QuantizedMatrix m(columns, {part_of(*files, GetParam().tensor)}, files);
  const at::Tensor w = m.dequantized(at::kFloat);  // [rows, columns]
  for (const int64_t tokens : {int64_t{1}, int64_t{3}, QuantizedMatrix::kDotProductMaxTokens,
                               QuantizedMatrix::kDotProductMaxTokens + 1}) {
    const at::Tensor x = at::randn({tokens, columns});
    const at::Tensor expected = at::linear(x, w);  // [tokens, rows]
    const at::Tensor got = m.multiply(x);
    ASSERT_EQ(got.sizes(), expected.sizes());
    if (!m.multiplies_by_dot_products(tokens, at::kFloat)) {
      EXPECT_TRUE(at::allclose(got, expected, 1e-5, 1e-5)) << "the dequantized path";
      continue;
    }
    // Q8 activations: each element moves by up to half a step of its block's largest value / 127.
    const double bound = 0.01 * (x.abs().max() * w.abs().sum(1).max()).item<double>();
    EXPECT_LE((got - expected).abs().max().item<double>(), bound) << tokens << " tokens";
    for (int64_t t = 0; t < tokens; ++t) {  // each token's row alone gives the same floats
      EXPECT_TRUE(at::equal(m.multiply(x.narrow(0, t, 1)), got.narrow(0, t, 1))) << "token " << t;
    }
  }
  const at::Tensor bf16 = m.multiply(at::randn({2, columns}).to(at::kBFloat16));
  EXPECT_EQ(bf16.scalar_type(), at::kBFloat16);
}

// Several tokens at once give each token's floats alone, for float, bf16 and fp16 inputs (written straight
// in the input's dtype, rounded as .to() rounds) and for inputs that are not contiguous.
TEST_P(QuantizedMatrixOnGguf, SeveralTokensEqualEachTokenAlone) {
  const auto files = std::make_shared<const GgufModelFiles>(kModels + GetParam().file);
  const int64_t columns = static_cast<int64_t>(files->find_tensor(GetParam().tensor)->dims.front());
  const QuantizedMatrix m(columns, {part_of(*files, GetParam().tensor)}, files);
  for (const int64_t tokens : {1, 3, 16}) {
    const at::Tensor x = at::randn({tokens, columns});
    const at::Tensor got = m.multiply(x);
    for (int64_t t = 0; t < tokens; ++t)
      EXPECT_TRUE(at::equal(m.multiply(x.narrow(0, t, 1)), got.narrow(0, t, 1))) << "token " << t;
    for (const c10::ScalarType dtype : {at::kBFloat16, at::kHalf}) {
      const at::Tensor low = x.to(dtype);
      const at::Tensor low_got = m.multiply(low);
      ASSERT_EQ(low_got.scalar_type(), dtype);
      EXPECT_TRUE(at::equal(low_got, m.multiply(low.to(at::kFloat)).to(dtype))) << tokens << " tokens";
      for (int64_t t = 0; t < tokens; ++t)
        EXPECT_TRUE(at::equal(m.multiply(low.narrow(0, t, 1)), low_got.narrow(0, t, 1))) << "token " << t;
    }
    // Every other column of a wider tensor, and a transposed copy: strided rows.
    const at::Tensor strided = at::randn({tokens, 2 * columns}).narrow(1, 0, columns);
    EXPECT_TRUE(at::equal(m.multiply(strided), m.multiply(strided.contiguous())));
    const at::Tensor transposed = x.t().contiguous().t();
    EXPECT_TRUE(at::equal(m.multiply(transposed), got));
    EXPECT_TRUE(at::equal(m.multiply(transposed.to(at::kBFloat16)), m.multiply(x.to(at::kBFloat16))));
  }
}

TEST_P(QuantizedMatrixOnGguf, LookupAndRowOrder) {
  const auto files = std::make_shared<const GgufModelFiles>(kModels + GetParam().file);
  const int64_t columns = static_cast<int64_t>(files->find_tensor(GetParam().tensor)->dims.front());
  QuantizedMatrix::Part plain = part_of(*files, GetParam().tensor);
  QuantizedMatrix::Part reversed = plain;
  for (int64_t r = 0; r < plain.rows; ++r) reversed.output_rows.push_back(plain.rows - 1 - r);
  const QuantizedMatrix stacked(columns, {plain, reversed}, files);
  ASSERT_EQ(stacked.rows(), 2 * plain.rows);
  const at::Tensor w = stacked.dequantized(at::kFloat);
  EXPECT_TRUE(at::equal(w.narrow(0, plain.rows, plain.rows), w.narrow(0, 0, plain.rows).flip(0)));
  const at::Tensor x = at::randn({2, columns});
  const at::Tensor y = stacked.multiply(x);
  EXPECT_TRUE(at::equal(y.narrow(1, plain.rows, plain.rows), y.narrow(1, 0, plain.rows).flip(1)));
  const at::Tensor ids = at::tensor({int64_t{0}, plain.rows - 1, plain.rows, 2 * plain.rows - 1});
  EXPECT_TRUE(at::equal(stacked.lookup(ids, at::kFloat), w.index_select(0, ids)));
  EXPECT_ANY_THROW(stacked.lookup(at::tensor({2 * plain.rows}), at::kFloat));
  EXPECT_ANY_THROW(stacked.multiply(at::randn({1, columns + 1})));
}

// Random weights of `type` (sane fp16 scales at the offsets a block keeps them), `rows` rows of `columns`.
std::vector<uint8_t> random_rows(GgmlType type, int64_t rows, int64_t columns, std::mt19937& rng) {
  const int64_t row_bytes = quantized_row_bytes(type, columns);
  std::vector<uint8_t> w(static_cast<size_t>(rows * row_bytes));
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_real_distribution<float> scale(-0.1f, 0.1f);
  for (uint8_t& v : w) v = static_cast<uint8_t>(byte(rng));
  std::vector<size_t> offsets = {0, 2};  // d and dmin of Q4_K/Q5_K
  if (type == GgmlType::kQ6_K) offsets = {offsetof(BlockQ6_K, d)};
  if (type == GgmlType::kQ8_0) offsets = {0};
  const size_t block_bytes = static_cast<size_t>(row_bytes / (columns / block_elements(type)));
  for (size_t b = 0; b < w.size(); b += block_bytes) {
    for (const size_t off : offsets) {
      const uint16_t h = fp32_to_fp16(scale(rng));
      std::memcpy(&w[b + off], &h, sizeof h);
    }
  }
  return w;
}

// Tokens through parts of several types (row counts not multiples of four or of a row group's 16, parts in
// another row order, more rows than one thread's slice) give, bit for bit, each stored row's single-row
// kernel on each token's quantized activation, whatever kernel the matrix runs: row groups (Q4_K and Q6_K on
// AVX-512, their tail rows in the ggml layout), several rows at a time for one token, several tokens for a
// few.
struct Spec {
  GgmlType type;
  int64_t rows;
  bool reversed;
};
const std::vector<Spec> kMixedParts = {{GgmlType::kQ4_K, 203, false}, {GgmlType::kQ6_K, 10, true},
                                       {GgmlType::kQ8_0, 9, false},   {GgmlType::kQ5_K, 70, false},
                                       {GgmlType::kQ6_K, 133, false}, {GgmlType::kQ4_K, 37, true}};
// Parts wholly in row groups (on AVX-512): their kernels take any token count, prefill's too.
const std::vector<Spec> kRowGroupParts = {{GgmlType::kQ4_K, 48, false}, {GgmlType::kQ6_K, 32, true}};

void expect_single_row_kernel_floats(int64_t tokens, const std::vector<Spec>& specs = kMixedParts) {
  constexpr int64_t kColumns = 5 * 256;  // a group of four K blocks and a tail
  std::mt19937 rng(5);
  auto storage = std::make_shared<std::vector<std::vector<uint8_t>>>();
  for (const Spec& spec : specs) storage->push_back(random_rows(spec.type, spec.rows, kColumns, rng));
  std::vector<QuantizedMatrix::Part> parts;
  for (size_t i = 0; i < specs.size(); ++i) {
    QuantizedMatrix::Part part;
    part.type = specs[i].type;
    part.rows = specs[i].rows;
    part.data = (*storage)[i].data();
    for (int64_t r = 0; specs[i].reversed && r < part.rows; ++r)
      part.output_rows.push_back(part.rows - 1 - r);
    parts.push_back(part);
  }
  const QuantizedMatrix m(kColumns, parts, storage);
  const at::Tensor x = at::randn({tokens, kColumns});
  const at::Tensor got = m.multiply(x);  // [tokens, rows]
  ASSERT_EQ(got.size(1), m.rows());
  at::Tensor expected = at::empty({tokens, m.rows()});  // [tokens, rows]
  for (int64_t t = 0; t < tokens; ++t) {
    float* want = expected.data_ptr<float>() + t * m.rows();
    int64_t start = 0;
    for (const QuantizedMatrix::Part& part : parts) {
      const GgmlType format = activation_type(part.type);
      std::vector<uint8_t> act(static_cast<size_t>(quantized_row_bytes(format, kColumns)));
      quantize_activation(format, x.data_ptr<float>() + t * kColumns, act.data(), kColumns);
      const BlockDotFn dot = block_dot_function(part.type, cpu_simd_level());
      const int64_t row_bytes = quantized_row_bytes(part.type, kColumns);
      for (int64_t r = 0; r < part.rows; ++r) {
        const int64_t o = start + (part.output_rows.empty() ? r : part.output_rows[r]);
        want[o] = dot(part.data + r * row_bytes, act.data(), kColumns);
      }
      start += part.rows;
    }
  }
  for (int64_t t = 0; t < tokens; ++t) EXPECT_TRUE(at::equal(got[t], expected[t])) << "token " << t;
  // The same through bf16 output: each float rounded as .to() rounds it (where bf16 takes the kernels too).
  if (m.multiplies_by_dot_products(tokens, at::kBFloat16)) {
    EXPECT_TRUE(at::equal(m.multiply(x.to(at::kBFloat16)),
                          m.multiply(x.to(at::kBFloat16).to(at::kFloat)).to(at::kBFloat16)));
  }
}

TEST(QuantizedMatrix, OneTokenEqualsTheSingleRowKernelRowByRow) { expect_single_row_kernel_floats(1); }

TEST(QuantizedMatrix, SeveralTokensEqualTheSingleRowKernelRowByRow) {
  for (const int64_t tokens : {int64_t{2}, int64_t{7}, int64_t{8}, int64_t{16}, int64_t{17},
                               QuantizedMatrix::kDotProductMaxTokens}) {
    SCOPED_TRACE(std::to_string(tokens) + " tokens");
    expect_single_row_kernel_floats(tokens);
  }
}

TEST(QuantizedMatrix, RowGroupsTakeEveryTokenCount) {
  if (!has_row_groups(GgmlType::kQ4_K, cpu_simd_level(), 256))
    GTEST_SKIP() << "no row-group kernels on this CPU";
  for (const int64_t tokens :
       {int64_t{1}, int64_t{5}, QuantizedMatrix::kDotProductMaxTokens + 1, int64_t{70}}) {
    SCOPED_TRACE(std::to_string(tokens) + " tokens");
    expect_single_row_kernel_floats(tokens, kRowGroupParts);
  }
}

INSTANTIATE_TEST_SUITE_P(Tensors, QuantizedMatrixOnGguf,
                         ::testing::Values(Case{"qwen3-q8_0.gguf", "blk.0.ffn_down.weight"},
                                           Case{"qwen3-q4_0.gguf", "blk.0.attn_q.weight"},
                                           Case{"qwen3-q5_1.gguf", "token_embd.weight"},
                                           Case{"wide-q4_k_m.gguf", "blk.0.ffn_gate.weight"},
                                           Case{"wide-q6_k.gguf", "blk.0.ffn_down.weight"}),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           std::string name = std::string(info.param.file) + "_" + info.param.tensor;
                           for (char& c : name) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace torchllm
