#include "export_c/c_emitter.h"

#include <cctype>
#include <cstdio>
#include <set>
#include <sstream>

#include "core/error.h"
#include "export_c/runtime_source.h"

namespace tinyptq::export_c {

namespace {

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size()) s.replace(pos, from.size(), to);
  return s;
}

std::string upper(std::string s) {
  for (char& c : s) c = char(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string int_literal(int64_t v) {
  if (v == INT32_MIN) return "(-2147483647 - 1)";
  return std::to_string(v);
}

class Emitter {
 public:
  Emitter(const CProgram& p, const std::string& prefix, Target target)
      : p_(p), pre_(prefix + "_"), up_(upper(prefix) + "_"), target_(target) {}

  CSources run(const std::string& prefix) {
    for (size_t i = 0; i < p_.layers.size(); ++i) layer(int(i));
    CSources out;
    out.constant_bytes = constant_bytes_;
    out.files.push_back({prefix + ".h", header(prefix)});
    out.files.push_back({prefix + ".c", source(prefix)});
    out.files.push_back({prefix + "_weights.c", weights_file(prefix)});
    out.files.push_back({prefix + "_kernels.h", rename(kernels_header_source())});
    out.files.push_back({prefix + "_kernels.c", rename(kernels_source())});
    return out;
  }

 private:
  std::string rename(const std::string& s) const {
    return replace_all(replace_all(s, "tpk_", pre_), "TPK_", up_);
  }

  // A const array in PREFIX_weights.c, declared extern in PREFIX.c. Returns its name.
  template <typename T>
  std::string array(const std::string& name, const char* ctype, const std::vector<T>& values) {
    const std::string full = pre_ + name;
    std::ostringstream def;
    def << "const " << ctype << " " << full << "[" << values.size() << "] = {";
    for (size_t i = 0; i < values.size(); ++i) {
      if (i % 24 == 0) def << "\n ";
      def << " " << int_literal(int64_t(values[i])) << (i + 1 < values.size() ? "," : "");
    }
    def << "\n};\n";
    weights_ << def.str();
    externs_ << "extern const " << ctype << " " << full << "[" << values.size() << "];\n";
    constant_bytes_ += int64_t(values.size() * sizeof(T));
    return full;
  }

  std::string buffer(int b) const {
    if (b == kInputBuffer) return "input";
    return "a + " + std::to_string(p_.buffers[size_t(b)].offset);
  }

  static std::string out_stage(const int8::OutputStage& o) {
    return "{" + std::to_string(o.zero_point - 128) + ", " + std::to_string(o.min - 128) + ", " +
           std::to_string(o.max - 128) + "}";
  }

  std::string add_struct(const int8::AddParams& a) const {
    return "{" + std::to_string(a.a_zero_point - 128) + ", " + std::to_string(a.b_zero_point - 128) + ", " +
           std::to_string(a.a_fixed.multiplier) + ", " + std::to_string(a.a_fixed.shift) + ", " +
           std::to_string(a.b_fixed.multiplier) + ", " + std::to_string(a.b_fixed.shift) + ", " +
           std::to_string(a.out_fixed.multiplier) + ", " + std::to_string(a.out_fixed.shift) + ", " +
           out_stage(a.output) + "}";
  }

  // The fixed multipliers of packed weights as two arrays; names "<base>_m" and "<base>_s".
  std::pair<std::string, std::string> multipliers(const std::string& base, const int8::PackedWeights& w) {
    check(!w.fixed.empty(), "internal: weights without integer multipliers");
    std::vector<int32_t> m, s;
    for (const auto& f : w.fixed) m.push_back(f.multiplier), s.push_back(f.shift);
    return {array(base + "_m", "int32_t", m), array(base + "_s", "int32_t", s)};
  }

  void comment(const CLayer& l, const char* what) {
    body_ << "  /* " << what << " " << l.step->nodes << " */\n";
  }

  void layer(int i) {
    const CLayer& l = p_.layers[size_t(i)];
    const std::string base = "l" + std::to_string(i);
    const std::string in0 = buffer(l.inputs[0]), out = buffer(l.output);
    if (const auto* c = op_as<int8::ConvParams>(*l.step)) {
      conv(l, *c, base, in0, out);
    } else if (const auto* g = op_as<int8::GemmParams>(*l.step)) {
      const int8::PackedWeights& w = *g->weights;
      const int64_t za = g->input_zero_point;
      std::vector<int32_t> bias;
      for (int64_t j = 0; j < g->n; ++j) {
        int64_t sum = 0;
        for (int64_t k = 0; k < g->k; ++k) sum += w.data[size_t(j * g->k + k)];
        const int64_t zw = w.zero_points.empty() ? 0 : w.zero_points[size_t(j)];
        bias.push_back(checked_bias(w.bias[size_t(j)] + za * sum - g->k * za * zw, l));
      }
      const std::string wn = array(base + "_w", "int8_t", w.data), bn = array(base + "_b", "int32_t", bias);
      const std::string zn = w.zero_points.empty() ? "0" : array(base + "_zw", "int32_t", w.zero_points);
      const auto [mn, sn] = multipliers(base, w);
      structs_ << "static const " << pre_ << "fc_t " << pre_ << base << " = {" << l.step->rows() << ", " << g->k
               << ", " << g->n << ", " << za - 128 << ", " << out_stage(g->output) << ", " << wn << ", " << bn
               << ", " << zn << ", " << mn << ", " << sn << "};\n";
      comment(l, "fully connected");
      body_ << "  " << pre_ << "fully_connected(&" << pre_ << base << ", " << in0 << ", " << out << ");\n";
    } else if (const auto* a = op_as<int8::AddParams>(*l.step)) {
      check(a->integer, "internal: Add without integer requantization");
      structs_ << "static const " << pre_ << "add_t " << pre_ << base << " = " << add_struct(*a) << ";\n";
      comment(l, "add");
      body_ << "  " << pre_ << "add(&" << pre_ << base << ", " << in0 << ", " << buffer(l.inputs[1]) << ", " << out
            << ", " << l.step->rows() << ");\n";
    } else if (const auto* ap = op_as<int8::AvgPoolParams>(*l.step)) {
      const auto& s = ap->shape;
      const auto& w = s.window;
      const bool same = ap->input_scale == ap->output_scale && ap->input_zero_point == ap->output.zero_point;
      std::vector<int32_t> m(size_t(w.kernel_h * w.kernel_w + 1), 0), sh(m.size(), 0);
      for (size_t d = 1; d < m.size(); ++d) {
        const FixedPointMultiplier f =
            quantize_multiplier(double(ap->input_scale) / (double(ap->output_scale) * double(d)));
        m[d] = f.multiplier, sh[d] = f.shift;
      }
      const std::string mn = array(base + "_m", "int32_t", m), sn = array(base + "_s", "int32_t", sh);
      structs_ << "static const " << pre_ << "avgpool_t " << pre_ << base << " = {" << s.in_h << ", " << s.in_w
               << ", " << s.channels << ", " << s.out_h << ", " << s.out_w << ", " << w.kernel_h << ", "
               << w.kernel_w << ", " << w.stride_h << ", " << w.stride_w << ", " << w.dilation_h << ", "
               << w.dilation_w << ", " << w.pad_top << ", " << w.pad_left << ", " << w.pad_bottom << ", "
               << w.pad_right << ", " << int(ap->count_include_pad) << ", " << ap->input_zero_point - 128 << ", "
               << int(same) << ", " << out_stage(ap->output) << ", " << mn << ", " << sn << "};\n";
      comment(l, "average pool");
      body_ << "  " << pre_ << "avgpool(&" << pre_ << base << ", " << in0 << ", " << out << ");\n";
    } else if (const auto* gp = op_as<int8::GlobalAvgPoolParams>(*l.step)) {
      check(gp->integer, "internal: pool without integer requantization");
      structs_ << "static const " << pre_ << "global_avgpool_t " << pre_ << base << " = {" << gp->image_size
               << ", " << gp->channels << ", " << gp->input_zero_point - 128 << ", " << int(gp->same_quant) << ", "
               << gp->fixed.multiplier << ", " << gp->fixed.shift << ", " << out_stage(gp->output) << "};\n";
      comment(l, "global average pool");
      body_ << "  " << pre_ << "global_avgpool(&" << pre_ << base << ", " << in0 << ", " << out << ");\n";
    } else if (const auto* mp = op_as<int8::MaxPoolParams>(*l.step)) {
      const auto& s = mp->shape;
      const auto& w = s.window;
      const std::string tn = array(base + "_t", "int8_t", shifted_table(mp->table));
      structs_ << "static const " << pre_ << "maxpool_t " << pre_ << base << " = {" << s.in_h << ", " << s.in_w
               << ", " << s.channels << ", " << s.out_h << ", " << s.out_w << ", " << w.kernel_h << ", "
               << w.kernel_w << ", " << w.stride_h << ", " << w.stride_w << ", " << w.dilation_h << ", "
               << w.dilation_w << ", " << w.pad_top << ", " << w.pad_left << ", " << tn << "};\n";
      comment(l, "max pool");
      body_ << "  " << pre_ << "maxpool(&" << pre_ << base << ", " << in0 << ", " << out << ");\n";
    } else if (const auto* rq = op_as<int8::RequantizeParams>(*l.step)) {
      const std::string tn = array(base + "_t", "int8_t", shifted_table(rq->table));
      comment(l, "requantize");
      body_ << "  " << pre_ << "table(" << tn << ", " << in0 << ", " << out << ", " << l.step->rows() << ");\n";
    } else {
      throw Error("internal: layer '" + l.step->nodes + "' has no C kernel");
    }
  }

  static std::vector<int8_t> shifted_table(const std::array<uint8_t, 256>& t) {
    std::vector<int8_t> v;
    for (uint8_t x : t) v.push_back(int8_t(int(x) - 128));
    return v;
  }

  int32_t checked_bias(int64_t b, const CLayer& l) const {
    check(b >= INT32_MIN && b <= INT32_MAX, "'" + l.step->nodes + "': bias does not fit int32");
    return int32_t(b);
  }

  void conv(const CLayer& l, const int8::ConvParams& c, const std::string& base, const std::string& in0,
            const std::string& out) {
    const auto& s = c.shape;
    const auto& win = s.window;
    const int8::PackedWeights& w = *c.weights;
    const int64_t taps = s.taps(), zx = c.input_zero_point;
    std::vector<int32_t> bias;
    for (int64_t oc = 0; oc < s.out_c; ++oc) {
      int64_t sum = 0;
      for (int64_t k = 0; k < taps; ++k) sum += w.data[size_t(oc * taps + k)];
      const int64_t zw = w.zero_points.empty() ? 0 : w.zero_points[size_t(oc)];
      bias.push_back(checked_bias(w.bias[size_t(oc)] + zx * sum - taps * zx * zw, l));  // undo the folding
    }
    std::vector<int8_t> data;
    if (l.dsp) {  // [oc][k4], each 4 taps stored w0 w2 w1 w3 so SXTB16 / SXTB16 ROR 8 give (w0,w1), (w2,w3)
      for (int64_t oc = 0; oc < s.out_c; ++oc)
        for (int64_t k = 0; k < l.k4; k += 4) {
          auto at = [&](int64_t j) { return j < taps ? w.data[size_t(oc * taps + j)] : int8_t(0); };
          for (int64_t j : {k, k + 2, k + 1, k + 3}) data.push_back(at(j));
        }
    } else {
      data = w.data;  // [oc][kh][kw][in_c/groups], the reference pack's layout
    }
    const std::string wn = array(base + "_w", "int8_t", data), bn = array(base + "_b", "int32_t", bias);
    const std::string zn = w.zero_points.empty() ? "0" : array(base + "_zw", "int32_t", w.zero_points);
    const auto [mn, sn] = multipliers(base, w);
    std::string residual = "0";
    if (l.residual) {
      structs_ << "static const " << pre_ << "add_t " << pre_ << base << "_add = " << add_struct(*l.residual)
               << ";\n";
      residual = "&" + pre_ + base + "_add";
    }
    structs_ << "static const " << pre_ << "conv_t " << pre_ << base << " = {" << s.in_h << ", " << s.in_w << ", "
             << s.in_c << ", " << s.out_h << ", " << s.out_w << ", " << s.out_c << ", " << s.groups << ", "
             << win.kernel_h << ", " << win.kernel_w << ", " << win.stride_h << ", " << win.stride_w << ", "
             << win.dilation_h << ", " << win.dilation_w << ", " << win.pad_top << ", " << win.pad_left << ", "
             << zx - 128 << ", " << out_stage(c.output) << ", " << wn << ", " << bn << ", " << zn << ", " << mn
             << ", " << sn << ", " << residual << ", " << int(l.conv_is_a) << "};\n";
    comment(l, l.residual ? "conv + residual add (in place)" : "conv");
    if (l.dsp)
      body_ << "  " << pre_ << "conv2d_dsp(&" << pre_ << base << ", " << in0 << ", " << out << ", (int16_t*)(void*)("
            << buffer(l.scratch) << "));\n";
    else
      body_ << "  " << pre_ << "conv2d(&" << pre_ << base << ", " << in0 << ", " << out << ");\n";
  }

  // A C float literal for a scale (always with a '.' or an exponent).
  static std::string float_literal(float v) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.9g", double(v));
    std::string s = buf;
    if (s.find_first_of(".e") == std::string::npos) s += ".0";
    return s + "f";
  }

  std::string header(const std::string& prefix) const {
    const std::string scale_in = float_literal(p_.input_quant.scale), scale_out = float_literal(p_.output_quant.scale);
    std::ostringstream h;
    h << "/* " << prefix << ": a quantized model exported by tinyptq export-c (target " << target_name(target_)
      << "). C99, integer only, no malloc.\n"
      << " * input:  int8 " << p_.input_layout << ", real = "
      << up_ << "INPUT_SCALE * (q - " << up_ << "INPUT_ZERO_POINT)\n"
      << " * output: int8 " << p_.output_layout << ", real = " << up_ << "OUTPUT_SCALE * (q - "
      << up_ << "OUTPUT_ZERO_POINT)";
    if (!p_.core.dropped.empty()) {
      h << "\n *         (before";
      for (const auto& d : p_.core.dropped) h << " " << d;
      h << ", which keep the top-1)";
    }
    h << "\n * arena:  " << up_ << "ARENA_SIZE bytes, 8-byte aligned, owned by the caller; no state survives a "
      << "call. */\n"
      << "#ifndef " << up_ << "H\n#define " << up_ << "H\n#include <stdint.h>\n\n"
      << "#define " << up_ << "INPUT_SIZE " << p_.input_size << "\n"
      << "#define " << up_ << "OUTPUT_SIZE " << p_.output_size << "\n"
      << "#define " << up_ << "ARENA_SIZE " << p_.arena_bytes << "\n"
      << "#define " << up_ << "MACS " << p_.macs << "\n"
      << "#define " << up_ << "INPUT_SCALE " << scale_in << "\n"
      << "#define " << up_ << "INPUT_ZERO_POINT (" << p_.input_quant.zero_point - 128 << ")\n"
      << "#define " << up_ << "OUTPUT_SCALE " << scale_out << "\n"
      << "#define " << up_ << "OUTPUT_ZERO_POINT (" << p_.output_quant.zero_point - 128 << ")\n\n"
      << "/* One inference: input[" << up_ << "INPUT_SIZE] -> output[" << up_ << "OUTPUT_SIZE]. Returns 0. */\n"
      << "int " << prefix << "_run(const int8_t* input, int8_t* output, void* arena);\n\n#endif\n";
    return h.str();
  }

  std::string source(const std::string& prefix) const {
    std::ostringstream c;
    c << "/* " << prefix << ": layers of the exported model (tinyptq export-c). */\n#include \"" << prefix
      << ".h\"\n\n#include <string.h>\n\n#include \"" << prefix << "_kernels.h\"\n\n"
      << externs_.str() << "\n" << structs_.str() << "\nint " << prefix
      << "_run(const int8_t* input, int8_t* output, void* arena) {\n  int8_t* a = (int8_t*)arena;\n"
      << body_.str() << "  memcpy(output, " << buffer(p_.output_buffer) << ", " << up_ << "OUTPUT_SIZE);\n"
      << "  return 0;\n}\n";
    return c.str();
  }

  std::string weights_file(const std::string& prefix) const {
    return "/* " + prefix + ": constants of the exported model (tinyptq export-c). */\n#include <stdint.h>\n\n" +
           weights_.str();
  }

  const CProgram& p_;
  std::string pre_, up_;
  Target target_;
  std::ostringstream weights_, externs_, structs_, body_;
  int64_t constant_bytes_ = 0;
};

}  // namespace

void check_prefix(const std::string& s) {
  static const std::set<std::string> keywords = {
      "auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else", "enum",
      "extern", "float", "for", "goto", "if", "inline", "int", "long", "register", "restrict", "return",
      "short", "signed", "sizeof", "static", "struct", "switch", "typedef", "union", "unsigned", "void",
      "volatile", "while", "main"};
  bool ok = !s.empty() && s.size() <= 32 && (std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_');
  for (char ch : s) ok = ok && (std::isalnum(static_cast<unsigned char>(ch)) || ch == '_');
  check(ok && !keywords.count(s), "--prefix '" + s + "' is not a C identifier of at most 32 characters (or is a C keyword)");
}

CSources emit_c(const CProgram& program, const std::string& prefix, Target target) {
  check_prefix(prefix);
  return Emitter(program, prefix, target).run(prefix);
}

}  // namespace tinyptq::export_c
