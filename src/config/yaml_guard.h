// Loading a config's YAML without letting the document choose how much work
// and memory that takes: yaml-cpp builds a graph in which an alias is a
// shared (even cyclic) node, so a few bytes of anchors and aliases make any
// walk over the tree exponential or endless, and deep nesting recurses.
// Configs need neither, so both are refused before the tree is built.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>

namespace cmkfs::config::detail {

inline constexpr int kMaxYamlDepth = 32;          // a config nests 3 levels
inline constexpr size_t kMaxYamlEvents = 100000;  // scalars, maps, lists

// The one document of `text` (null when empty). Throws ConfigError
// "<source>:<line>:<column>: ..." for a syntax error, a second document, an
// anchor or alias, nesting deeper than kMaxYamlDepth or more than
// kMaxYamlEvents nodes.
YAML::Node load_bounded_document(const std::string &text, const std::string &source);

}  // namespace cmkfs::config::detail
