// herald route's file action: lines are appended whole, the file rotates by size into
// path.1 … path.N (newest first) and the oldest beyond `keep` is deleted.
#include "tools/route/rotating_file.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

using herald::route::RotatingFile;
namespace fs = std::filesystem;

namespace {

class RouteRotation : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("herald-rotation-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name = "out.jsonl") const { return (dir_ / name).string(); }
  static std::vector<std::string> lines(const std::string& file) {
    std::ifstream in(file);
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
  }
  fs::path dir_;
};

TEST_F(RouteRotation, RotatesBeforeALineWouldPassMaxBytesAndKeepsN) {
  const std::string line(99, 'x');  // 100 bytes with the newline
  RotatingFile file(path(), 250, 2);
  for (int i = 0; i < 7; ++i) file.append(line.substr(0, 90) + std::to_string(i));
  // 2 lines (184 bytes) fit; a third would pass 250: 7 lines make 4 files, the oldest dropped.
  EXPECT_EQ(file.rotations(), 3u);
  EXPECT_EQ(lines(path()).size(), 1u);
  EXPECT_EQ(lines(path() + ".1").size(), 2u);
  EXPECT_EQ(lines(path() + ".2").size(), 2u);
  EXPECT_FALSE(fs::exists(path() + ".3"));
  EXPECT_EQ(lines(path()).front().back(), '6');
  EXPECT_EQ(lines(path() + ".1").front().back(), '4') << "path.1 is the newest rotated file";
  EXPECT_EQ(lines(path() + ".2").front().back(), '2');
  for (const char* suffix : {"", ".1", ".2"}) EXPECT_LE(fs::file_size(path() + suffix), 250u);
}

TEST_F(RouteRotation, KeepZeroTruncatesAndALongLineGetsAFileOfItsOwn) {
  RotatingFile file(path(), 1024, 0);
  file.append("short");
  file.append(std::string(2000, 'y'));  // longer than max_bytes: rotates first, then written whole
  EXPECT_EQ(file.rotations(), 1u);
  EXPECT_FALSE(fs::exists(path() + ".1"));
  ASSERT_EQ(lines(path()).size(), 1u);
  EXPECT_EQ(lines(path())[0].size(), 2000u);
}

TEST_F(RouteRotation, AppendsToAnExistingFileAndCountsItsSize) {
  { std::ofstream(path()) << std::string(200, 'a') << "\n"; }
  RotatingFile file(path(), 250, 1);
  file.append(std::string(60, 'b'));  // 201 + 61 > 250: rotates at once
  EXPECT_EQ(file.rotations(), 1u);
  EXPECT_EQ(lines(path() + ".1").size(), 1u);
  EXPECT_EQ(lines(path()).size(), 1u);
}

TEST_F(RouteRotation, ConcurrentAppendsLoseAndTearNoLine) {
  RotatingFile file(path(), 4096, 100);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i) file.append("{\"t\":" + std::to_string(t) + ",\"i\":" + std::to_string(i) + "}");
    });
  for (auto& thread : threads) thread.join();
  std::size_t total = 0;
  for (const auto& entry : fs::directory_iterator(dir_))
    for (const std::string& line : lines(entry.path().string())) {
      ++total;
      EXPECT_EQ(line.front(), '{');
      EXPECT_EQ(line.back(), '}');
    }
  EXPECT_EQ(total, 2000u);
}

TEST_F(RouteRotation, UnwritablePathThrows) {
  EXPECT_THROW(RotatingFile((dir_ / "missing" / "x.jsonl").string(), 1024, 1), std::system_error);
}

}  // namespace
