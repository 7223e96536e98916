// Paged decode attention (kernels/paged_attention.h and its libtorch wrapper) on every ISA level this CPU
// has, against attention computed in float64 from the keys and values gathered out of the pool; q8_0 pools
// against float32 pools holding the values they read back as.
#include "model/kernels/paged_attention.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "model/kernels/kv_q8_0.h"
#include "model/paged_decode_attention.h"
#include "torchllm/error.h"

namespace torchllm {
namespace {

std::vector<SimdLevel> available_levels() {
  std::vector<SimdLevel> levels;
  for (int level = 0; level <= static_cast<int>(cpu_simd_level()); ++level) {
    levels.push_back(static_cast<SimdLevel>(level));
  }
  return levels;
}

// uint8 pools hold q8_0 rows.
std::string dtype_name(at::ScalarType dtype) {
  if (dtype == at::kByte) return "q8_0";
  return dtype == at::kFloat ? "f32" : (dtype == at::kBFloat16 ? "bf16" : "f16");
}

struct Heads {
  int64_t q_heads, kv_heads, head_dim;
};

// A pool holding the given rows, each in its own blocks taken from a random permutation of the pool (so no
// row's blocks ascend). Unused pool blocks, and each row's positions past its length, hold NaN: a kernel that
// reads them returns NaN and fails every comparison.
struct PagedCase {
  Heads heads;
  int64_t block_size = 0;
  at::ScalarType dtype = at::kFloat;
  at::Tensor q;              // [rows, q_heads, head_dim] float32, values exactly representable in dtype
  at::Tensor keys;           // [num_blocks, kv_heads, block_size, head_dim] dtype
  at::Tensor values;         // [num_blocks, kv_heads, block_size, head_dim] dtype
  at::Tensor tables;         // [rows, max_blocks] int64, -1 past each row's blocks
  at::Tensor lengths;        // [rows] int64
  int64_t unused_block = 0;  // a block no row uses (NaN throughout)

  int64_t rows() const { return q.size(0); }
  std::string describe() const {
    return dtype_name(dtype) + " q_heads " + std::to_string(heads.q_heads) + " kv_heads " +
           std::to_string(heads.kv_heads) + " head_dim " + std::to_string(heads.head_dim) + " block_size " +
           std::to_string(block_size);
  }
};

int64_t blocks_for(int64_t length, int64_t block_size) { return (length + block_size - 1) / block_size; }

PagedCase make_case(const Heads& heads, int64_t block_size, const std::vector<int64_t>& lengths,
                    at::ScalarType dtype) {
  PagedCase c;
  c.heads = heads;
  c.block_size = block_size;
  c.dtype = dtype;
  const int64_t rows = static_cast<int64_t>(lengths.size());
  int64_t used = 0, max_blocks = 1;
  for (const int64_t length : lengths) {
    used += blocks_for(length, block_size);
    max_blocks = std::max(max_blocks, blocks_for(length, block_size) + 1);
  }
  const int64_t num_blocks = used + 2;
  const float nan = std::numeric_limits<float>::quiet_NaN();
  at::Tensor keys = at::full({num_blocks, heads.kv_heads, block_size, heads.head_dim}, nan);  // float32
  at::Tensor values = at::full({num_blocks, heads.kv_heads, block_size, heads.head_dim}, nan);
  c.tables = at::full({rows, max_blocks}, -1, at::kLong);
  const at::Tensor order = at::randperm(num_blocks, at::kLong);
  int64_t next = 0;
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t b = 0; b < blocks_for(lengths[r], block_size); ++b) {
      const int64_t block = order[next++].item<int64_t>();
      c.tables[r][b] = block;
      const int64_t live = std::min(block_size, lengths[r] - b * block_size);  // positions before the length
      keys[block].narrow(1, 0, live).copy_(at::randn({heads.kv_heads, live, heads.head_dim}));
      values[block].narrow(1, 0, live).copy_(at::randn({heads.kv_heads, live, heads.head_dim}));
    }
  }
  c.unused_block = order[next].item<int64_t>();
  c.keys = keys.to(dtype);
  c.values = values.to(dtype);
  c.q = at::randn({rows, heads.q_heads, heads.head_dim}).to(dtype).to(at::kFloat);
  c.lengths = at::tensor(lengths, at::kLong);
  return c;
}

KvElement element_of(at::ScalarType dtype) {
  if (dtype == at::kByte) return KvElement::kQ8_0;
  return dtype == at::kFloat ? KvElement::kF32
                             : (dtype == at::kBFloat16 ? KvElement::kBF16 : KvElement::kF16);
}

PagedDecodeArgs args_for(const PagedCase& c, int64_t window, at::Tensor& out) {
  PagedDecodeArgs args;
  args.q = c.q.data_ptr<float>();
  args.out = out.data_ptr<float>();
  args.keys = c.keys.data_ptr();
  args.values = c.values.data_ptr();
  args.element = element_of(c.dtype);
  args.rows = c.rows();
  args.q_heads = c.heads.q_heads;
  args.kv_heads = c.heads.kv_heads;
  args.head_dim = c.heads.head_dim;
  args.block_size = c.block_size;
  args.block_tables = c.tables.data_ptr<int64_t>();
  args.table_stride = c.tables.size(1);
  args.lengths = c.lengths.data_ptr<int64_t>();
  args.window = window;
  args.scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(c.heads.head_dim)));
  return args;
}

// The kernel over the items [begin, end) of each split in turn (all items when `splits` is empty).
at::Tensor run_kernel(PagedDecodeFn kernel, const PagedCase& c, int64_t window,
                      const std::vector<int64_t>& splits = {}) {
  at::Tensor out = at::full({c.rows(), c.heads.q_heads, c.heads.head_dim},
                            std::numeric_limits<float>::quiet_NaN());  // [rows, q_heads, head_dim]
  PagedDecodeArgs args = args_for(c, window, out);
  std::vector<float> scratch(static_cast<size_t>(paged_scratch_floats(c.lengths.max().item<int64_t>())));
  args.scratch = scratch.data();
  const int64_t items = c.rows() * c.heads.kv_heads;
  std::vector<int64_t> bounds = {0};
  bounds.insert(bounds.end(), splits.begin(), splits.end());
  bounds.push_back(items);
  for (size_t i = 0; i + 1 < bounds.size(); ++i) kernel(args, bounds[i], bounds[i + 1]);
  return out;
}

// Attention in float64 on the gathered keys: each row's blocks index_selected out of the pool, laid out as
// [kv_heads, keys, head_dim], repeated for the query heads of each KV head, and a masked softmax. With
// `rounded`, for bf16 / fp16 pools, each score q . k and each probability is rounded to the pool's dtype, as
// PyTorch's attention in that dtype (and the kernel) rounds them.
at::Tensor reference(const PagedCase& c, int64_t window, bool rounded = true) {
  const bool half = rounded && c.dtype != at::kFloat;
  auto round = [&](const at::Tensor& x) { return half ? x.to(c.dtype).to(at::kDouble) : x; };
  const int64_t rows = c.rows(), group = c.heads.q_heads / c.heads.kv_heads, dim = c.heads.head_dim;
  at::Tensor out = at::zeros({rows, c.heads.q_heads, dim}, at::kDouble);  // [rows, q_heads, head_dim]
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t length = c.lengths[r].item<int64_t>();
    if (length == 0) continue;
    const at::Tensor blocks = c.tables[r].narrow(0, 0, blocks_for(length, c.block_size));
    auto gather = [&](const at::Tensor& pool) {  // [q_heads, length, head_dim]
      return pool.index_select(0, blocks)
          .to(at::kDouble)        // [blocks, kv_heads, block_size, head_dim]
          .permute({1, 0, 2, 3})  // [kv_heads, blocks, block_size, head_dim]
          .reshape({c.heads.kv_heads, -1, dim})
          .narrow(1, 0, length)  // [kv_heads, length, head_dim]
          .repeat_interleave(group, 0);
    };
    const at::Tensor k = gather(c.keys), v = gather(c.values);
    const at::Tensor q = c.q[r].to(at::kDouble).unsqueeze(1);  // [q_heads, 1, head_dim]
    at::Tensor scores =
        round(at::matmul(q, k.transpose(1, 2))) * (1.0 / std::sqrt(double(dim)));  // [q_heads, 1, length]
    const at::Tensor positions = at::arange(length, at::kLong);
    const int64_t first = window > 0 ? std::max<int64_t>(0, length - window) : 0;
    scores.masked_fill_(positions < first, -std::numeric_limits<double>::infinity());
    out[r] = at::matmul(round(at::softmax(scores, -1)), v).squeeze(1);  // [q_heads, head_dim]
  }
  return out;
}

// float32 sums of O(1) terms: a few float32 ulps of the scores, softmax and weighted sums.
constexpr double kFloat32Tolerance = 1e-5;
// bf16 / fp16 against the rounded reference: where a float32 score or probability and its float64 reference
// fall on two sides of a rounding boundary, they round one bf16 / fp16 ulp apart (measured worst: 7.7e-5).
constexpr double kHalfTolerance = 2e-4;
double tolerance_for(at::ScalarType dtype) {
  return dtype == at::kFloat ? kFloat32Tolerance : kHalfTolerance;
}

void expect_near_reference(const at::Tensor& actual, const at::Tensor& expected, double tolerance,
                           const std::string& what) {
  ASSERT_EQ(actual.sizes(), expected.sizes()) << what;
  const at::Tensor diff = (actual.to(at::kDouble) - expected).abs();
  const double worst = diff.max().item<double>();  // NaN if any output is NaN
  EXPECT_LE(worst, tolerance) << what << ": worst at flat index " << diff.argmax().item<int64_t>();
}

// One unit in the last place of |expected| in dtype (float16 down to its subnormal spacing), plus the
// float32 tolerance: what a float32 result rounded once to dtype may differ by.
at::Tensor dtype_tolerance(const at::Tensor& expected, at::ScalarType dtype) {
  const int mantissa = dtype == at::kBFloat16 ? 7 : (dtype == at::kHalf ? 10 : 23);
  const double smallest = dtype == at::kHalf ? std::ldexp(1.0, -24) : 0.0;
  const at::Tensor exponent = at::floor(at::log2(expected.abs().clamp_min(1e-300)));
  return (at::exp2(exponent - mantissa)).clamp_min(smallest) + kFloat32Tolerance;
}

const std::vector<Heads> kHeads = {
    {1, 1, 8},     // G = 1
    {4, 2, 64},    // G = 2
    {8, 2, 128},   // G = 4
    {14, 2, 64},   // G = 7 (Qwen2's 14 query heads over 2 KV heads)
    {6, 2, 16},    // G = 3
    {16, 1, 24},   // G = 16, two passes of 8; 24 is a partial AVX-512 vector
    {9, 1, 40},    // G = 9: 8 and 1
    {16, 16, 32},  // no grouping
};

std::vector<int64_t> ragged_lengths(int64_t block_size) {
  return {1, block_size, block_size + 1, 3 * block_size + 45, 2, 0};
}

TEST(PagedAttention, MatchesFloat64ReferenceOnEveryLevel) {
  at::manual_seed(11);
  for (const at::ScalarType dtype : {at::kFloat, at::kBFloat16, at::kHalf}) {
    for (const int64_t block_size : {1, 3, 16, 256}) {
      for (const Heads& heads : kHeads) {
        const PagedCase c = make_case(heads, block_size, ragged_lengths(block_size), dtype);
        const at::Tensor expected = reference(c, 0);
        for (const SimdLevel level : available_levels()) {
          const at::Tensor out = run_kernel(paged_decode_function(level), c, 0);
          expect_near_reference(out, expected, tolerance_for(dtype),
                                c.describe() + " on " + simd_level_name(level));
          if (dtype != at::kFloat) {
            // The roundings are really there: the unrounded attention is farther away.
            const double rounded = (out.to(at::kDouble) - expected).abs().mean().item<double>();
            const double exact = (out.to(at::kDouble) - reference(c, 0, false)).abs().mean().item<double>();
            EXPECT_LT(rounded, 0.5 * exact) << c.describe() << " on " << simd_level_name(level);
          }
        }
      }
    }
  }
}

TEST(PagedAttention, SlidingWindowSkipsEarlyPositions) {
  at::manual_seed(12);
  for (const at::ScalarType dtype : {at::kFloat, at::kBFloat16}) {
    for (const int64_t block_size : {1, 3, 16, 256}) {
      const PagedCase c = make_case({8, 2, 64}, block_size, {1, 40, 300, 600, block_size + 1}, dtype);
      for (const int64_t window : {1, 2, 17, 256, 299, 300, 301, 4096}) {
        const at::Tensor expected = reference(c, window);
        for (const SimdLevel level : available_levels()) {
          const at::Tensor out = run_kernel(paged_decode_function(level), c, window);
          expect_near_reference(
              out, expected, tolerance_for(dtype),
              c.describe() + " window " + std::to_string(window) + " on " + simd_level_name(level));
        }
      }
    }
  }
}

// Blocks wholly before the window are never read: pointing them at a block of NaN changes nothing, and the
// wrapper takes -1 (a freed block) there.
TEST(PagedAttention, SlidingWindowReadsNoBlockBeforeIt) {
  at::manual_seed(13);
  const int64_t block_size = 16, window = 40;
  const PagedCase c = make_case({4, 2, 32}, block_size, {100, 57, 40, 39}, at::kBFloat16);
  auto before_window = [&](int64_t block) {  // c's tables with the blocks before the window replaced
    at::Tensor tables = c.tables.clone();
    for (int64_t r = 0; r < c.rows(); ++r) {
      const int64_t first = std::max<int64_t>(0, c.lengths[r].item<int64_t>() - window);
      for (int64_t b = 0; (b + 1) * block_size <= first; ++b) tables[r][b] = block;
    }
    return tables;
  };
  PagedCase poisoned = c;
  poisoned.tables = before_window(c.unused_block);
  ASSERT_FALSE(at::equal(poisoned.tables, c.tables));
  for (const SimdLevel level : available_levels()) {
    const PagedDecodeFn kernel = paged_decode_function(level);
    EXPECT_TRUE(at::equal(run_kernel(kernel, poisoned, window), run_kernel(kernel, c, window)))
        << simd_level_name(level);
  }
  const at::Tensor q = c.q.to(at::kBFloat16);
  EXPECT_TRUE(at::equal(paged_decode_attention(q, c.keys, c.values, before_window(-1), c.lengths, window),
                        paged_decode_attention(q, c.keys, c.values, c.tables, c.lengths, window)));
}

// The wrapper checks what the kernel trusts: every block it reads names one of the pool's.
TEST(PagedAttention, WrapperRejectsBlocksOutsideThePool) {
  const PagedCase c = make_case({4, 2, 32}, 16, {20, 5}, at::kFloat);
  for (const int64_t bad : {int64_t{-1}, c.keys.size(0)}) {
    at::Tensor tables = c.tables.clone();
    tables[0][1] = bad;
    EXPECT_THROW(paged_decode_attention(c.q, c.keys, c.values, tables, c.lengths, 0), Error) << bad;
  }
  at::Tensor too_long = c.lengths.clone();
  too_long[1] = c.tables.size(1) * 16 + 1;
  EXPECT_THROW(paged_decode_attention(c.q, c.keys, c.values, c.tables, too_long, 0), Error);
}

TEST(PagedAttention, AnySplitOfTheItemsGivesTheSameFloats) {
  at::manual_seed(14);
  for (const at::ScalarType dtype : {at::kFloat, at::kHalf}) {
    const PagedCase c = make_case({14, 2, 64}, 16, {33, 1, 16, 200}, dtype);
    const int64_t items = c.rows() * c.heads.kv_heads;
    std::vector<int64_t> one_at_a_time;
    for (int64_t i = 1; i < items; ++i) one_at_a_time.push_back(i);
    for (const SimdLevel level : available_levels()) {
      const PagedDecodeFn kernel = paged_decode_function(level);
      const at::Tensor whole = run_kernel(kernel, c, 0);
      const std::string what = dtype_name(dtype) + " on " + simd_level_name(level);
      EXPECT_TRUE(at::equal(run_kernel(kernel, c, 0, one_at_a_time), whole)) << what;
      EXPECT_TRUE(at::equal(run_kernel(kernel, c, 0, {3}), whole)) << what;
      EXPECT_TRUE(at::equal(run_kernel(kernel, c, 0, {1, items - 2}), whole)) << what;
    }
  }
}

// The wrapper: q in the model dtype, a row selection of a larger block table (not contiguous), the result
// rounded once from the kernel's float32.
TEST(PagedAttention, WrapperMatchesKernelAndReference) {
  at::manual_seed(15);
  for (const at::ScalarType dtype : {at::kFloat, at::kBFloat16, at::kHalf}) {
    for (const int64_t window : {0, 50}) {
      const PagedCase c = make_case({16, 8, 128}, 16, {1, 17, 130, 512}, dtype);
      at::Tensor spread =
          at::full({2 * c.rows(), c.tables.size(1)}, -7, at::kLong);  // [2 * rows, max_blocks]
      spread.slice(0, 0, 2 * c.rows(), 2).copy_(c.tables);
      const at::Tensor selected = spread.slice(0, 0, 2 * c.rows(), 2);  // [rows, max_blocks], stride 2 rows
      ASSERT_FALSE(selected.is_contiguous());
      const at::Tensor out =
          paged_decode_attention(c.q.to(dtype), c.keys, c.values, selected, c.lengths, window);
      ASSERT_EQ(out.scalar_type(), dtype);
      ASSERT_EQ(out.sizes(), c.q.sizes());
      const at::Tensor kernel = run_kernel(paged_decode_function(cpu_simd_level()), c, window);
      const std::string what = c.describe() + " window " + std::to_string(window);
      EXPECT_TRUE(at::equal(out, kernel.to(dtype))) << what;
      const at::Tensor expected = reference(c, window);
      const at::Tensor excess = (out.to(at::kDouble) - expected).abs() - dtype_tolerance(expected, dtype) -
                                (tolerance_for(dtype) - kFloat32Tolerance);
      EXPECT_LE(excess.max().item<double>(), 0.0) << what;
    }
  }
}

TEST(PagedAttention, EmptyRowGivesZeros) {
  const PagedCase c = make_case({4, 2, 16}, 16, {0, 5}, at::kFloat);
  for (const SimdLevel level : available_levels()) {
    const at::Tensor out = run_kernel(paged_decode_function(level), c, 0);
    EXPECT_TRUE(at::equal(out[0], at::zeros_like(out[0]))) << simd_level_name(level);
  }
}

TEST(PagedAttention, AppliesToCpuFloatTypesAndWholeVectors) {
  EXPECT_TRUE(paged_decode_attention_applies(at::zeros({1, 4, 64})));
  EXPECT_TRUE(paged_decode_attention_applies(at::zeros({1, 4, 128}, at::kBFloat16)));
  EXPECT_TRUE(paged_decode_attention_applies(at::zeros({3, 4, 8}, at::kHalf)));
  EXPECT_FALSE(paged_decode_attention_applies(at::zeros({1, 4, 64}, at::kDouble)));
  EXPECT_FALSE(paged_decode_attention_applies(at::zeros({1, 4, 12})));
  EXPECT_FALSE(paged_decode_attention_applies(at::zeros({1, 4, kPagedDecodeMaxHeadDim + 8})));
  EXPECT_FALSE(paged_decode_attention_applies(at::zeros({4, 64})));
}

// --- q8_0 pools ---------------------------------------------------------------------------------------

// float32 pool [..., head_dim] -> q8_0 rows, uint8 [..., kv_q8_row_bytes(head_dim)]. A row of NaN (unused
// by make_case) becomes int8 values with NaN scales, so that a kernel reading it still returns NaN.
at::Tensor quantize_pool(const at::Tensor& pool) {
  const int64_t head_dim = pool.size(-1), row_bytes = kv_q8_row_bytes(head_dim);
  std::vector<int64_t> sizes(pool.sizes().begin(), pool.sizes().end());
  sizes.back() = row_bytes;
  at::Tensor out = at::empty(sizes, at::kByte);
  const at::Tensor x = pool.contiguous();
  const float* src = x.data_ptr<float>();
  uint8_t* dst = out.data_ptr<uint8_t>();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (int64_t r = 0; r < x.numel() / head_dim; ++r) {
    uint8_t* row = dst + r * row_bytes;
    if (!std::isnan(src[r * head_dim])) {
      quantize_kv_row_q8(src + r * head_dim, head_dim, row);
      continue;
    }
    for (int64_t i = 0; i < head_dim; ++i) row[i] = static_cast<uint8_t>((r * 37 + i * 11) % 255);
    for (int64_t b = 0; b < head_dim / kKvQ8Block; ++b) std::memcpy(row + head_dim + 4 * b, &nan, 4);
  }
  return out;
}

// q8_0 rows, uint8 [..., row_bytes] -> the float32 values they hold [..., head_dim].
at::Tensor dequantize_pool(const at::Tensor& pool, int64_t head_dim) {
  const int64_t row_bytes = kv_q8_row_bytes(head_dim);
  std::vector<int64_t> sizes(pool.sizes().begin(), pool.sizes().end());
  sizes.back() = head_dim;
  at::Tensor out = at::empty(sizes, at::kFloat);
  const uint8_t* src = pool.data_ptr<uint8_t>();
  float* dst = out.data_ptr<float>();
  for (int64_t r = 0; r < pool.numel() / row_bytes; ++r) {
    dequantize_kv_row_q8(src + r * row_bytes, head_dim, dst + r * head_dim);
  }
  return out;
}

// A float32 case's pools as q8_0 rows (dtype kByte), and the float32 case of what those rows read back as:
// the same q, tables and lengths.
struct Q8Cases {
  PagedCase q8, dequantized;
};

Q8Cases q8_cases(const PagedCase& f32) {
  Q8Cases cases{f32, f32};
  cases.q8.dtype = at::kByte;
  cases.q8.keys = quantize_pool(f32.keys);
  cases.q8.values = quantize_pool(f32.values);
  cases.dequantized.keys = dequantize_pool(cases.q8.keys, f32.heads.head_dim);
  cases.dequantized.values = dequantize_pool(cases.q8.values, f32.heads.head_dim);
  return cases;
}

// q * d in float32 is the same float whether the kernel computes it or the pool holds it, and q8_0 rounds
// no score or probability: each ISA's q8_0 kernel gives its float32 kernel's floats on the dequantized pools.
TEST(PagedAttention, Q8_0EqualsFloat32OnDequantizedPoolsOnEveryLevel) {
  at::manual_seed(21);
  const std::vector<Heads> heads = {
      {4, 4, 64},    // G = 1
      {8, 4, 128},   // G = 2
      {16, 2, 64},   // G = 8
      {12, 1, 128},  // G = 12: 8 and 4
  };
  const std::vector<int64_t> lengths = {0, 1, 31, 100, 257, 600};  // and 600 is one whole block
  for (const int64_t block_size : {1, 16, 600}) {
    for (const Heads& h : heads) {
      const Q8Cases cases = q8_cases(make_case(h, block_size, lengths, at::kFloat));
      for (const int64_t window : {0, 17, 300}) {
        for (const SimdLevel level : available_levels()) {
          const PagedDecodeFn kernel = paged_decode_function(level);
          const at::Tensor out = run_kernel(kernel, cases.q8, window);
          const at::Tensor expected = run_kernel(kernel, cases.dequantized, window);
          EXPECT_TRUE(at::equal(out, expected))
              << cases.q8.describe() << " window " << window << " on " << simd_level_name(level) << ": worst "
              << (out - expected).abs().max().item<float>();
        }
      }
    }
  }
}

// The float32 kernel the q8_0 one is compared with is itself right on those pools (not, say, NaN on both).
TEST(PagedAttention, Q8_0DequantizedPoolsMatchFloat64Reference) {
  at::manual_seed(22);
  const Q8Cases cases = q8_cases(make_case({8, 2, 128}, 16, {5, 77, 300}, at::kFloat));
  const at::Tensor out = run_kernel(paged_decode_function(cpu_simd_level()), cases.q8, 0);
  expect_near_reference(out, reference(cases.dequantized, 0), kFloat32Tolerance, "q8_0");
}

// The wrapper takes uint8 pools of q8_0 rows with q in any of its dtypes: the kernel's float32 result on
// them, rounded once to q's dtype.
TEST(PagedAttention, WrapperTakesQ8_0PoolsForEveryQType) {
  at::manual_seed(23);
  const Q8Cases cases = q8_cases(make_case({16, 8, 128}, 16, {1, 17, 130, 512}, at::kFloat));
  for (const at::ScalarType dtype : {at::kFloat, at::kBFloat16, at::kHalf}) {
    for (const int64_t window : {0, 50}) {
      const at::Tensor q = cases.q8.q.to(dtype);
      const at::Tensor out = paged_decode_attention(q, cases.q8.keys, cases.q8.values, cases.q8.tables,
                                                    cases.q8.lengths, window);
      ASSERT_EQ(out.scalar_type(), dtype);
      const at::Tensor expected =  // float32
          paged_decode_attention(q.to(at::kFloat), cases.dequantized.keys, cases.dequantized.values,
                                 cases.q8.tables, cases.q8.lengths, window);
      const std::string what = dtype_name(dtype) + " q window " + std::to_string(window);
      const at::Tensor excess = (out.to(at::kDouble) - expected.to(at::kDouble)).abs() -
                                dtype_tolerance(expected.to(at::kDouble), dtype);
      EXPECT_LE(excess.max().item<double>(), 0.0) << what;
      EXPECT_TRUE(at::equal(out, expected.to(dtype))) << what;
    }
  }
}

TEST(PagedAttention, WrapperRejectsQ8_0PoolsThatDoNotFit) {
  const at::Tensor tables = at::zeros({1, 1}, at::kLong), lengths = at::ones({1}, at::kLong);
  auto pools = [](int64_t row_bytes) { return at::zeros({2, 2, 16, row_bytes}, at::kByte); };
  // head_dim 40: a multiple of 8, not of 32.
  const at::Tensor q40 = at::zeros({1, 4, 40});
  EXPECT_THROW(paged_decode_attention(q40, pools(44), pools(44), tables, lengths, 0), Error);
  const at::Tensor q = at::zeros({1, 4, 64}, at::kBFloat16);
  EXPECT_NO_THROW(paged_decode_attention(q, pools(72), pools(72), tables, lengths, 0));
  // Rows of head_dim bytes, not kv_q8_row_bytes(head_dim).
  EXPECT_THROW(paged_decode_attention(q, pools(64), pools(64), tables, lengths, 0), Error);
  // Both pools q8_0 or neither.
  EXPECT_THROW(
      paged_decode_attention(q, pools(72), at::zeros({2, 2, 16, 64}, at::kBFloat16), tables, lengths, 0),
      Error);
  try {
    paged_decode_attention(q40, pools(44), pools(44), tables, lengths, 0);
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("paged_decode_attention: q8_0 pools want head_dim a multiple of 32"),
              std::string::npos)
        << e.what();
  }
}

// --- q8_0 rows (kv_q8_0.h): properties of quantize_kv_row_q8
// ------------------------------------------------

struct Q8Row {
  std::vector<uint8_t> bytes;
  int8_t q(int64_t i) const { return static_cast<int8_t>(bytes[i]); }
  float d(int64_t head_dim, int64_t block) const {
    float d;
    std::memcpy(&d, bytes.data() + head_dim + 4 * block, 4);
    return d;
  }
};

Q8Row quantize(const std::vector<float>& x) {
  const int64_t head_dim = static_cast<int64_t>(x.size());
  Q8Row row{std::vector<uint8_t>(static_cast<size_t>(kv_q8_row_bytes(head_dim)))};
  quantize_kv_row_q8(x.data(), head_dim, row.bytes.data());
  return row;
}

std::vector<float> dequantize(const Q8Row& row, int64_t head_dim) {
  std::vector<float> out(static_cast<size_t>(head_dim));
  dequantize_kv_row_q8(row.bytes.data(), head_dim, out.data());
  return out;
}

// Each value reads back within half a step d of its block (up to float32 rounding of x / d and q * d), and
// each nonzero block uses the whole int8 range: some |q| is 127, none more.
TEST(PagedKvQ8Row, RoundTripWithinHalfAStepAndFullRange) {
  at::manual_seed(24);
  const int64_t head_dim = 256;
  for (const double magnitude : {1e-30, 1e-3, 1.0, 3e4, 1e30}) {
    for (int trial = 0; trial < 20; ++trial) {
      const at::Tensor xs = at::randn({head_dim}) * magnitude;
      const std::vector<float> x(xs.data_ptr<float>(), xs.data_ptr<float>() + head_dim);
      const Q8Row row = quantize(x);
      const std::vector<float> back = dequantize(row, head_dim);
      for (int64_t b = 0; b < head_dim / kKvQ8Block; ++b) {
        const float d = row.d(head_dim, b);
        ASSERT_GT(d, 0.0f) << magnitude;
        int max_q = 0;
        for (int64_t i = b * kKvQ8Block; i < (b + 1) * kKvQ8Block; ++i) {
          EXPECT_LE(std::fabs(x[i] - back[i]), 0.5 * d * (1 + 1e-4)) << magnitude << " at " << i;
          EXPECT_NE(row.q(i), -128) << i;
          max_q = std::max(max_q, std::abs(static_cast<int>(row.q(i))));
        }
        EXPECT_EQ(max_q, 127) << magnitude << " block " << b;
      }
    }
  }
}

TEST(PagedKvQ8Row, ZeroBlockGivesZeroScaleAndZeros) {
  const int64_t head_dim = 96;
  std::vector<float> x(head_dim, 0.0f);
  for (int64_t i = 64; i < 96; ++i) x[i] = -0.25f * static_cast<float>(i - 70);  // block 2 only
  x[5] = -0.0f;
  const Q8Row row = quantize(x);
  const std::vector<float> back = dequantize(row, head_dim);
  for (int64_t b = 0; b < 2; ++b) EXPECT_EQ(row.d(head_dim, b), 0.0f) << b;
  for (int64_t i = 0; i < 64; ++i) {
    EXPECT_EQ(row.q(i), 0) << i;
    EXPECT_EQ(back[i], 0.0f) << i;
  }
  EXPECT_GT(row.d(head_dim, 2), 0.0f);
  EXPECT_EQ(row.q(95), -127);  // the largest magnitude, -6.25
  EXPECT_EQ(row.q(70), 0);
  EXPECT_EQ(back[95], -6.25f);
}

}  // namespace
}  // namespace torchllm
