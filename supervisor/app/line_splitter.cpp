#include "supervisor/app/line_splitter.hpp"

namespace rp {

std::vector<std::string> LineSplitter::feed(std::string_view bytes) {
  std::vector<std::string> lines;
  for (char c : bytes) {
    if (c == '\n') {
      if (!partial_.empty() && partial_.back() == '\r') partial_.pop_back();
      lines.push_back(std::move(partial_));
      partial_.clear();
      continue;
    }
    // Cut only once more than max_line_ bytes arrived, and not before a '\r' (it may be the start
    // of "\r\n"), so a line of exactly max_line_ bytes and its line end give one line, not that
    // line and an empty one.
    if (partial_.size() >= max_line_ && c != '\r') {
      lines.push_back(std::move(partial_));
      partial_.clear();
    }
    partial_ += c;
  }
  return lines;
}

std::string LineSplitter::take_partial() {
  std::string out = std::move(partial_);
  partial_.clear();
  if (!out.empty() && out.back() == '\r') out.pop_back();
  return out;
}

}  // namespace rp
