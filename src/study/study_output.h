// Writes a study's results: results.json (schema in docs/study.md), results.csv, REPORT.md, report.html.
#pragma once
#include <ostream>
#include <string>

#include "study/study.h"

namespace tinyptq {

// Renders and writes the four files. Appends the rendering time to r.stages ("report writing"), so it is
// in results.json's timing but not in REPORT.md's wall time (which it follows).
void write_study_outputs(StudyResults& r);

// The stage table ("timing" → "stages" in results.json), one line per stage, for stderr and notes.
void print_stage_table(const StudyResults& r, std::ostream& os);

// Pieces, for tests and for the CLI summary.
std::string study_json(const StudyResults& r);
std::string study_csv(const StudyResults& r);
std::string study_markdown(const StudyResults& r);
std::string study_html(const StudyResults& r);

}  // namespace tinyptq
