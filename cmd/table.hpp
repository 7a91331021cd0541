// Plain-text tables and ages for `rp ls` and the other listing commands: pure formatting, so the
// commands only gather values and the layout is tested here.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace rp {

// One line per row, header first (left out when `header` is empty), each ending in '\n'. Columns
// are padded to their widest cell and two spaces apart, with no trailing spaces; a row shorter
// than the others has empty cells at its end. Width counts UTF-8 code points, so "—" is one
// column (characters that take two columns in a terminal, as CJK do, are not told apart).
std::string format_table(const std::vector<std::string>& header,
                         const std::vector<std::vector<std::string>>& rows);

// How long ago, the way ps and docker show it: "0s".."59s", "1m".."59m" with the seconds too under
// ten minutes ("3m20s"), "1h5m", "2d3h". A zero last part is left out ("2m", "1h", "2d").
// Negative ages (a clock set back) show as "0s".
std::string human_age(std::chrono::seconds age);

}  // namespace rp
