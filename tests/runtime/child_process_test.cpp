#define BOOST_TEST_MODULE runtime_child_process
#include <boost/test/unit_test.hpp>

// One child process on its own, without adapters: how it ended, what it
// saw (environment, descriptors, stdin, limits), where its output went,
// that a timeout or a stop takes its whole process group down, and that a
// hook runs before the program starts.

#include "runtime/child_process.hpp"
#include "tests/runtime/adapter_fixture.hpp" // read_text, alive

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace omniva;
using namespace omniva::runtime;
namespace fs = std::filesystem;

namespace {

using adapter_testing::alive;
using adapter_testing::read_text;

/// Waits up to 5 s for `pid` to be gone; returns whether it is.
bool gone_soon(pid_t pid) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{5};
  while (alive(pid) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  return !alive(pid);
}

/// A scratch folder per test case, removed afterwards, and specs that run
/// /bin/sh scripts in it.
struct fixture {
  fs::path root;

  fixture() {
    std::string tmpl = (fs::temp_directory_path() / "omniva-child-XXXXXX").string();
    BOOST_REQUIRE(mkdtemp(tmpl.data()) != nullptr);
    root = tmpl;
    // The parent's environment holds this; no child may see it.
    setenv("OMNIVA_LEAK_CANARY", "canary-value-must-not-leak", 1);
  }

  ~fixture() {
    std::error_code err;
    fs::remove_all(root, err);
  }

  /// A spec running `argv` in the scratch folder, logs in it, PATH only.
  process_spec spec(std::vector<std::string> argv) {
    process_spec s;
    s.argv = std::move(argv);
    s.env = {{"PATH", "/usr/bin:/bin"}};
    s.cwd = root.string();
    s.stdout_path = (root / "stdout.log").string();
    s.stderr_path = (root / "stderr.log").string();
    s.timeout = std::chrono::seconds{20};
    return s;
  }

  /// A spec running `script` with /bin/sh.
  process_spec shell(const std::string& script) {
    return spec({"/bin/sh", "-c", script});
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(child_process, fixture)

// -- how it ended ---------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(an_exit_status_is_reported_with_resource_use) {
  auto out = run_child_process(shell("exit 7"));
  BOOST_CHECK(out.started());
  BOOST_CHECK_EQUAL(to_string(out.status), "exited");
  BOOST_CHECK_EQUAL(out.exit_code, 7);
  BOOST_CHECK(!out.timed_out);
  BOOST_CHECK_EQUAL(out.program, "/bin/sh");
  BOOST_CHECK_GT(out.max_rss_kb, 0);
  BOOST_CHECK_GE(out.duration.count(), 0);
}

BOOST_AUTO_TEST_CASE(a_process_killed_by_a_signal_reports_the_signal) {
  auto out = run_child_process(shell("kill -USR1 $$; sleep 5"));
  BOOST_CHECK_EQUAL(to_string(out.status), "signaled");
  BOOST_CHECK_EQUAL(out.signal, SIGUSR1);
  BOOST_CHECK_EQUAL(signal_name(out.signal), "SIGUSR1");
  BOOST_CHECK(!out.timed_out);
}

BOOST_AUTO_TEST_CASE(a_timeout_kills_the_whole_group_even_what_ignores_sigterm) {
  // The shell and its background child (the test's grandchild) both ignore
  // SIGTERM: only the SIGKILL after the grace ends them.
  auto s = shell("trap '' TERM; sleep 30 & echo $! > grandchild.pid; echo $$ > child.pid; wait");
  s.timeout = std::chrono::milliseconds{500};
  s.kill_grace = std::chrono::milliseconds{200};
  auto start = std::chrono::steady_clock::now();
  auto out = run_child_process(s);
  auto took = std::chrono::steady_clock::now() - start;
  BOOST_CHECK_EQUAL(to_string(out.status), "timed_out");
  BOOST_CHECK(out.timed_out);
  BOOST_CHECK(took >= std::chrono::milliseconds{700});
  BOOST_CHECK(took < std::chrono::seconds{10});
  auto child = std::stoi(read_text(root / "child.pid"));
  auto grandchild = std::stoi(read_text(root / "grandchild.pid"));
  BOOST_CHECK_MESSAGE(gone_soon(child), "the child " << child << " survived");
  BOOST_CHECK_MESSAGE(gone_soon(grandchild),
                      "the grandchild " << grandchild << " survived");
}

BOOST_AUTO_TEST_CASE(a_timeout_too_long_for_the_clock_means_no_timeout) {
  // start + timeout would overflow the clock: the deadline saturates
  // instead of wrapping into the past and killing the process at once.
  auto s = shell("sleep 0.2; exit 3");
  s.timeout = std::chrono::milliseconds::max();
  auto out = run_child_process(s);
  BOOST_CHECK_EQUAL(to_string(out.status), "exited");
  BOOST_CHECK_EQUAL(out.exit_code, 3);
  BOOST_CHECK(!out.timed_out);
}

BOOST_AUTO_TEST_CASE(what_a_finished_process_left_in_its_group_is_killed) {
  auto out = run_child_process(shell("sleep 30 & echo $! > grandchild.pid"));
  BOOST_CHECK_EQUAL(out.exit_code, 0);
  auto grandchild = std::stoi(read_text(root / "grandchild.pid"));
  BOOST_CHECK_MESSAGE(gone_soon(grandchild),
                      "the grandchild " << grandchild << " survived");
}

BOOST_AUTO_TEST_CASE(the_heartbeat_is_called_while_the_process_runs) {
  auto s = shell("sleep 0.5");
  std::atomic<int> beats{0};
  s.heartbeat = [&] { ++beats; };
  s.heartbeat_interval = std::chrono::milliseconds{50};
  auto out = run_child_process(s);
  BOOST_CHECK_EQUAL(out.exit_code, 0);
  BOOST_CHECK_GE(beats.load(), 3);
}

BOOST_AUTO_TEST_CASE(the_stop_flag_ends_the_whole_group_like_a_timeout) {
  // Both ignore SIGTERM: only the SIGKILL after the grace ends them. The
  // heartbeat asks for the stop once the grandchild is known.
  auto s = shell("trap '' TERM; sleep 30 & echo $! > grandchild.pid; echo $$ > child.pid; wait");
  std::atomic<bool> stop{false};
  s.stop = &stop;
  s.kill_grace = std::chrono::milliseconds{200};
  s.heartbeat_interval = std::chrono::milliseconds{20};
  s.heartbeat = [&] {
    if (fs::exists(root / "child.pid"))
      stop = true;
  };
  auto out = run_child_process(s);
  BOOST_CHECK_EQUAL(to_string(out.status), "stopped");
  BOOST_CHECK(out.stopped);
  BOOST_CHECK(!out.timed_out);
  auto child = std::stoi(read_text(root / "child.pid"));
  auto grandchild = std::stoi(read_text(root / "grandchild.pid"));
  BOOST_CHECK_MESSAGE(gone_soon(child), "the child " << child << " survived");
  BOOST_CHECK_MESSAGE(gone_soon(grandchild),
                      "the grandchild " << grandchild << " survived");
}

BOOST_AUTO_TEST_CASE(a_file_beyond_the_size_limit_ends_the_writer_with_sigxfsz) {
  // head writes 10,000 bytes into the stdout log; 4,096 are allowed.
  auto s = spec({"/usr/bin/head", "-c", "10000", "/dev/zero"});
  s.file_size_limit = 4096;
  auto out = run_child_process(s);
  BOOST_CHECK_EQUAL(to_string(out.status), "signaled");
  BOOST_CHECK_EQUAL(out.signal, SIGXFSZ);
  BOOST_CHECK_EQUAL(fs::file_size(s.stdout_path), 4096u);
  // And what it starts is bound too.
  auto grandchild = shell("head -c 10000 /dev/zero > big.bin; echo $? > status");
  grandchild.file_size_limit = 4096;
  BOOST_CHECK_EQUAL(run_child_process(grandchild).exit_code, 0);
  BOOST_CHECK_EQUAL(fs::file_size(root / "big.bin"), 4096u);
  BOOST_CHECK_EQUAL(read_text(root / "status"), std::to_string(128 + SIGXFSZ) + "\n");
}

// -- before the program starts ------------------------------------------------------

BOOST_AUTO_TEST_CASE(the_logs_are_readable_by_the_owner_only) {
  // One log exists already with a wider mode (an earlier run's).
  auto s = shell("echo out; echo err >&2");
  ::close(::open(s.stdout_path.c_str(), O_WRONLY | O_CREAT, 0644));
  ::chmod(s.stdout_path.c_str(), 0644);
  auto old_mask = ::umask(022);
  auto out = run_child_process(s);
  ::umask(old_mask);
  BOOST_REQUIRE_EQUAL(out.exit_code, 0);
  for (auto& log : {s.stdout_path, s.stderr_path}) {
    struct stat st{};
    BOOST_REQUIRE(::stat(log.c_str(), &st) == 0);
    BOOST_CHECK_MESSAGE((st.st_mode & 07777) == 0600,
                        log << " has mode " << std::oct << (st.st_mode & 07777));
  }
}

BOOST_AUTO_TEST_CASE(the_hook_runs_before_the_program_starts) {
  auto s = shell("echo ran > ran.txt");
  auto self_exe = fs::read_symlink("/proc/self/exe");
  pid_t seen = 0;
  bool program_ran = true;
  pid_t group = 0;
  s.before_exec = [&](pid_t pid) {
    seen = pid;
    group = ::getpgid(pid);
    // Give a child that did not wait every chance to run its program.
    std::this_thread::sleep_for(std::chrono::milliseconds{100});
    std::error_code err;
    program_ran = fs::exists(root / "ran.txt")
                  || fs::read_symlink("/proc/" + std::to_string(pid) + "/exe", err)
                       != self_exe;
    return true;
  };
  auto out = run_child_process(s);
  BOOST_REQUIRE_EQUAL(out.exit_code, 0);
  BOOST_CHECK_EQUAL(seen, out.pid);
  BOOST_CHECK_EQUAL(group, out.pid); // it leads its own group already
  BOOST_CHECK_MESSAGE(!program_ran, "the program ran before the hook answered");
  BOOST_CHECK_EQUAL(read_text(root / "ran.txt"), "ran\n");
}

BOOST_AUTO_TEST_CASE(a_hook_that_refuses_keeps_the_program_from_running) {
  auto s = shell("echo ran > ran.txt");
  s.before_exec = [](pid_t) { return false; };
  auto out = run_child_process(s);
  BOOST_CHECK(!out.started());
  BOOST_CHECK_EQUAL(to_string(out.failure), "record");
  BOOST_CHECK(!fs::exists(root / "ran.txt"));
  BOOST_CHECK(!fs::exists("/proc/" + std::to_string(out.pid))); // reaped
}

// -- what the child sees ------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(the_environment_holds_only_what_the_spec_names) {
  auto s = spec({"/usr/bin/env"});
  s.env["OMNIVA_TOKEN"] = "tok-secret-value";
  auto out = run_child_process(s);
  BOOST_REQUIRE_EQUAL(out.exit_code, 0);
  BOOST_CHECK_EQUAL(read_text(s.stdout_path),
                    "OMNIVA_TOKEN=tok-secret-value\nPATH=/usr/bin:/bin\n");
}

BOOST_AUTO_TEST_CASE(a_program_is_searched_on_the_childs_path_only) {
  auto s = spec({"sh", "-c", "exit 3"});
  BOOST_CHECK_EQUAL(run_child_process(s).exit_code, 3);
  // The parent has sh on its PATH; a child without PATH finds nothing.
  s.env.erase("PATH");
  auto out = run_child_process(s);
  BOOST_CHECK_EQUAL(to_string(out.status), "not_started");
  BOOST_CHECK_EQUAL(to_string(out.failure), "not_found");
}

BOOST_AUTO_TEST_CASE(stdout_and_stderr_go_to_the_log_files_and_stdin_is_empty) {
  auto s = shell("echo to-stdout; echo to-stderr >&2; read line || echo stdin-empty");
  auto out = run_child_process(s);
  BOOST_REQUIRE_EQUAL(out.exit_code, 0);
  BOOST_CHECK_EQUAL(read_text(s.stdout_path), "to-stdout\nstdin-empty\n");
  BOOST_CHECK_EQUAL(read_text(s.stderr_path), "to-stderr\n");
}

BOOST_AUTO_TEST_CASE(no_descriptor_of_the_parent_leaks_into_the_child) {
  // A descriptor without close-on-exec, as a careless library might leave.
  int fd = ::open("/dev/null", O_RDONLY);
  BOOST_REQUIRE(fd >= 0);
  BOOST_REQUIRE(dup2(fd, 77) == 77);
  ::close(fd);
  auto s = shell("if [ -e /proc/$$/fd/77 ]; then echo leaked; else echo clean; fi");
  auto out = run_child_process(s);
  ::close(77);
  BOOST_REQUIRE_EQUAL(out.exit_code, 0);
  BOOST_CHECK_EQUAL(read_text(s.stdout_path), "clean\n");
}

BOOST_AUTO_TEST_CASE(the_child_runs_in_the_spec_working_directory) {
  auto dir = root / "work";
  fs::create_directories(dir);
  auto s = shell("pwd");
  s.cwd = dir.string();
  auto out = run_child_process(s);
  BOOST_REQUIRE_EQUAL(out.exit_code, 0);
  BOOST_CHECK_EQUAL(read_text(s.stdout_path), dir.string() + "\n");
}

// -- when it cannot start ---------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_missing_program_never_starts_and_leaves_no_logs) {
  auto s = spec({"omniva-there-is-no-such-program"});
  auto out = run_child_process(s);
  BOOST_CHECK(!out.started());
  BOOST_CHECK_EQUAL(to_string(out.failure), "not_found");
  BOOST_CHECK(out.program.empty());
  BOOST_CHECK(!fs::exists(s.stdout_path));
}

BOOST_AUTO_TEST_CASE(a_missing_program_named_by_path_fails_at_exec) {
  auto out = run_child_process(spec({"./missing-script.sh"}));
  BOOST_CHECK(!out.started());
  BOOST_CHECK_EQUAL(to_string(out.failure), "exec");
  BOOST_CHECK_EQUAL(out.error_number, ENOENT);
  BOOST_CHECK(out.program.ends_with("missing-script.sh"));
}

BOOST_AUTO_TEST_CASE(a_working_directory_that_does_not_exist_fails_at_chdir) {
  auto s = shell("exit 0");
  s.cwd = (root / "nowhere").string();
  auto out = run_child_process(s);
  BOOST_CHECK(!out.started());
  BOOST_CHECK_EQUAL(to_string(out.failure), "chdir");
  BOOST_CHECK_EQUAL(out.error_number, ENOENT);
}

BOOST_AUTO_TEST_CASE(an_empty_argv_is_no_program) {
  auto out = run_child_process(spec({}));
  BOOST_CHECK(!out.started());
  BOOST_CHECK_EQUAL(to_string(out.failure), "no_program");
}

BOOST_AUTO_TEST_SUITE_END()
