// Text helpers shared by the report renderers: locale-independent number formatting, HTML/XML escaping
// and UTF-8 aware length/truncation (for layout estimates). All output is deterministic.
#pragma once
#include <cstddef>
#include <string>

namespace tinyptq::report {

// Formats v with a printf-style format holding exactly one conversion: %[flags][width][.precision]conv,
// flags from "-+ 0", conv one of f F e E g G (d/i = %.0f). Literal text and "%%" may surround it.
// Never uses the C locale ('.' is always the decimal point). NaN -> "n/a"; ±inf -> "inf"/"-inf";
// a value that rounds to zero never prints a minus sign ("-0.0" -> "0.0").
// Throws Error for a format it cannot honour (no conversion, two conversions, unsupported flag).
std::string format_number(double v, const char* fmt);

// As format_number, but an f/F conversion prints at least min_decimals decimals (tick labels whose step
// needs more digits than the axis format gives).
std::string format_number_min_decimals(double v, const char* fmt, int min_decimals);

// Escapes & < > " ' for use in HTML/XML text and attribute values. Bytes that would make the document
// invalid (C0 controls other than tab/newline/CR, malformed UTF-8) become U+FFFD.
std::string html_escape(const std::string& text);

// Number of code points (malformed bytes count one each); used to estimate rendered text width.
size_t utf8_length(const std::string& text);

// The first max_chars code points of text, with "…" as the last one when text was longer.
std::string truncate_utf8(const std::string& text, size_t max_chars);

}  // namespace tinyptq::report
