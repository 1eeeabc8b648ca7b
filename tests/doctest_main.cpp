// The test executables' main: doctest's, plus one guard. ctest runs each TEST_CASE by name
// (--test-case=<name>); a name that does not match itself (CMake once split names at ';', so 24 cases ran
// nothing for months) would otherwise "pass" with zero test cases run. Here that is a failure.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <string_view>

namespace {

int cases_started = 0;

struct count_cases : doctest::IReporter {
  explicit count_cases(const doctest::ContextOptions&) {}
  void report_query(const doctest::QueryData&) override {}
  void test_run_start() override {}
  void test_run_end(const doctest::TestRunStats&) override {}
  void test_case_start(const doctest::TestCaseData&) override { ++cases_started; }
  void test_case_reenter(const doctest::TestCaseData&) override {}
  void test_case_end(const doctest::CurrentTestCaseStats&) override {}
  void test_case_exception(const doctest::TestCaseException&) override {}
  void subcase_start(const doctest::SubcaseSignature&) override {}
  void subcase_end() override {}
  void log_assert(const doctest::AssertData&) override {}
  void log_message(const doctest::MessageData&) override {}
  void test_case_skipped(const doctest::TestCaseData&) override {}
};

}  // namespace

REGISTER_LISTENER("count_cases", 1, count_cases);

int main(int argc, char** argv) {
  doctest::Context context(argc, argv);
  const int result = context.run();
  if (context.shouldExit())
    return result;
  bool filtered = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view a{argv[i]};
    filtered = filtered || a.starts_with("--test-case=") || a.starts_with("-tc=");
  }
  if (result == 0 && filtered && cases_started == 0) {
    std::fprintf(stderr, "no test case matched the --test-case filter: nothing was tested\n");
    return 1;
  }
  return result;
}
