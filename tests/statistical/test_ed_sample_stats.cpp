// `naqs ed --sample` (apps/cmd_ed.cpp) draws from the exact |psi|^2: a Pearson chi-square of the
// histogram of 40000 samples of a 6-site TFIM chain against |psi|^2 from an in-process ED solve,
// fixed seed, in the spin-flip parity sector (hz = 0: the file's parity pairs share the sector
// amplitude, each half) and in the full space (hz = 0.3). Runs the built executable ($NAQS_EXE).
// Wilson-Hilferty score < 4.5 (p ~ 3e-6 rejects; tests/support/histogram_checks.hpp).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "host/io/hdf5.hpp"
#include "tests/support/histogram_checks.hpp"
#include "physics/ed/ed_solver.hpp"

namespace naqs {
namespace {

namespace fs = std::filesystem;

TEST(EdSampleStats, HistogramMatchesExactGroundState) {
  const char* exe = std::getenv("NAQS_EXE");
  if (!exe) GTEST_SKIP() << "NAQS_EXE not set (run through ctest)";
  const fs::path dir = fs::temp_directory_path() / ("naqs_ed_sample_" + std::to_string(getpid()));
  fs::create_directories(dir);
  const int n = 6;
  const int64_t count = 40000;
  for (double hz : {0.0, 0.3}) {
    const fs::path out = dir / ("s" + std::to_string(int(hz * 10)) + ".h5");
    const std::string cmd = std::string(exe) + " ed --L 6 --h 0.8 --hz " + std::to_string(hz) +
                            " --sample " + std::to_string(count) + " --seed 11 --out " +
                            out.string() + " > /dev/null";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    H5File f = H5File::open_read(out.string());
    const Tensor sigma = Tensor::from_vector(f.read_floats("/samples/sigma"), {count, n});

    ModelParams p;
    p.model = Model::tfim;
    p.J = 1;
    p.h = 0.8;
    p.hz = hz;
    const Hamiltonian H(Lattice::chain(n, true), p);
    const ed::EdSolution s =
        ed::solve_ground_state(H, SpinHilbert::full(H.n_sites()), Device::cpu(), {}, true);
    const ed::EdBasis basis = ed::make_basis(H, SpinHilbert::full(H.n_sites()));
    std::vector<double> probs(size_t{1} << n);
    double z = 0;
    for (uint64_t k = 0; k < probs.size(); ++k) {
      double sign = 0;
      const int64_t i = basis.index(k, sign);
      probs[k] = s.lanczos.vector[i] * s.lanczos.vector[i];
      z += probs[k];
    }
    for (double& v : probs) v /= z;
    EXPECT_EQ(basis.kind() == ops::kEdParity, hz == 0.0);
    int bins = 0;
    const double score = testing::chi_square_score(testing::config_counts(sigma), probs,
                                                   double(count), &bins);
    EXPECT_LT(score, 4.5) << "hz " << hz << ": chi-square score " << score << " over " << bins
                          << " bins";
    EXPECT_GT(bins, 10);
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace naqs
