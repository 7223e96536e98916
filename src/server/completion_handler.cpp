#include "server/completion_handler.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <memory>

#include "server/api_error.h"
#include "server/generation_channel.h"
#include "server/request_json.h"
#include "server/sse.h"

namespace torchllm::server {
namespace {

using Clock = std::chrono::steady_clock;
using json = nlohmann::json;

// How long a stream may stay silent (waiting in the queue, a long prefill) before a comment line keeps the
// connection alive; writing it is also how a client that went away is noticed.
constexpr auto kKeepAliveInterval = std::chrono::milliseconds(1000);

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

struct ChoiceState {
  explicit ChoiceState(LogprobsBuilder b) : logprobs(std::move(b)) {}
  LogprobsBuilder logprobs;
  std::optional<ReplyParser> reply;  // chat: reasoning, content and tool calls
  bool started = false;              // a token arrived
  bool done = false;
  std::optional<GenerationResult> result;
  std::optional<std::string> error;
};

// One request's generations, shared by the handler and, for a stream, the stream writer. Destroying it
// cancels whatever still runs (a client gone, a response never sent).
struct Job {
  Job(ServerState& s, ModelService& m, CompletionCall c)
      : state(s), model(m), call(std::move(c)), active(s), start(Clock::now()) {
    deadline = start + std::chrono::milliseconds(static_cast<int64_t>(state.options.timeout_s * 1000));
  }
  ~Job() { cancel(); }

  void cancel() {
    for (auto& flag : cancels) flag->store(true);
  }

  // Applies an event to its choice.
  void apply(const ChannelEvent& event) {
    ChoiceState& choice = choices[event.choice];
    if (event.kind == ChannelEvent::Kind::kDelta) {
      if (!choice.started && !event.delta.tokens.empty()) {
        choice.started = true;
        state.metrics.observe_time_to_first_token(seconds_since(start));
      }
      return;
    }
    choice.done = true;
    ++finished;
    if (event.kind == ChannelEvent::Kind::kError) {
      choice.error = event.error;
    } else {
      choice.result = event.result;
    }
  }

  bool all_done() const { return finished == choices.size(); }

  Usage usage() const {
    Usage usage{prompt_tokens, 0};
    for (const ChoiceState& choice : choices) {
      if (choice.result) usage.completion_tokens += static_cast<int64_t>(choice.result->tokens.size());
    }
    // The prompt is billed once, so its cached part is once too: the first choice's (the others share its
    // prefix and would report the whole prompt).
    if (!choices.empty() && choices.front().result)
      usage.cached_tokens = choices.front().result->stats.cached_prompt_tokens;
    return usage;
  }

  ServerState& state;
  ModelService& model;
  CompletionCall call;
  ActiveRequest active;
  Clock::time_point start;
  Clock::time_point deadline;
  ResponseContext context;
  std::shared_ptr<GenerationChannel> channel = std::make_shared<GenerationChannel>();
  std::vector<std::shared_ptr<std::atomic<bool>>> cancels;
  std::vector<ChoiceState> choices;
  size_t finished = 0;
  int64_t prompt_tokens = 0;  // each prompt once, however many choices share it (as OpenAI counts)
};

ApiError timeout_error(const ServerState& state) {
  return ApiError(408,
                  "the request took longer than the server's limit of " +
                      json(state.options.timeout_s).dump() + " seconds (--timeout) and was cancelled",
                  "timeout_error", std::nullopt, "timeout");
}

ApiError shutting_down() { return ApiError::unavailable("the server is shutting down"); }

// The first failure among the choices, as the error to report (none when every choice finished).
std::optional<ApiError> failure(const Job& job) {
  for (const ChoiceState& choice : job.choices) {
    if (choice.error) return ApiError::internal("generation failed: " + *choice.error);
  }
  for (const ChoiceState& choice : job.choices) {
    if (choice.result && choice.result->finish_reason == FinishReason::kCancelled) {
      return job.state.draining.load() ? shutting_down() : timeout_error(job.state);
    }
  }
  return std::nullopt;
}

// The channel's callbacks, plus metrics taken on the engine thread as a generation ends: a generation whose
// client left still counts.
GenerationCallbacks counted_callbacks(Metrics& metrics, GenerationChannel& channel, size_t choice) {
  GenerationCallbacks callbacks = channel.callbacks_for(choice);
  callbacks.on_finish = [&metrics, post = std::move(callbacks.on_finish)](const GenerationResult& result) {
    metrics.count_finish(finish_reason_name(result.finish_reason));
    metrics.count_tokens(result.stats.prompt_tokens, static_cast<int64_t>(result.tokens.size()));
    if (result.stats.decode_tok_s > 0) metrics.observe_time_per_output_token(1.0 / result.stats.decode_tok_s);
    post(result);
  };
  callbacks.on_error = [&metrics, post = std::move(callbacks.on_error)](const std::string& message) {
    metrics.count_finish("error");
    post(message);
  };
  return callbacks;
}

HttpResponse json_response(const json& body) {
  HttpResponse response;
  response.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  return response;
}

// How often a request that is not streamed checks whether its client is still there.
constexpr auto kClientCheckInterval = std::chrono::milliseconds(100);

HttpResponse answer_whole(std::shared_ptr<Job> job, const HttpRequest& request) {
  bool timed_out = false;
  while (!job->all_done()) {
    auto until = timed_out ? Clock::now() + std::chrono::seconds(5) : job->deadline;
    std::vector<ChannelEvent> events =
        job->channel->wait(std::min(until, Clock::now() + kClientCheckInterval));
    if (events.empty() && request.client_gone()) {
      // Nobody will read the answer: free the slot now (the generations end as cancelled).
      job->cancel();
      throw ApiError(499, "the client closed the connection", "invalid_request_error", std::nullopt,
                     "client_closed_request");
    }
    if (events.empty() && Clock::now() >= until) {
      if (timed_out) break;  // the engine did not confirm the cancellation in time; answer anyway
      timed_out = true;
      job->cancel();
      continue;
    }
    for (const ChannelEvent& event : events) job->apply(event);
  }
  if (timed_out && !job->all_done()) throw timeout_error(job->state);
  if (std::optional<ApiError> error = failure(*job)) throw *error;
  std::vector<ChoiceOutput> outputs;
  for (ChoiceState& choice : job->choices) {
    const GenerationResult& result = *choice.result;
    ChoiceOutput output{result.text, finish_reason_json(result.finish_reason), nullptr, "", {}};
    if (choice.reply) {
      choice.reply->push(result.text);
      choice.reply->finish();
      output.text = choice.reply->content();
      output.reasoning = choice.reply->reasoning();
      output.tool_calls = choice.reply->tool_calls();
      if (!output.tool_calls.empty()) {
        while (!output.text.empty() && std::isspace(static_cast<unsigned char>(output.text.back())))
          output.text.pop_back();
        if (result.finish_reason == FinishReason::kStop) output.finish_reason = "tool_calls";
      }
    }
    if (job->call.logprobs) output.logprobs = choice.logprobs.build(result.token_logprobs);
    outputs.push_back(std::move(output));
  }
  request.notes->completion_tokens = job->usage().completion_tokens;
  return json_response(completion_response(job->context, outputs, job->usage()));
}

// Runs on the connection's thread once the headers are out: chunks as the engine delivers them.
void write_stream(Job& job, StreamSink& sink) {
  const bool chat = job.call.endpoint == Endpoint::kChat;
  const bool usage_null = job.call.include_usage;
  auto send = [&](const json& event) { return sink.write(sse_data(event)); };
  if (chat) {
    for (size_t i = 0; i < job.choices.size(); ++i) {
      if (!send(stream_chunk(job.context, static_cast<int64_t>(i), std::string("assistant"), "", nullptr,
                             std::nullopt, usage_null))) {
        return;  // the Job's destructor cancels
      }
    }
  }
  while (!job.all_done()) {
    if (Clock::now() >= job.deadline) {
      job.cancel();
      send(timeout_error(job.state).to_json());
      sink.write(sse_done());
      return;
    }
    std::vector<ChannelEvent> events =
        job.channel->wait(std::min(job.deadline, Clock::now() + kKeepAliveInterval));
    if (events.empty()) {
      if (!sink.write(sse_comment("keep-alive"))) return;
      continue;
    }
    for (const ChannelEvent& event : events) {
      job.apply(event);
      const auto index = static_cast<int64_t>(event.choice);
      ChoiceState& choice = job.choices[event.choice];
      bool ok = true;
      if (event.kind == ChannelEvent::Kind::kDelta) {
        const bool with_logprobs = job.call.logprobs && !event.delta.tokens.empty();
        if (choice.reply) {
          const ReplyDelta delta = choice.reply->push(event.delta.text);
          json logprobs = with_logprobs ? choice.logprobs.build(event.delta.tokens) : json(nullptr);
          for (const json& chunk : reply_chunks(job.context, index, delta, logprobs, usage_null)) {
            if (!(ok = send(chunk))) break;
          }
        } else if (!event.delta.text.empty() || with_logprobs) {
          json logprobs = with_logprobs ? choice.logprobs.build(event.delta.tokens) : json(nullptr);
          ok = send(stream_chunk(job.context, index, std::nullopt, event.delta.text, logprobs, std::nullopt,
                                 usage_null));
        }
      } else if (std::optional<ApiError> error = failure(job)) {
        // After the headers the status is spent: the error travels as an event, as OpenAI's does.
        job.cancel();
        send(error->to_json());
        sink.write(sse_done());
        return;
      } else {
        std::string reason = finish_reason_json(choice.result->finish_reason);
        if (choice.reply) {
          for (const json& chunk :
               reply_chunks(job.context, index, choice.reply->finish(), nullptr, usage_null)) {
            if (!(ok = send(chunk))) break;
          }
          if (!choice.reply->tool_calls().empty() && choice.result->finish_reason == FinishReason::kStop)
            reason = "tool_calls";
        }
        ok = ok && send(stream_chunk(job.context, index, std::nullopt, "", nullptr, reason, usage_null));
      }
      if (!ok) return;
    }
  }
  if (job.call.include_usage && !send(usage_chunk(job.context, job.usage()))) return;
  sink.write(sse_done());
}

}  // namespace

HttpResponse handle_completion(ServerState& state, const HttpRequest& request, Endpoint endpoint) {
  ModelService& model = state.ready_model();
  const json body = parse_request_json(request.body);
  CompletionCall call;
  if (endpoint == Endpoint::kChat) {
    // Again with the key order kept (the nesting bound already held): schemas and tools keep the client's
    // property order.
    const nlohmann::ordered_json ordered = nlohmann::ordered_json::parse(request.body);
    call = parse_chat_request(body, &ordered);
    if (std::shared_ptr<const Grammar> tools = model.tool_grammar(call)) call.grammar = std::move(tools);
  } else {
    call = parse_completion_request(body);
  }
  if (call.model && *call.model != model.name()) throw ApiError::model_not_found(*call.model);

  auto job = std::make_shared<Job>(state, model, std::move(call));
  const CompletionCall& c = job->call;
  std::vector<std::vector<TokenId>> prompts;
  if (endpoint == Endpoint::kChat) {
    prompts.push_back(model.encode_chat(c.messages, c.chat_template_kwargs, true, c.tools));
  } else {
    for (const CompletionPrompt& prompt : c.prompts) prompts.push_back(model.encode_prompt(prompt));
  }
  // More choices than the server can ever hold at once would wait in vain: that is the request's fault.
  const int64_t capacity = model.slots() + static_cast<int64_t>(state.options.max_queue);
  if (static_cast<int64_t>(prompts.size()) * c.n > capacity) {
    throw ApiError::bad_request(
        "this request asks for " + std::to_string(static_cast<int64_t>(prompts.size()) * c.n) +
            " generations (prompts times n), more than the server can ever hold at once (" +
            std::to_string(model.slots()) + " running (--parallel) + " +
            std::to_string(state.options.max_queue) + " waiting (--max-queue))",
        "n");
  }
  // Every choice is built (and validated) before any is submitted, so a bad one leaves nothing running.
  std::vector<GenerationRequest> generations;
  for (const std::vector<TokenId>& prompt : prompts) {
    job->prompt_tokens += static_cast<int64_t>(prompt.size());
    for (int64_t k = 0; k < c.n; ++k) {
      generations.push_back(model.make_request(c, prompt, generations.size()));
      job->cancels.push_back(generations.back().cancel);
      job->choices.emplace_back(LogprobsBuilder(endpoint, c.top_logprobs,
                                                [&model](int64_t token) { return model.token_text(token); }));
      if (endpoint == Endpoint::kChat) job->choices.back().reply.emplace(model.reply_options(c, prompt));
    }
  }
  job->context = ResponseContext{
      endpoint, make_completion_id(endpoint),
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
          .count(),
      model.name(), model.fingerprint()};
  if (state.draining.load()) throw shutting_down();
  std::vector<std::pair<GenerationRequest, GenerationCallbacks>> submissions;
  for (size_t i = 0; i < generations.size(); ++i) {
    submissions.emplace_back(std::move(generations[i]), counted_callbacks(state.metrics, *job->channel, i));
  }
  try {
    model.engine().submit_all(std::move(submissions));
  } catch (const Error& e) {
    throw ApiError::from(e);
  }
  request.notes->prompt_tokens = job->prompt_tokens;

  if (!job->call.stream) {
    HttpResponse response = answer_whole(job, request);
    state.metrics.observe_request_latency(seconds_since(job->start));
    return response;
  }
  HttpResponse response;
  response.content_type = "text/event-stream";
  response.headers = {{"Cache-Control", "no-cache"}, {"X-Accel-Buffering", "no"}};
  response.stream = [job, notes = request.notes](StreamSink& sink) {
    write_stream(*job, sink);
    notes->completion_tokens = job->usage().completion_tokens;
    job->state.metrics.observe_request_latency(seconds_since(job->start));
  };
  return response;
}

}  // namespace torchllm::server
