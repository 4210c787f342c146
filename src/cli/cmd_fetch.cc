// `tinyptq fetch [--from DIR|URL] [--dest DIR] [--only ID]...`: downloads (or copies from a mirror) the
// CIFAR-10 archives and the MLPerf Tiny ResNet8 model, verifies their pinned checksums and places them.
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "fetch/fetch.h"

namespace tinyptq::cli {

namespace {

struct FetchArgs {
  fetch::FetchOptions options;
  bool list = false;
  bool quiet = false;
};

void run_fetch_command(const FetchArgs& args) {
  const fetch::Manifest manifest = fetch::official_manifest();
  if (args.list) {
    for (const auto& a : fetch::select_artifacts(manifest, args.options.only))
      std::cout << a.id << "  " << a.url << "\n  size " << a.size << "  sha256 " << (a.sha256.empty() ? "-" : a.sha256)
                << "  md5 " << (a.md5.empty() ? "-" : a.md5) << "\n  checksums: " << a.checksum_source << "\n";
    return;
  }
  fetch::FetchOptions opt = args.options;
  opt.download.progress = !args.quiet;
  for (const auto& o : fetch::run_fetch(manifest, opt)) {
    if (o.already_present)
      std::cout << o.id << ": " << o.path << " already present, skipped\n";
    else
      std::cout << o.id << ": " << o.path << " (" << o.bytes << " bytes verified"
                << (o.files > 0 ? ", " + std::to_string(o.files) + " files extracted" : std::string()) << ")\n";
  }
}

}  // namespace

void add_fetch_command(CLI::App& app) {
  auto args = std::make_shared<FetchArgs>();
  CLI::App* cmd = app.add_subcommand(
      "fetch",
      "Download CIFAR-10 (binary and python archives) and the MLPerf Tiny ResNet8 model, verify their pinned "
      "checksums, and place them in DEST: cifar-10-batches-bin/, cifar-10-batches-py/, pretrainedResnet.h5. "
      "Interrupted downloads resume from DEST/.partial on the next run.");
  cmd->add_option("--from", args->options.from,
                  "Mirror: a base URL (http/https) the file names are appended to, or a local directory holding "
                  "the files (default: the official locations)");
  cmd->add_option("--dest", args->options.dest, "Destination directory")->capture_default_str();
  cmd->add_option("--only", args->options.only, "Fetch only these artifacts: cifar-10-binary, cifar-10-python, resnet8");
  cmd->add_flag("--list", args->list, "Print the artifacts with their URLs and pinned checksums, fetch nothing");
  cmd->add_flag("-q,--quiet", args->quiet, "No progress on stderr");
  cmd->callback([args] { run_fetch_command(*args); });
}

}  // namespace tinyptq::cli
