// Finds one string member of a top-level JSON object without copying the
// document: for responses that carry secrets (unwrapped keys, access tokens),
// which a general JSON parser would copy into unwiped heap strings.
#pragma once

#include <optional>
#include <string_view>

namespace cmkfs::azure {

// The raw contents of the string member `key` of the top-level object in
// `json`. nullopt when the document is not an object, the member is missing or
// not a string, or the string contains escapes (base64url, JWTs and numbers
// never do).
std::optional<std::string_view> find_plain_string_member(std::string_view json, std::string_view key);

// Like find_plain_string_member, but a number member is returned as its
// literal text too (token responses give expires_in as a string or a number).
std::optional<std::string_view> find_scalar_member(std::string_view json, std::string_view key);

}  // namespace cmkfs::azure
