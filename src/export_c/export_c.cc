#include "export_c/export_c.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "core/atomic_file.h"
#include "core/error.h"
#include "export_c/c_emitter.h"

namespace tinyptq::export_c {

ExportReport export_c(const Graph& qdq_graph, const ExportOptions& options, const std::string& out_dir) {
  check_prefix(options.prefix);
  const CProgram program = build_program(qdq_graph, options.target);
  const CSources sources = emit_c(program, options.prefix, options.target);

  struct stat st {};
  const bool existed = ::stat(out_dir.c_str(), &st) == 0;
  check(!existed || S_ISDIR(st.st_mode), out_dir + ": exists and is not a directory");
  if (!existed && ::mkdir(out_dir.c_str(), 0777) != 0)
    throw Error(out_dir + ": cannot create the directory: " + std::strerror(errno));
  ExportReport r;
  try {
    StagedFiles staged;
    for (const auto& [name, text] : sources.files) {
      staged.add(out_dir + "/" + name, text);
      r.files.push_back(out_dir + "/" + name);
    }
    staged.commit();
  } catch (...) {
    if (!existed) ::rmdir(out_dir.c_str());
    throw;
  }
  r.constant_bytes = sources.constant_bytes;
  r.arena_bytes = program.arena_bytes;
  r.naive_arena_bytes = program.naive_bytes;
  r.macs = program.macs;
  r.layers = int(program.layers.size());
  for (const auto& l : program.layers) r.fused_adds += l.residual != nullptr, r.dsp_layers += l.dsp;
  r.dropped = program.core.dropped;
  r.input_size = program.input_size;
  r.output_size = program.output_size;
  return r;
}

}  // namespace tinyptq::export_c
