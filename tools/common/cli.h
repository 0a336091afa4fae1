// tools/common/cli.h — first contact for every pktkit program: flags, --help, -h, --version and
// usage errors, the same way everywhere.
//
//   int main(int argc, char** argv) {
//     std::vector<char*> args = pktkit::tools::ParseCommandLine(
//         argc, argv, "pktkit-recv -i udp::0.0.0.0:4789 -w out.pcap [flags]");
//     if (args.size() != 1) pktkit::tools::UsageError("unexpected argument");   // exits 2
//
// ParseCommandLine wraps absl::ParseCommandLine:
//   --help, -h, -help     the usage line and this program's own flags with their defaults, to
//                         stdout; exit 0 (Abseil's own flags, --flagfile and the like, are left
//                         out: they still work, --helpfull lists them)
//   --version             "<program> <pktkit version>" to stdout; exit 0
//   an unknown flag, a flag without its value or with a bad value
//                         one line naming it, "try --help", exit 2 (a usage error)
// Exit codes across the tools: 0 done, 1 a run-time failure (I/O, a peer, a device), 2 usage.
#ifndef PKTKIT_TOOLS_COMMON_CLI_H_
#define PKTKIT_TOOLS_COMMON_CLI_H_

#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "pktkit/version.h"

namespace pktkit::tools {

namespace internal {
inline std::string& ProgramName() {
  static std::string name = "pktkit";
  return name;
}
inline bool IsAbseilFlag(const absl::CommandLineFlag& f) {
  return absl::StrContains(f.Filename(), "absl/");
}
}  // namespace internal

// Prints "<program>: <message>" and "try '<program> --help'" to stderr, exits 2.
[[noreturn]] inline void UsageError(const std::string& message) {
  const std::string& p = internal::ProgramName();
  std::fprintf(stderr, "%s: %s\n%s: try '%s --help'\n", p.c_str(), message.c_str(), p.c_str(),
               p.c_str());
  std::exit(2);
}

// The program's own flags (not Abseil's), sorted, each with its help text and default.
inline std::string FlagsHelpText(bool include_abseil = false) {
  std::map<std::string, const absl::CommandLineFlag*> sorted;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (flag->IsRetired()) continue;
    if (!include_abseil && internal::IsAbseilFlag(*flag)) continue;
    sorted.emplace(std::string(name), flag);
  }
  std::string out;
  for (const auto& [name, flag] : sorted) {
    out += "  --" + name;
    if (!flag->IsOfType<bool>()) out += "=VALUE";
    out += "\n      " + flag->Help() + " (default: ";
    const std::string d = flag->DefaultValue();
    out += d.empty() ? "\"\"" : d;
    out += ")\n";
  }
  return out;
}

// Parses argv as described above; returns the positional arguments, argv[0] first.
inline std::vector<char*> ParseCommandLine(int argc, char** argv, const std::string& usage) {
  std::string prog = argc > 0 ? argv[0] : "pktkit";
  const size_t slash = prog.rfind('/');
  if (slash != std::string::npos) prog = prog.substr(slash + 1);
  internal::ProgramName() = prog;
  absl::SetProgramUsageMessage(usage);
  absl::FlagsUsageConfig config;
  config.contains_helpshort_flags = [](absl::string_view f) {
    return !absl::StrContains(f, "absl/");
  };
  config.contains_help_flags = config.contains_helpshort_flags;
  config.version_string = [prog] { return prog + " " + std::string(kVersion) + "\n"; };
  config.normalize_filename = [](absl::string_view f) { return std::string(f); };
  absl::SetFlagsUsageConfig(config);

  // Check every flag before Abseil sees it: Abseil exits 1 on a usage error, we exit 2, and
  // answer --help/-h/--version ourselves (Abseil's --help says "No flags matched" and exits 1).
  for (int i = 1; i < argc; ++i) {
    absl::string_view a = argv[i];
    if (a == "--") break;
    if (a.size() < 2 || a[0] != '-') continue;  // positional ("-" is stdin/stdout)
    absl::string_view body = a.substr(a[1] == '-' ? 2 : 1);
    absl::string_view name = body.substr(0, body.find('='));
    const bool has_value = body.find('=') != absl::string_view::npos;
    if (name == "help" || name == "h" || name == "helpshort" || name == "?") {
      std::printf(
          "%s\n\nFlags:\n%s  --help, -h\n      this text\n  --version\n      the "
          "version\n",
          usage.c_str(), FlagsHelpText().c_str());
      std::exit(0);
    }
    if (name == "helpfull") {
      std::printf("%s\n\nFlags (with Abseil's):\n%s", usage.c_str(), FlagsHelpText(true).c_str());
      std::exit(0);
    }
    if (name == "version") {
      std::printf("%s %s\n", prog.c_str(), kVersion);
      std::exit(0);
    }
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    if (flag == nullptr && absl::StartsWith(name, "no") && !has_value) {
      absl::CommandLineFlag* b = absl::FindCommandLineFlag(name.substr(2));
      if (b != nullptr && b->IsOfType<bool>()) continue;
    }
    if (flag == nullptr || flag->IsRetired()) {
      UsageError("unknown flag '" + std::string(a) + "'");
    }
    std::string value;
    if (has_value) {
      value = std::string(body.substr(name.size() + 1));
    } else if (flag->IsOfType<bool>()) {
      continue;
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      UsageError("flag '" + std::string(a) + "' needs a value");
    }
    std::string error;
    if (!flag->ParseFrom(value, &error)) {  // the same value Abseil then sets again
      UsageError("bad value for '--" + std::string(name) + "': " + error);
    }
  }
  return absl::ParseCommandLine(argc, argv);
}

}  // namespace pktkit::tools

#endif  // PKTKIT_TOOLS_COMMON_CLI_H_
