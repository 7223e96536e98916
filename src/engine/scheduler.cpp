#include "torchllm/scheduler.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <future>
#include <string>

#include "engine/block_manager.h"
#include "engine/sequence.h"
#include "engine/token_bytes.h"
#include "torchllm/decode_runner.h"
#include "torchllm/error.h"

namespace torchllm {
namespace {

int64_t pool_blocks(const SchedulerOptions& o) {
  const int64_t per_sequence = BlockManager::blocks_for(o.max_seq, o.kv_block_size);
  if (o.kv_blocks == 0) return o.max_batch * per_sequence;
  if (o.kv_blocks < per_sequence) {
    throw Error::exhausted("the KV cache holds " + std::to_string(o.kv_blocks) + " blocks of " +
                           std::to_string(o.kv_block_size) + " tokens (" +
                           std::to_string(o.kv_blocks * o.kv_block_size) +
                           " tokens), less than one sequence of the context's " + std::to_string(o.max_seq) +
                           " tokens: use a shorter --context or give the KV cache more memory");
  }
  return o.kv_blocks;
}

}  // namespace

struct Scheduler::Impl {
  Impl(const Transformer& model_, const Tokenizer& tokenizer_, const SchedulerOptions& options_)
      : model(model_),
        tokenizer(tokenizer_),
        options(options_),
        blocks(pool_blocks(options_), options_.kv_block_size, options_.prefix_caching),
        cache(model_.make_paged_cache(blocks.num_blocks(), options_.kv_block_size, options_.max_batch,
                                      options_.max_seq)),
        slot_taken(static_cast<size_t>(options_.max_batch), false) {
    if (options.static_decode) decoder = std::make_unique<DecodeRunner>(model, cache);
  }

  void drop_cancelled();
  std::unique_ptr<SequenceSampler> make_sampler(const GenerationRequest& request);
  void admit();
  // Blocks for every running sequence's next step, preempting the most recently admitted ones while they
  // run out.
  void reserve_next_step();
  void preempt(Sequence& sequence);
  void release(Sequence& sequence, bool keep_contents);
  void run_batch();
  void finish_done();

  const Transformer& model;
  const Tokenizer& tokenizer;
  SchedulerOptions options;
  BlockManager blocks;
  KvCache cache;
  std::vector<bool> slot_taken;
  std::unique_ptr<DecodeRunner> decoder;  // none: static decode steps are off
  SequenceId next_id = 1;
  std::deque<std::unique_ptr<Sequence>> waiting;
  std::vector<std::unique_ptr<Sequence>> running;  // in order of admission
  KvCacheStats stats;
  // Every token's bytes as a trie, built on a worker thread when the first constrained generation arrives
  // (up to a second for a 150k vocabulary): constrained sequences wait for it in the queue while the others
  // run on.
  std::shared_future<std::shared_ptr<const TokenTrie>> trie;
  bool trie_ready() const {
    return trie.valid() && trie.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
  }
};

std::unique_ptr<SequenceSampler> Scheduler::Impl::make_sampler(const GenerationRequest& request) {
  const std::vector<int64_t> prompt(request.prompt.begin(), request.prompt.end());
  auto sampler =
      std::make_unique<SequenceSampler>(request.sampling, model.device(), model.config().vocab_size, prompt);
  if (request.grammar) {
    sampler->constrain(std::make_unique<GrammarMatcher>(request.grammar, trie.get()),
                       request.grammar_after_thought);
  }
  return sampler;
}

Scheduler::Scheduler(const Transformer& model, const Tokenizer& tokenizer, const SchedulerOptions& options) {
  if (options.max_batch < 1 || options.max_seq < 2 || options.prefill_chunk < 1) {
    throw Error::invalid_argument("scheduler needs at least 1 slot, a context of 2 and a prefill chunk of 1");
  }
  if (options.kv_block_size < 1) {
    throw Error::invalid_argument("--kv-block-size must be at least 1, got " +
                                  std::to_string(options.kv_block_size));
  }
  if (options.kv_blocks < 0) {
    throw Error::invalid_argument("the KV cache needs a block count of 0 (from the context) or more, got " +
                                  std::to_string(options.kv_blocks));
  }
  impl_ = std::make_unique<Impl>(model, tokenizer, options);
}

Scheduler::~Scheduler() = default;

Scheduler::SequenceId Scheduler::submit(GenerationRequest request, GenerationCallbacks callbacks) {
  const int64_t prompt = static_cast<int64_t>(request.prompt.size());
  if (prompt == 0) throw Error::invalid_argument("the prompt is empty");
  if (prompt >= impl_->options.max_seq) {
    throw Error::invalid_argument("prompt has " + std::to_string(prompt) + " tokens but the context is " +
                                  std::to_string(impl_->options.max_seq) +
                                  " (it must leave room for at least one generated token)");
  }
  const int64_t vocab = impl_->model.config().vocab_size;
  for (TokenId id : request.prompt) {
    if (id < 0 || id >= vocab) {
      throw Error::invalid_argument("prompt token id " + std::to_string(id) + " is outside the vocabulary (" +
                                    std::to_string(vocab) + " ids)");
    }
  }
  if (request.max_tokens && *request.max_tokens < 1) {
    throw Error::invalid_argument("max_tokens must be at least 1, got " +
                                  std::to_string(*request.max_tokens));
  }
  request.sampling.validate(vocab);
  if (request.grammar && !impl_->trie.valid()) {
    const std::vector<TokenId>& eos = impl_->tokenizer.special_tokens().eos;
    impl_->trie =
        std::async(std::launch::async, [&tokenizer = impl_->tokenizer,
                                        end = std::vector<int64_t>(eos.begin(), eos.end())] {
          return std::shared_ptr<const TokenTrie>(std::make_shared<TokenTrie>(token_bytes(tokenizer), end));
        }).share();
  }
  const SequenceId id = impl_->next_id++;
  impl_->waiting.push_back(std::make_unique<Sequence>(id, std::move(request), std::move(callbacks),
                                                      impl_->tokenizer, impl_->options.max_seq));
  return id;
}

void Scheduler::Impl::drop_cancelled() {
  for (auto it = waiting.begin(); it != waiting.end();) {
    if ((*it)->cancelled()) {
      (*it)->cancel();
      it = waiting.erase(it);
    } else {
      ++it;
    }
  }
  for (auto& sequence : running) {
    if (sequence->cancelled()) sequence->cancel();
  }
  finish_done();
}

void Scheduler::Impl::admit() {
  for (auto it = waiting.begin(); it != waiting.end();) {
    if (static_cast<int64_t>(running.size()) >= options.max_batch) break;
    Sequence& next = **it;
    if (next.request().grammar && !trie_ready()) {  // its trie is still being built
      ++it;
      continue;
    }
    // Another sequence is computing this one's prefix right now: take its blocks in a step or two instead of
    // computing the same K/V again (what makes a shared system prompt, or the n choices of one request, cost
    // one prefill).
    if (blocks.match(next.tokens()).pending_tokens > 0) {
      ++it;
      continue;
    }
    const std::optional<int64_t> cached = blocks.allocate(next.id(), next.tokens());
    if (!cached) break;  // in order: a long prompt is not overtaken for ever by short ones
    const auto slot =
        static_cast<int64_t>(std::find(slot_taken.begin(), slot_taken.end(), false) - slot_taken.begin());
    try {
      cache.set_block_table(slot, blocks.block_table(next.id()));
      const bool first = !next.admitted_before();
      next.admit(slot, *cached, first ? make_sampler(next.request()) : nullptr);
      if (first) {
        stats.prompt_tokens += static_cast<int64_t>(next.request().prompt.size());
        stats.prefix_hit_tokens += *cached;
      }
    } catch (const std::exception& e) {
      blocks.release(next.id());
      next.fail(e.what());
      it = waiting.erase(it);
      continue;
    }
    slot_taken[slot] = true;
    running.push_back(std::move(*it));
    it = waiting.erase(it);
  }
  // Nothing to run but sequences waiting for the trie: wait for it rather than spin.
  if (running.empty() && !waiting.empty() && trie.valid()) {
    trie.wait();
    if (trie_ready()) admit();
  }
}

void Scheduler::Impl::release(Sequence& sequence, bool keep_contents) {
  blocks.release(sequence.id(), keep_contents);
  slot_taken[sequence.slot()] = false;
}

void Scheduler::Impl::preempt(Sequence& sequence) {
  release(sequence, /*keep_contents=*/true);
  sequence.preempt();
  ++stats.preemptions;
}

void Scheduler::Impl::reserve_next_step() {
  for (size_t i = 0; i < running.size(); ++i) {
    Sequence& sequence = *running[i];
    if (sequence.finished() || sequence.prefilling()) continue;  // a prompt's blocks come at admission
    const int64_t needed = static_cast<int64_t>(sequence.tokens().size());
    while (!blocks.reserve(sequence.id(), needed)) {
      // The most recently admitted sequence still running gives its blocks back; the sequence itself when
      // it is the last one.
      size_t victim = running.size() - 1;
      while (victim > i && running[victim]->finished()) --victim;
      preempt(*running[victim]);
      waiting.push_front(std::move(running[victim]));
      running.erase(running.begin() + static_cast<std::ptrdiff_t>(victim));
      if (victim == i) break;
    }
    if (i < running.size() && running[i].get() == &sequence) {
      cache.set_block_table(sequence.slot(), blocks.block_table(sequence.id()));
    } else {
      --i;  // this sequence was preempted; the next one moved to its place
    }
  }
}

void Scheduler::Impl::run_batch() {
  reserve_next_step();
  // Decode steps first (one token each), then prompt chunks within the per-step prefill budget.
  std::vector<SequenceChunk> chunks;
  std::vector<Sequence*> owners;
  int64_t budget = options.prefill_chunk;
  for (int pass = 0; pass < 2; ++pass) {
    for (auto& sequence : running) {
      if (sequence->finished() || sequence->prefilling() != (pass == 1)) continue;
      if (pass == 1 && budget == 0) break;
      SequenceChunk chunk;
      chunk.slot = sequence->slot();
      chunk.tokens = sequence->next_input(budget, &chunk.start);
      if (pass == 1) budget -= static_cast<int64_t>(chunk.tokens.size());
      chunks.push_back(std::move(chunk));
      owners.push_back(sequence.get());
    }
  }
  if (chunks.empty()) return;

  try {
    at::Tensor logits = decoder && DecodeRunner::accepts(chunks)
                            ? decoder->decode(chunks)
                            : model.forward(chunks, cache);  // [chunks, vocab]
    std::vector<int64_t> rows;
    std::vector<SequenceSampler*> samplers;
    for (size_t i = 0; i < chunks.size(); ++i) {
      Sequence& owner = *owners[i];
      const auto n = static_cast<int64_t>(chunks[i].tokens.size());
      if (owner.prefilling()) stats.computed_prompt_tokens += n;
      const bool yields_token = owner.computed(n);
      blocks.computed(owner.id(), owner.tokens(), owner.computed_tokens());
      if (yields_token) {
        rows.push_back(static_cast<int64_t>(i));
        samplers.push_back(&owner.sampler());
      }
    }
    if (rows.empty()) return;
    if (static_cast<int64_t>(rows.size()) != logits.size(0)) {
      logits = logits.index_select(0, at::tensor(rows, at::kLong).to(logits.device()));
    }
    const std::vector<SampledToken> sampled = sample_batch(logits, samplers);
    size_t next = 0;
    for (int64_t row : rows) owners[row]->accept(sampled[next++]);
  } catch (const std::exception& e) {
    std::string message = e.what();
    if (const auto* c10_error = dynamic_cast<const c10::Error*>(&e))
      message = c10_error->what_without_backtrace();
    for (Sequence* owner : owners) {
      release(*owner, /*keep_contents=*/false);
      owner->fail(message);
    }
    running.erase(std::remove_if(running.begin(), running.end(),
                                 [](const std::unique_ptr<Sequence>& s) { return s->finished(); }),
                  running.end());
  }
}

void Scheduler::Impl::finish_done() {
  for (auto it = running.begin(); it != running.end();) {
    if ((*it)->finished()) {
      release(**it, /*keep_contents=*/true);
      it = running.erase(it);
    } else {
      ++it;
    }
  }
}

bool Scheduler::step() {
  if (!has_work()) return false;
  impl_->drop_cancelled();
  impl_->admit();
  impl_->run_batch();
  impl_->finish_done();
  return true;
}

bool Scheduler::has_work() const { return !impl_->waiting.empty() || !impl_->running.empty(); }
size_t Scheduler::waiting() const { return impl_->waiting.size(); }
size_t Scheduler::running() const { return impl_->running.size(); }
const SchedulerOptions& Scheduler::options() const { return impl_->options; }

KvCacheStats Scheduler::kv_stats() const {
  KvCacheStats s = impl_->stats;
  s.block_size = impl_->blocks.block_size();
  s.blocks_total = impl_->blocks.num_blocks();
  s.blocks_used = impl_->blocks.used_blocks();
  s.blocks_cached = impl_->blocks.cached_free_blocks();
  return s;
}

}  // namespace torchllm
