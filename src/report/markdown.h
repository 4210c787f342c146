// GitHub-flavoured Markdown tables with columns padded to equal width (readable as plain text too).
#pragma once
#include <string>
#include <vector>

#include "report/format.h"

namespace tinyptq::report {

// align[i] is 'l', 'r' or 'c' for column i; missing entries (or an empty vector) mean default alignment.
// '|' in cells is escaped as "\|" and line breaks become spaces. Rows are padded with empty cells to the
// widest of header and rows. Returns "" for no header and no rows. Throws Error for another align char.
std::string markdown_table(const std::vector<std::string>& header,
                           const std::vector<std::vector<std::string>>& rows, const std::vector<char>& align);

}  // namespace tinyptq::report
