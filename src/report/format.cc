#include "report/format.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "core/error.h"

namespace tinyptq::report {
namespace {

constexpr int kMaxWidth = 64;
constexpr int kMaxPrecision = 20;

// One parsed printf conversion with the literal text around it.
struct NumberSpec {
  std::string prefix, suffix;
  bool left = false, plus = false, space = false, zero = false;
  int width = 0;
  int precision = -1;  // -1: not given (printf default 6)
  char conv = 'f';
};

NumberSpec parse_spec(const char* fmt) {
  check(fmt != nullptr, "report: number format is null");
  const std::string f(fmt);
  const std::string where = "report: number format '" + f + "': ";
  NumberSpec s;
  bool seen = false;
  std::string* literal = &s.prefix;
  size_t i = 0;
  auto read_int = [&](int limit, const char* what) {
    int n = 0;
    while (i < f.size() && f[i] >= '0' && f[i] <= '9') {
      n = n * 10 + (f[i] - '0');
      check(n <= limit, where + what + " larger than " + std::to_string(limit));
      ++i;
    }
    return n;
  };
  while (i < f.size()) {
    if (f[i] != '%') {
      literal->push_back(f[i++]);
      continue;
    }
    if (i + 1 < f.size() && f[i + 1] == '%') {
      literal->push_back('%');
      i += 2;
      continue;
    }
    check(!seen, where + "more than one conversion");
    seen = true;
    ++i;
    for (; i < f.size(); ++i) {
      if (f[i] == '-')
        s.left = true;
      else if (f[i] == '+')
        s.plus = true;
      else if (f[i] == ' ')
        s.space = true;
      else if (f[i] == '0')
        s.zero = true;
      else
        break;
    }
    s.width = read_int(kMaxWidth, "width");
    if (i < f.size() && f[i] == '.') {
      ++i;
      s.precision = read_int(kMaxPrecision, "precision");
    }
    if (i < f.size() && f[i] == 'l') ++i;  // "%lf" means the same as "%f"
    check(i < f.size() && std::strchr("fFeEgGdi", f[i]) != nullptr,
          where + "expected one of the conversions f F e E g G d i");
    s.conv = f[i++];
    literal = &s.suffix;
  }
  check(seen, where + "no conversion (e.g. %.2f)");
  return s;
}

std::string render(double v, const NumberSpec& s, int min_decimals) {
  if (std::isnan(v)) return "n/a";
  char conv = s.conv;
  int precision = s.precision < 0 ? 6 : s.precision;
  if (conv == 'd' || conv == 'i') {
    conv = 'f';
    precision = 0;
  }
  const bool upper = conv == 'F' || conv == 'E' || conv == 'G';
  conv = static_cast<char>(conv | 0x20);  // lower case
  if (conv == 'f') precision = std::max(precision, std::min(min_decimals, kMaxPrecision));
  if (conv == 'g' && precision == 0) precision = 1;

  bool negative = std::signbit(v);
  std::string body;
  if (std::isinf(v)) {
    body = "inf";
  } else {
    // Large enough for DBL_MAX in fixed notation plus kMaxPrecision decimals.
    char buf[400];
    const auto format = conv == 'f'   ? std::chars_format::fixed
                        : conv == 'e' ? std::chars_format::scientific
                                      : std::chars_format::general;
    const auto result = std::to_chars(buf, buf + sizeof buf, std::fabs(v), format, precision);
    check(result.ec == std::errc(), "report: cannot format number");
    body.assign(buf, result.ptr);
    // A value that rounds to zero prints without a sign.
    const size_t mantissa_end = body.find_first_of("eE");
    const std::string mantissa = body.substr(0, mantissa_end);
    if (mantissa.find_first_of("123456789") == std::string::npos) negative = false;
  }
  if (upper)
    std::transform(body.begin(), body.end(), body.begin(), [](char c) { return (char)std::toupper(c); });

  const std::string sign = negative ? "-" : s.plus ? "+" : s.space ? " " : "";
  const size_t length = sign.size() + body.size();
  std::string out = sign + body;
  if (static_cast<size_t>(s.width) > length) {
    const size_t pad = s.width - length;
    if (s.left)
      out = sign + body + std::string(pad, ' ');
    else if (s.zero && std::isfinite(v))
      out = sign + std::string(pad, '0') + body;
    else
      out = std::string(pad, ' ') + sign + body;
  }
  return s.prefix + out + s.suffix;
}

// Length of the valid UTF-8 sequence starting at s[i] that encodes an XML-legal code point, or 0.
size_t valid_sequence(const std::string& s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  if (c < 0x80) return (c >= 0x20 || c == '\t' || c == '\n' || c == '\r') ? 1 : 0;
  size_t n;
  uint32_t cp;
  if (c >= 0xC2 && c <= 0xDF)
    n = 2, cp = c & 0x1F;
  else if (c >= 0xE0 && c <= 0xEF)
    n = 3, cp = c & 0x0F;
  else if (c >= 0xF0 && c <= 0xF4)
    n = 4, cp = c & 0x07;
  else
    return 0;
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b(i + k) & 0x3F);
  }
  const bool overlong = (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000);
  const bool surrogate = cp >= 0xD800 && cp <= 0xDFFF;
  if (overlong || surrogate || cp > 0x10FFFF || cp == 0xFFFE || cp == 0xFFFF) return 0;
  return n;
}

}  // namespace

std::string format_number(double v, const char* fmt) { return render(v, parse_spec(fmt), 0); }

std::string format_number_min_decimals(double v, const char* fmt, int min_decimals) {
  return render(v, parse_spec(fmt), min_decimals);
}

std::string html_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  for (size_t i = 0; i < text.size();) {
    const size_t n = valid_sequence(text, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";  // U+FFFD
      ++i;
      continue;
    }
    if (n == 1) {
      switch (text[i]) {
        case '&':
          out += "&amp;";
          break;
        case '<':
          out += "&lt;";
          break;
        case '>':
          out += "&gt;";
          break;
        case '"':
          out += "&quot;";
          break;
        case '\'':
          out += "&#39;";
          break;
        default:
          out += text[i];
      }
    } else {
      out.append(text, i, n);
    }
    i += n;
  }
  return out;
}

size_t utf8_length(const std::string& text) {
  size_t n = 0;
  for (unsigned char c : text) n += (c & 0xC0) != 0x80;
  return n;
}

std::string truncate_utf8(const std::string& text, size_t max_chars) {
  if (utf8_length(text) <= max_chars) return text;
  if (max_chars == 0) return "";
  size_t kept = 0, end = 0;
  while (end < text.size()) {
    if ((static_cast<unsigned char>(text[end]) & 0xC0) != 0x80) {
      if (kept == max_chars - 1) break;
      ++kept;
    }
    ++end;
  }
  return text.substr(0, end) + "\xE2\x80\xA6";  // U+2026
}

}  // namespace tinyptq::report
