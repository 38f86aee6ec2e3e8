// Residual-stream features of the byte-level transformer; definitions in features.hpp.
#include "ml/transformer/features.hpp"

#include <algorithm>

#include "host/core/error.hpp"
#include "host/core/philox.hpp"
#include "host/core/tensor_convert.hpp"

namespace naqs::ml {

std::vector<int64_t> window_slots(const Corpus& corpus, int64_t context) {
  if (context < 1) throw UsageError(cat("--context ", context, " must be >= 1"));
  std::vector<int64_t> works = corpus.val_file_bytes;
  if (works.empty()) works.push_back(static_cast<int64_t>(corpus.val.size()));  // synthetic
  int64_t total = 0;
  for (int64_t w : works) total += w;
  NAQS_CHECK(total == static_cast<int64_t>(corpus.val.size()), "window_slots: the held-out works "
             "add up to ", total, " bytes, the held-out text has ", corpus.val.size());
  std::vector<int64_t> slots;
  int64_t start = 0;
  for (int64_t w : works) {
    for (int64_t s = 0; s < w / context; ++s) slots.push_back(start + s * context);
    start += w;
  }
  return slots;
}

LmWindows choose_windows(const Corpus& corpus, int64_t n, int64_t context, uint64_t seed) {
  std::vector<int64_t> slots = window_slots(corpus, context);
  const int64_t m = static_cast<int64_t>(slots.size());
  const size_t works = std::max<size_t>(corpus.val_file_bytes.size(), 1);
  if (n < 1 || n > m)
    throw UsageError(cat("--windows ", n, ": the held-out text of '", corpus.name, "' (", works,
                         works == 1 ? " work, " : " works, ", corpus.val.size(), " bytes) holds ",
                         m, " disjoint windows of ", context, " bytes (allowed: 1 to ", m, ")"));
  for (int64_t i = 0; i < n; ++i) {
    const double u = philox_uniform_f64(seed, kWindowStream, static_cast<uint64_t>(i));
    const int64_t j = i + std::min<int64_t>(static_cast<int64_t>(u * double(m - i)), m - i - 1);
    std::swap(slots[static_cast<size_t>(i)], slots[static_cast<size_t>(j)]);
  }
  LmWindows w;
  w.context = context;
  w.offsets.assign(slots.begin(), slots.begin() + n);
  std::sort(w.offsets.begin(), w.offsets.end());
  w.bytes.reserve(static_cast<size_t>(n * context));
  for (int64_t off : w.offsets)
    w.bytes.insert(w.bytes.end(), corpus.val.begin() + off, corpus.val.begin() + off + context);
  return w;
}

std::vector<Tensor> residual_stream(const Transformer& model, const Tensor& tokens) {
  TrainState st;
  model.forward_train(tokens, st);
  std::vector<Tensor> out;
  for (const TrainState::Layer& l : st.layers) out.push_back(l.x_in);  // embedding, blocks 1..L-1
  out.push_back(st.x_out);                                              // block L
  return out;
}

std::vector<std::string> residual_layer_names(const Transformer& model) {
  std::vector<std::string> names{"embedding"};
  for (int64_t l = 1; l <= model.config().layers; ++l) names.push_back(cat("block", l));
  return names;
}

std::vector<std::vector<float>> mean_pooled_features(const Transformer& model,
                                                     const LmWindows& windows, int64_t batch) {
  const int64_t n = windows.n(), t = windows.context, c = model.config().d_model;
  NAQS_CHECK(batch >= 1, "mean_pooled_features: batch ", batch);
  NAQS_CHECK(static_cast<int64_t>(windows.bytes.size()) == n * t, "mean_pooled_features: ",
             windows.bytes.size(), " bytes for ", n, " windows of ", t);
  if (t > model.config().context)
    throw UsageError(cat("windows of ", t, " bytes exceed the model's context ",
                         model.config().context));
  std::vector<std::vector<float>> rows(static_cast<size_t>(model.config().layers + 1));
  for (auto& r : rows) r.reserve(static_cast<size_t>(n * c));
  for (int64_t w0 = 0; w0 < n; w0 += batch) {
    const int64_t b = std::min(batch, n - w0);
    const std::vector<int32_t> ids(windows.bytes.begin() + w0 * t,
                                   windows.bytes.begin() + (w0 + b) * t);
    const Tensor tokens = Tensor::from_vector(ids, {b, t}).to(model.device());
    const std::vector<Tensor> layers = residual_stream(model, tokens);
    for (size_t l = 0; l < layers.size(); ++l) {
      const std::vector<double> v = to_host_f64(layers[l]);  // (b, t, c)
      for (int64_t i = 0; i < b; ++i)
        for (int64_t j = 0; j < c; ++j) {
          double s = 0;
          for (int64_t p = 0; p < t; ++p) s += v[static_cast<size_t>((i * t + p) * c + j)];
          rows[l].push_back(static_cast<float>(s / double(t)));
        }
    }
  }
  return rows;
}

}  // namespace naqs::ml
