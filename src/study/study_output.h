// Writes a study's results: results.json (schema in docs/study.md), results.csv, REPORT.md, report.html.
#pragma once
#include <string>

#include "study/study.h"

namespace tinyptq {

void write_study_outputs(const StudyResults& r);

// Pieces, for tests and for the CLI summary.
std::string study_json(const StudyResults& r);
std::string study_csv(const StudyResults& r);
std::string study_markdown(const StudyResults& r);
std::string study_html(const StudyResults& r);

}  // namespace tinyptq
