#include "async/batcher.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "async/stack.h"
#include "graph/error_util.h"
#include "graph/errors.h"
#include "graph/graph.h"
#include "graph/provenance.h"

namespace weft {
namespace {

using internal::Quoted;

constexpr int kMaxBatchSizeLimit = 65536;
constexpr int kMaxBatchThreads = 256;

std::string TensorText(const Tensor& t) {
  return absl::StrCat(Quoted(t.name()), " ", DTypeName(t.dtype()),
                      t.shape().DebugString());
}

// The shape of one example of `t`: its shape without axis 0.
Shape ExampleShape(const Tensor& t) {
  const std::vector<int64_t>& dims = t.shape().dims();
  return Shape(std::vector<int64_t>(dims.begin() + 1, dims.end()));
}

bool SameShapes(const std::vector<NDArray>& a, const std::vector<NDArray>& b) {
  for (size_t i = 0; i < a.size(); ++i) {
    if (!(a[i].shape() == b[i].shape())) return false;
  }
  return true;
}

}  // namespace

// Long (~87 lines): a flat list of argument checks, in the order their
// errors are documented (session, tensors, duplicates, options), then the
// batch threads.
absl::StatusOr<std::unique_ptr<Batcher>> Batcher::Create(
    Session* session, std::vector<Tensor> inputs, std::vector<Tensor> outputs,
    BatcherOptions options, std::source_location where) {
  const std::string site = SourceSite::From(where).ToString();
  auto fail = [&](std::string_view what) {
    return absl::InvalidArgumentError(
        absl::StrCat("Batcher::Create at ", site, ": ", what));
  };
  if (session == nullptr) {
    return fail(
        "the session is null; fix: pass the Session that runs the "
        "model's graph");
  }
  if (inputs.empty() || outputs.empty()) {
    return fail(absl::StrCat("no ", inputs.empty() ? "inputs" : "outputs",
                             "; fix: list the tensors to feed and to fetch, "
                             "each with the batch on axis 0"));
  }
  const Graph& graph = session->graph();
  for (int pass = 0; pass < 2; ++pass) {
    const std::vector<Tensor>& list = pass == 0 ? inputs : outputs;
    const char* role = pass == 0 ? "input" : "output";
    for (size_t i = 0; i < list.size(); ++i) {
      const Tensor& t = list[i];
      if (!t.ok()) {
        return internal::WithPrefix(
            t.status(), absl::StrCat("Batcher::Create at ", site, ": ", role,
                                     " ", i, " was not built: "));
      }
      if (absl::Status s = CheckTensorInGraph(
              t, static_cast<int>(i),
              GraphUse{.user = "Batcher::Create",
                       .role = role,
                       .graph = &graph,
                       .site = SourceSite::From(where),
                       .graph_reason = absl::StrCat("the session runs graph ",
                                                    Quoted(graph.name()),
                                                    " (id ", graph.id(), ")"),
                       .fix = "pass the Batcher tensors of the session's "
                              "graph, or a Session of the tensors' graph"});
          !s.ok()) {
        return s;
      }
      if (t.shape().rank() == 0 || t.shape().dim(0) != Shape::kUnknown) {
        return fail(absl::StrCat(
            role, " ", i, " ", TensorText(t),
            " has no unknown leading dimension to batch on (built at ",
            t.provenance().BuiltAt(), "); fix: give it shape [?, ...], e.g. ",
            "Placeholder(dtype, Shape{-1, ...}), so axis 0 is the batch"));
      }
    }
  }
  for (size_t i = 0; i < inputs.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (inputs[i].node() == inputs[j].node() &&
          inputs[i].index() == inputs[j].index()) {
        return fail(absl::StrCat("inputs ", j, " and ", i, " are both ",
                                 Quoted(inputs[i].name()),
                                 "; fix: list each input once"));
      }
    }
  }
  if (options.max_batch_size < 1 ||
      options.max_batch_size > kMaxBatchSizeLimit) {
    return fail(absl::StrCat("max_batch_size ", options.max_batch_size,
                             " is out of range; fix: use 1 .. ",
                             kMaxBatchSizeLimit));
  }
  if (options.batch_timeout < absl::ZeroDuration()) {
    return fail(absl::StrCat("batch_timeout ",
                             absl::FormatDuration(options.batch_timeout),
                             " is negative; fix: use zero or more"));
  }
  if (options.num_batch_threads < 1 ||
      options.num_batch_threads > kMaxBatchThreads) {
    return fail(absl::StrCat("num_batch_threads ", options.num_batch_threads,
                             " is out of range; fix: use 1 .. ",
                             kMaxBatchThreads));
  }
  std::unique_ptr<Batcher> batcher(new Batcher(
      session, std::move(inputs), std::move(outputs), options, where));
  for (int i = 0; i < options.num_batch_threads; ++i) {
    batcher->threads_.emplace_back([b = batcher.get(), i] {
      SetCurrentThreadName(absl::StrCat("batcher-", i));
      b->BatchLoop();
    });
  }
  return batcher;
}

Batcher::Batcher(Session* session, std::vector<Tensor> inputs,
                 std::vector<Tensor> outputs, BatcherOptions options,
                 std::source_location where)
    : session_(session),
      inputs_(std::move(inputs)),
      outputs_(std::move(outputs)),
      options_(options),
      created_at_(where) {
  stats_.batch_size_counts.assign(options_.max_batch_size + 1, 0);
}

Batcher::~Batcher() {
  Shutdown();
  for (std::thread& t : threads_) t.join();
}

std::string Batcher::Describe() const {
  return absl::StrCat("Batcher (created at ",
                      SourceSite::From(created_at_).ToString(), ")");
}

absl::Status Batcher::CheckExample(const std::vector<NDArray>& example) const {
  if (example.size() != inputs_.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Batcher::Run on ", Describe(), ": got ", example.size(),
        example.size() == 1 ? " value" : " values", " but the batcher has ",
        inputs_.size(), inputs_.size() == 1 ? " input" : " inputs", " (",
        absl::StrJoin(inputs_, ", ",
                      [](std::string* out, const Tensor& t) {
                        out->append(TensorText(t));
                      }),
        "); fix: pass one NDArray per input, each one example without the ",
        "batch axis"));
  }
  for (size_t i = 0; i < example.size(); ++i) {
    const NDArray& v = example[i];
    const Tensor& t = inputs_[i];
    const Shape shape = ExampleShape(t);
    if (!v.Matches(t.dtype(), shape)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "Batcher::Run on ", Describe(), ": input ", i, " ", Quoted(t.name()),
          " takes ", DTypeName(t.dtype()), shape.DebugString(),
          " per example (the tensor is ", DTypeName(t.dtype()),
          t.shape().DebugString(), ", batch axis removed) but got ",
          v.valid()
              ? absl::StrCat(DTypeName(v.dtype()), v.shape().DebugString())
              : std::string("an empty NDArray"),
          "; fix: pass a single example, without the batch axis"));
    }
  }
  return absl::OkStatus();
}

void Batcher::RunAsync(std::vector<NDArray> example, Done done) {
  if (absl::Status s = CheckExample(example); !s.ok()) {
    std::move(done)(std::move(s));
    return;
  }
  absl::Status refused;
  {
    absl::MutexLock lock(&mu_);
    if (!shut_down_) {
      pending_.push_back({std::move(example), std::move(done), absl::Now()});
      return;
    }
    refused = absl::FailedPreconditionError(absl::StrCat(
        "Batcher::Run on ", Describe(), ": the batcher is shut down (at ",
        SourceSite::From(shut_down_at_).ToString(),
        "); the request was not run. Fix: stop submitting before Shutdown ",
        "or destruction, or send requests to a live Batcher"));
  }
  std::move(done)(std::move(refused));
}

absl::StatusOr<std::vector<NDArray>> Batcher::Run(
    std::vector<NDArray> example) {
  struct Slot {
    absl::Mutex mu;
    bool ready ABSL_GUARDED_BY(mu) = false;
    absl::StatusOr<std::vector<NDArray>> result ABSL_GUARDED_BY(mu);
  };
  auto slot = std::make_shared<Slot>();
  RunAsync(std::move(example), [slot](absl::StatusOr<std::vector<NDArray>> r) {
    absl::MutexLock lock(&slot->mu);
    slot->result = std::move(r);
    slot->ready = true;
  });
  absl::MutexLock lock(&slot->mu);
  slot->mu.Await(absl::Condition(&slot->ready));
  return std::move(slot->result);
}

void Batcher::Shutdown(std::source_location where) {
  absl::MutexLock lock(&mu_);
  if (shut_down_) return;
  shut_down_ = true;
  shut_down_at_ = where;
}

BatcherStats Batcher::stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

int Batcher::num_pending() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(pending_.size());
}

bool Batcher::TakeBatch(std::vector<Request>& batch) {
  const size_t max = static_cast<size_t>(options_.max_batch_size);
  auto has_work = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return !pending_.empty() || shut_down_;
  };
  auto full = [this, max]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return pending_.size() >= max || shut_down_;
  };
  absl::MutexLock lock(&mu_);
  while (true) {
    mu_.Await(absl::Condition(&has_work));
    if (pending_.empty()) return false;  // Shut down and drained.
    if (!full()) {
      const absl::Time deadline =
          pending_.front().arrival + options_.batch_timeout;
      mu_.AwaitWithDeadline(absl::Condition(&full), deadline);
      // Another batch thread may have taken the front meanwhile: start over
      // with the new front's deadline.
      if (pending_.empty()) continue;
      if (!full() &&
          absl::Now() < pending_.front().arrival + options_.batch_timeout) {
        continue;
      }
    }
    batch.push_back(std::move(pending_.front()));
    pending_.pop_front();
    for (auto it = pending_.begin();
         it != pending_.end() && batch.size() < max;) {
      if (SameShapes(it->example, batch[0].example)) {
        batch.push_back(std::move(*it));
        it = pending_.erase(it);
      } else {
        ++it;
      }
    }
    stats_.num_batches += 1;
    stats_.num_requests += static_cast<int64_t>(batch.size());
    stats_.batch_size_counts[batch.size()] += 1;
    return true;
  }
}

absl::StatusOr<std::vector<std::vector<NDArray>>> Batcher::SplitOutputs(
    std::vector<NDArray> outputs, size_t k) const {
  std::vector<std::vector<NDArray>> per_request(k);
  for (auto& r : per_request) r.reserve(outputs.size());
  for (size_t j = 0; j < outputs.size(); ++j) {
    const NDArray& out = outputs[j];
    if (out.shape().rank() == 0 ||
        out.shape().dim(0) != static_cast<int64_t>(k)) {
      return absl::InvalidArgumentError(absl::StrCat(
          Describe(), ": output ", j, " ", Quoted(outputs_[j].name()),
          " came back as ", DTypeName(out.dtype()), out.shape().DebugString(),
          " for a batch of ", k, " requests; every output must keep the ",
          "batch on axis 0 (a reduction over the batch cannot be split per ",
          "request). Fix: fetch tensors computed row by row"));
    }
    absl::StatusOr<std::vector<NDArray>> rows = UnstackArray(out);
    if (!rows.ok()) return rows.status();
    for (size_t r = 0; r < k; ++r) {
      per_request[r].push_back(std::move((*rows)[r]));
    }
  }
  return per_request;
}

void Batcher::RunBatch(std::vector<Request>& batch) {
  const size_t k = batch.size();
  absl::Status error;
  Feeds feeds;
  feeds.reserve(inputs_.size());
  std::vector<NDArray> column(k);
  for (size_t i = 0; i < inputs_.size() && error.ok(); ++i) {
    for (size_t r = 0; r < k; ++r) column[r] = std::move(batch[r].example[i]);
    absl::StatusOr<NDArray> stacked = StackArrays(column);
    if (!stacked.ok()) {
      error = stacked.status();
    } else {
      feeds.emplace_back(inputs_[i], *std::move(stacked));
    }
  }
  std::vector<std::vector<NDArray>> per_request;
  if (error.ok()) {
    absl::StatusOr<std::vector<NDArray>> outputs =
        session_->Run(feeds, outputs_);
    if (!outputs.ok()) {
      error = internal::WithPrefix(
          outputs.status(),
          absl::StrCat(Describe(), ": the batch of ", k,
                       k == 1 ? " request" : " requests", " failed: "));
    } else {
      absl::StatusOr<std::vector<std::vector<NDArray>>> split =
          SplitOutputs(*std::move(outputs), k);
      if (split.ok()) {
        per_request = *std::move(split);
      } else {
        error = split.status();
      }
    }
  }
  if (!error.ok()) {
    {
      absl::MutexLock lock(&mu_);
      stats_.num_failed_batches += 1;
    }
    for (Request& r : batch) std::move(r.done)(error);
    return;
  }
  for (size_t r = 0; r < k; ++r) {
    std::move(batch[r].done)(std::move(per_request[r]));
  }
}

void Batcher::BatchLoop() {
  std::vector<Request> batch;
  batch.reserve(options_.max_batch_size);
  while (TakeBatch(batch)) {
    RunBatch(batch);
    batch.clear();
  }
}

}  // namespace weft
