// The C runtime export-c writes beside a model (src/export_c/runtime/, embedded at build time). Its
// symbols are spelled tpk_* / TPK_*; the exporter renames them to the model's prefix.
#pragma once

namespace tinyptq::export_c {

const char* kernels_header_source();  // tpk_kernels.h
const char* kernels_source();         // tpk_kernels.c

}  // namespace tinyptq::export_c
